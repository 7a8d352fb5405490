import * as z from 'zod/mini';
import { attributeMappingSourceSchema, synchronizationSchemaSchema } from '../domain/mapping/schema.ts';
import { metadataEntrySchema } from './graph.ts';

/**
 * Graph's JSON for the answers the handlers render without parsing them: the error body, templates, the parsed
 * expression, provisionOnDemand's pair. The renderers take their types from here; the OpenAPI document
 * (tools/openapi/) takes its schemas.
 */

/** Graph's error body, as functions/http/graph-error.ts renders every 4xx and 5xx. */
export const graphErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    innerError: z.object({
      /** UTC, to the second, without an offset (as Graph writes it). */
      date: z.string(),
      'request-id': z.string(),
      'client-request-id': z.string(),
    }),
  }),
});

/** Graph's synchronizationTemplate (GET .../templates). */
export const synchronizationTemplateSchema = z.object({
  id: z.string(),
  applicationId: z.nullable(z.string()),
  default: z.boolean(),
  description: z.string(),
  discoverable: z.boolean(),
  factoryTag: z.string(),
  metadata: z.array(metadataEntrySchema),
  schema: synchronizationSchemaSchema,
});

/** Graph's parseExpressionResponse (POST .../schema/parseExpression). */
export const parseExpressionResponseSchema = z.object({
  error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  evaluationResult: z.nullable(z.array(z.string())),
  evaluationSucceeded: z.boolean(),
  parsedExpression: z.nullable(attributeMappingSourceSchema),
  parsingSucceeded: z.boolean(),
});

/** Graph's stringKeyStringValuePair, provisionOnDemand's answer: `key` and `value` are JSON documents as strings. */
export const stringKeyStringValuePairSchema = z.object({
  '@odata.type': z.literal('#microsoft.graph.stringKeyStringValuePair'),
  key: z.string(),
  value: z.string(),
});

export type GraphErrorBody = z.infer<typeof graphErrorBodySchema>;
export type GraphSynchronizationTemplate = z.infer<typeof synchronizationTemplateSchema>;
export type ParseExpressionResponse = z.infer<typeof parseExpressionResponseSchema>;
export type StringKeyStringValuePair = z.infer<typeof stringKeyStringValuePairSchema>;
