import { z } from 'zod';
import { SchedulerApiError } from './scheduler-api-error.ts';

/**
 * Request members and their constraints as the Scheduler API reference states them. Timestamps travel as epoch
 * seconds, restJson1's default. Unknown top-level members are dropped, as an AWS service ignores them.
 */
const NAME = /^[0-9a-zA-Z-_.]+$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const QUEUE_ARN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9-_]+$/;
const KMS_KEY_ARN = /^arn:aws(-[a-z]+)?:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$/;
const CLIENT_TOKEN = /^[a-zA-Z0-9-_]+$/;

const resourceName = z.string().min(1).max(64).regex(NAME);
const integer = (min: number, max: number) => z.number().int().min(min).max(max);

export const scheduleStateSchema = z.enum(['ENABLED', 'DISABLED']);

export const retryPolicySchema = z.object({
  MaximumEventAgeInSeconds: integer(60, 86_400).optional(),
  MaximumRetryAttempts: integer(0, 185).optional(),
});

/** The members Scheduler itself uses; the target-type parameters (EcsParameters, SqsParameters, ...) are kept as given. */
export const targetSchema = z.looseObject({
  Arn: z.string().min(1).max(1600),
  RoleArn: z.string().min(1).max(1600).regex(ROLE_ARN),
  Input: z.string().min(1).optional(),
  RetryPolicy: retryPolicySchema.optional(),
  DeadLetterConfig: z.object({ Arn: z.string().min(1).max(1600).regex(QUEUE_ARN).optional() }).optional(),
});

export const flexibleTimeWindowSchema = z
  .object({
    Mode: z.enum(['OFF', 'FLEXIBLE']),
    MaximumWindowInMinutes: integer(1, 1440).optional(),
  })
  .refine((window) => window.Mode === 'OFF' || window.MaximumWindowInMinutes !== undefined, {
    message: 'MaximumWindowInMinutes is required when Mode is FLEXIBLE',
    path: ['MaximumWindowInMinutes'],
  });

/** CreateSchedule and UpdateSchedule take the same members: an update replaces the whole schedule. */
export const scheduleInputSchema = z.object({
  Name: resourceName,
  GroupName: resourceName.optional(),
  ScheduleExpression: z.string().min(1).max(256),
  ScheduleExpressionTimezone: z.string().min(1).max(50).optional(),
  StartDate: z.number().optional(),
  EndDate: z.number().optional(),
  Description: z.string().max(512).optional(),
  State: scheduleStateSchema.optional(),
  KmsKeyArn: z.string().min(1).max(2048).regex(KMS_KEY_ARN).optional(),
  ClientToken: z.string().min(1).max(64).regex(CLIENT_TOKEN).optional(),
  ActionAfterCompletion: z.enum(['NONE', 'DELETE']).optional(),
  FlexibleTimeWindow: flexibleTimeWindowSchema,
  Target: targetSchema,
});

export const scheduleKeyInputSchema = z.object({
  Name: resourceName,
  GroupName: resourceName.optional(),
  ClientToken: z.string().min(1).max(64).regex(CLIENT_TOKEN).optional(),
});

export const listInputSchema = z.object({
  GroupName: resourceName.optional(),
  NamePrefix: resourceName.optional(),
  State: scheduleStateSchema.optional(),
  NextToken: z.string().min(1).max(2048).optional(),
  MaxResults: z.coerce.number().int().min(1).max(100).optional(),
});

export type ScheduleInput = z.infer<typeof scheduleInputSchema>;
export type ScheduleKeyInput = z.infer<typeof scheduleKeyInputSchema>;
export type ListInput = z.infer<typeof listInputSchema>;

/** The schedule definition as stored and returned by GetSchedule (everything but the addressing members). */
export const scheduleDefinitionSchema = scheduleInputSchema.omit({ Name: true, GroupName: true, ClientToken: true });
export type ScheduleDefinition = z.infer<typeof scheduleDefinitionSchema>;

/**
 * Parses request members or answers ValidationException in AWS's own words, e.g.
 * `1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+`.
 */
export function parseMembers<Schema extends z.ZodType>(schema: Schema, members: unknown): z.infer<Schema> {
  const parsed = schema.safeParse(members, { reportInput: true });
  if (parsed.success) return parsed.data;
  const { issues } = parsed.error;
  const details = issues.map(
    (issue) => `Value ${renderValue(issue.input)} at '${memberPath(issue.path)}' failed to satisfy constraint: ${constraintOf(issue)}`,
  );
  const count = `${issues.length} validation error${issues.length === 1 ? '' : 's'} detected`;
  throw new SchedulerApiError('ValidationException', `${count}: ${details.join('; ')}`);
}

function memberPath(path: PropertyKey[]): string {
  return path.map((key) => String(key).replace(/^./, (first) => first.toLowerCase())).join('.');
}

function renderValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function constraintOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'Member must not be null' : `Member must be of type ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `Member must have length greater than or equal to ${issue.minimum}`
        : `Member must have value greater than or equal to ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `Member must have length less than or equal to ${issue.maximum}`
        : `Member must have value less than or equal to ${issue.maximum}`;
    case 'invalid_format':
      return `Member must satisfy regular expression pattern: ${issue.pattern?.replace(/^\/\^|\$\/$/g, '') ?? issue.format}`;
    case 'invalid_value':
      return `Member must satisfy enum value set: [${issue.values.join(', ')}]`;
    default:
      return issue.message;
  }
}
