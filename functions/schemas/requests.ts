import { z } from 'zod';
import { parseIntervalMinutes } from '../domain/interval.ts';
import { CHECKED_SETTINGS } from '../domain/job-settings.ts';
import { MAX_EXPRESSION_LENGTH } from '../domain/mapping/limits.ts';

/**
 * The OData type annotation a client may put on any body object (the Kiota SDK writes a model's `odataType` as
 * `@odata.type`). Graph accepts it; the strict bodies below allow it and ignore it.
 */
const annotations = { '@odata.type': z.string().max(200).optional() };

const intervalSchema = z
  .string()
  .refine((value) => parseIntervalMinutes(value) !== null, {
    message: 'interval must be an ISO 8601 duration of whole minutes, at least PT1M (e.g. PT5M, PT1H)',
  });

/** POST /jobs. `schedule` is this service's extension (Graph's interval is fixed). */
export const createJobBodySchema = z
  .object({
    ...annotations,
    templateId: z.string().min(1).max(64),
    schedule: z.object({ ...annotations, interval: intervalSchema }).strict().optional(),
  })
  .strict();

/** PATCH /jobs/{id}: the schedule interval and job settings (merged by name) can change. */
export const updateJobBodySchema = z
  .object({
    ...annotations,
    schedule: z.object({ ...annotations, interval: intervalSchema }).strict().optional(),
    synchronizationJobSettings: z
      .array(z.object({ ...annotations, name: z.string().min(1).max(128), value: z.string().max(1024) }).strict())
      .min(1)
      .max(50)
      .superRefine((settings, context) => {
        settings.forEach((setting, index) => {
          const schema = CHECKED_SETTINGS[setting.name.toLowerCase()];
          if (!schema) return;
          const parsed = schema.safeParse(setting.value);
          if (!parsed.success) context.addIssue({ code: 'custom', message: parsed.error.issues[0]!.message, path: [index, 'value'] });
        });
      })
      .optional(),
  })
  .strict()
  .refine((body) => body.schedule !== undefined || body.synchronizationJobSettings !== undefined, {
    message: 'give `schedule` or `synchronizationJobSettings` to change',
  });

export const restartJobBodySchema = z
  .object({
    ...annotations,
    criteria: z.object({ ...annotations, resetScope: z.string().max(200).nullable().optional() }).strict().nullable().optional(),
  })
  .strict();

/** Start and pause take no parameters; an empty object is what Graph clients send. */
export const emptyBodySchema = z.object(annotations).strict();

const secretPairSchema = z.object({ ...annotations, key: z.string().min(1).max(64), value: z.string().max(8192) }).strict();

/** PUT /secrets: Graph's examples send `value`, its parameter table says `credentials`; both are accepted. */
export const putSecretsBodySchema = z
  .object({
    ...annotations,
    value: z.array(secretPairSchema).max(64).optional(),
    credentials: z.array(secretPairSchema).max(64).optional(),
  })
  .strict()
  .refine((body) => (body.value === undefined) !== (body.credentials === undefined), {
    message: 'give the secrets as exactly one of `value` or `credentials`',
  });

export type CreateJobBody = z.infer<typeof createJobBodySchema>;
export type RestartJobBody = z.infer<typeof restartJobBodySchema>;

/** POST /jobs/{id}/schema/parseExpression. */
export const parseExpressionBodySchema = z.looseObject({
  expression: z.string().min(1).max(MAX_EXPRESSION_LENGTH),
  testInputObject: z
    .looseObject({
      definition: z.unknown().optional(),
      // A property without `value` is a null one: the Kiota SDK leaves out null members (Graph takes it so too).
      properties: z.array(z.object({ key: z.string().min(1), value: z.unknown().optional() })).max(500).nullable().optional(),
    })
    .nullable()
    .optional(),
  targetAttributeDefinition: z.unknown().optional(),
});

/** POST /jobs/{id}/validateCredentials. */
export const validateCredentialsBodySchema = z.looseObject({
  useSavedCredentials: z.boolean().optional(),
  credentials: z.array(secretPairSchema).max(64).nullable().optional(),
  applicationIdentifier: z.string().nullable().optional(),
  templateId: z.string().nullable().optional(),
});

/** POST /jobs/{id}/provisionOnDemand (Graph's synchronizationJobApplicationParameters). */
export const provisionOnDemandBodySchema = z.object({
  parameters: z
    .array(
      z.object({
        ruleId: z.string().min(1).max(200),
        subjects: z
          .array(
            z.object({
              objectId: z.string().min(1).max(64),
              objectTypeName: z.enum(['User', 'Group']),
              links: z
                .object({
                  members: z.array(z.object({ objectId: z.string().min(1).max(64), objectTypeName: z.literal('User') })).max(5).nullable().optional(),
                })
                .nullable()
                .optional(),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});
