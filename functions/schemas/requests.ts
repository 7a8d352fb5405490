import * as z from 'zod/mini';
import { parseIntervalMinutes } from '../domain/interval.ts';
import { CHECKED_SETTINGS } from '../domain/job-settings.ts';
import { MAX_EXPRESSION_LENGTH } from '../domain/mapping/limits.ts';

/**
 * The OData type annotation a client may put on any body object (the Kiota SDK writes a model's `odataType` as
 * `@odata.type`). Graph accepts it; the strict bodies below allow it and ignore it.
 */
const annotations = { '@odata.type': z.optional(z.string().check(z.maxLength(200))) };

const intervalSchema = z.string().check(
  z.refine((value) => parseIntervalMinutes(value) !== null, {
    message: 'interval must be an ISO 8601 duration of whole minutes, at least PT1M (e.g. PT5M, PT1H)',
  }),
);

/** POST /jobs. `schedule` is this service's extension (Graph's interval is fixed). */
export const createJobBodySchema = z.strictObject({
  ...annotations,
  templateId: z.string().check(z.minLength(1), z.maxLength(64)),
  schedule: z.optional(z.strictObject({ ...annotations, interval: intervalSchema })),
});

/** PATCH /jobs/{id}: the schedule interval and job settings (merged by name) can change. */
export const updateJobBodySchema = z
  .strictObject({
    ...annotations,
    schedule: z.optional(z.strictObject({ ...annotations, interval: intervalSchema })),
    synchronizationJobSettings: z.optional(
      z
        .array(z.strictObject({ ...annotations, name: z.string().check(z.minLength(1), z.maxLength(128)), value: z.string().check(z.maxLength(1024)) }))
        .check(
          z.minLength(1),
          z.maxLength(50),
          z.superRefine((settings, context) => {
            settings.forEach((setting, index) => {
              const schema = CHECKED_SETTINGS[setting.name.toLowerCase()];
              if (!schema) return;
              const parsed = schema.safeParse(setting.value);
              if (!parsed.success) context.addIssue({ code: 'custom', message: parsed.error.issues[0]!.message, path: [index, 'value'] });
            });
          }),
        ),
    ),
  })
  .check(
    z.refine((body) => body.schedule !== undefined || body.synchronizationJobSettings !== undefined, {
      message: 'give `schedule` or `synchronizationJobSettings` to change',
    }),
  );

export const restartJobBodySchema = z.strictObject({
  ...annotations,
  criteria: z.optional(z.nullable(z.strictObject({ ...annotations, resetScope: z.optional(z.nullable(z.string().check(z.maxLength(200)))) }))),
});

/** Start and pause take no parameters; an empty object is what Graph clients send. */
export const emptyBodySchema = z.strictObject(annotations);

const secretPairSchema = z.strictObject({ ...annotations, key: z.string().check(z.minLength(1), z.maxLength(64)), value: z.string().check(z.maxLength(8192)) });

/** PUT /secrets: Graph's examples send `value`, its parameter table says `credentials`; both are accepted. */
export const putSecretsBodySchema = z
  .strictObject({
    ...annotations,
    value: z.optional(z.array(secretPairSchema).check(z.maxLength(64))),
    credentials: z.optional(z.array(secretPairSchema).check(z.maxLength(64))),
  })
  .check(
    z.refine((body) => (body.value === undefined) !== (body.credentials === undefined), {
      message: 'give the secrets as exactly one of `value` or `credentials`',
    }),
  );

export type CreateJobBody = z.infer<typeof createJobBodySchema>;
export type RestartJobBody = z.infer<typeof restartJobBodySchema>;

/** POST /jobs/{id}/schema/parseExpression. */
export const parseExpressionBodySchema = z.looseObject({
  expression: z.string().check(z.minLength(1), z.maxLength(MAX_EXPRESSION_LENGTH)),
  testInputObject: z.optional(
    z.nullable(
      z.looseObject({
        definition: z.optional(z.unknown()),
        // A property without `value` is a null one: the Kiota SDK leaves out null members (Graph takes it so too).
        properties: z.optional(
          z.nullable(z.array(z.object({ key: z.string().check(z.minLength(1)), value: z.optional(z.unknown()) })).check(z.maxLength(500))),
        ),
      }),
    ),
  ),
  targetAttributeDefinition: z.optional(z.unknown()),
});

/** POST /jobs/{id}/validateCredentials. */
export const validateCredentialsBodySchema = z.looseObject({
  useSavedCredentials: z.optional(z.boolean()),
  credentials: z.optional(z.nullable(z.array(secretPairSchema).check(z.maxLength(64)))),
  applicationIdentifier: z.optional(z.nullable(z.string())),
  templateId: z.optional(z.nullable(z.string())),
});

/** POST /jobs/{id}/provisionOnDemand (Graph's synchronizationJobApplicationParameters). */
export const provisionOnDemandBodySchema = z.object({
  parameters: z
    .array(
      z.object({
        ruleId: z.string().check(z.minLength(1), z.maxLength(200)),
        subjects: z
          .array(
            z.object({
              objectId: z.string().check(z.minLength(1), z.maxLength(64)),
              objectTypeName: z.enum(['User', 'Group']),
              links: z.optional(
                z.nullable(
                  z.object({
                    members: z.optional(
                      z.nullable(
                        z.array(z.object({ objectId: z.string().check(z.minLength(1), z.maxLength(64)), objectTypeName: z.literal('User') })).check(z.maxLength(5)),
                      ),
                    ),
                  }),
                ),
              ),
            }),
          )
          .check(z.minLength(1)),
      }),
    )
    .check(z.minLength(1)),
});
