import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../../functions/ports/clock.ts';
import { SchedulerApiError } from './scheduler-api-error.ts';
import {
  isTimeZone,
  latestScheduledTime,
  parseScheduleExpression,
  type Recurrence,
} from './schedule-expression.ts';
import {
  scheduleDefinitionSchema,
  type ListInput,
  type ScheduleDefinition,
  type ScheduleInput,
  type ScheduleKeyInput,
} from './wire-model.ts';

const DEFAULT_GROUP = 'default';
/** What AWS applies when a schedule names no RetryPolicy. */
const DEFAULT_RETRY_POLICY = { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 };
const DEFAULT_PAGE_SIZE = 100;

const instant = z.iso.datetime();

const firingStateSchema = z.object({
  /** When the expression or StartDate was last set: a rate without StartDate counts its periods from here. */
  anchor: instant,
  /** Since when the schedule has been enabled; ticks from before then never fire. Null while disabled. */
  enabledAt: instant.nullable(),
  lastScheduledTime: instant.nullable(),
  /** A tick whose delivery failed, retried on later passes within the RetryPolicy. */
  retry: z.object({ scheduledTime: instant, attempt: z.number().int().min(1), firstAttemptAt: instant }).nullable(),
});

const storedScheduleSchema = z.object({
  name: z.string(),
  groupName: z.string(),
  arn: z.string(),
  creationDate: instant,
  lastModificationDate: instant,
  /** The token of the CreateSchedule that made it: a replay with the same token succeeds instead of conflicting. */
  clientToken: z.string().optional(),
  definition: scheduleDefinitionSchema,
  firing: firingStateSchema,
});

const dataFileSchema = z.object({ schedules: z.array(storedScheduleSchema) });

type StoredSchedule = z.infer<typeof storedScheduleSchema>;
type FiringState = z.infer<typeof firingStateSchema>;

/** Where the registry keeps its schedules and how it reaches their targets. */
export interface ScheduleRegistryOptions {
  region: string;
  accountId: string;
  /** Groups that exist besides `default`. */
  groups: string[];
  clock: Clock;
  invoke: (targetArn: string, input: string) => Promise<void>;
  /** JSON file the schedules are saved to after every change and loaded from at start. */
  dataFile?: string;
}

interface Delivery {
  scheduledTime: string;
  attempt: number;
  firstAttemptAt: string;
}

/** The schedules of one emulated account and Region: the Scheduler API's behaviour without its transport. */
export class ScheduleRegistry {
  private readonly schedules = new Map<string, StoredSchedule>();
  private readonly groups: Set<string>;
  private pass: Promise<number> | undefined;

  constructor(private readonly options: ScheduleRegistryOptions) {
    this.groups = new Set([DEFAULT_GROUP, ...options.groups]);
    if (options.dataFile && existsSync(options.dataFile)) {
      const saved = dataFileSchema.parse(JSON.parse(readFileSync(options.dataFile, 'utf8')));
      for (const schedule of saved.schedules) this.schedules.set(keyOf(schedule.groupName, schedule.name), schedule);
    }
  }

  create(input: ScheduleInput): { ScheduleArn: string } {
    const groupName = this.existingGroup(input.GroupName);
    const definition = effectiveDefinition(input);
    const existing = this.schedules.get(keyOf(groupName, input.Name));
    if (existing) {
      if (input.ClientToken !== undefined && existing.clientToken === input.ClientToken) return { ScheduleArn: existing.arn };
      throw new SchedulerApiError('ConflictException', `Schedule ${input.Name} already exists.`);
    }
    const now = this.now();
    const schedule: StoredSchedule = {
      name: input.Name,
      groupName,
      arn: `arn:aws:scheduler:${this.options.region}:${this.options.accountId}:schedule/${groupName}/${input.Name}`,
      creationDate: now,
      lastModificationDate: now,
      clientToken: input.ClientToken,
      definition,
      firing: {
        anchor: now,
        enabledAt: definition.State === 'ENABLED' ? now : null,
        lastScheduledTime: null,
        retry: null,
      },
    };
    this.schedules.set(keyOf(groupName, input.Name), schedule);
    this.save();
    return { ScheduleArn: schedule.arn };
  }

  /** Replaces the whole definition, like AWS: members left out fall back to their defaults. */
  update(input: ScheduleInput): { ScheduleArn: string } {
    const groupName = this.existingGroup(input.GroupName);
    const definition = effectiveDefinition(input);
    const existing = this.existing(groupName, input.Name);
    const now = this.now();
    const previous = existing.definition;
    const recurrenceChanged =
      previous.ScheduleExpression !== definition.ScheduleExpression ||
      previous.ScheduleExpressionTimezone !== definition.ScheduleExpressionTimezone ||
      previous.StartDate !== definition.StartDate;
    const enabled = definition.State === 'ENABLED';
    const firing: FiringState = {
      anchor: recurrenceChanged ? now : existing.firing.anchor,
      enabledAt: enabled ? (existing.firing.enabledAt ?? now) : null,
      lastScheduledTime: existing.firing.lastScheduledTime,
      retry: enabled ? existing.firing.retry : null,
    };
    this.schedules.set(keyOf(groupName, input.Name), { ...existing, lastModificationDate: now, definition, firing });
    this.save();
    return { ScheduleArn: existing.arn };
  }

  get(input: ScheduleKeyInput): Record<string, unknown> {
    const schedule = this.existing(this.existingGroup(input.GroupName), input.Name);
    return {
      Arn: schedule.arn,
      GroupName: schedule.groupName,
      Name: schedule.name,
      CreationDate: epochSeconds(schedule.creationDate),
      LastModificationDate: epochSeconds(schedule.lastModificationDate),
      ...schedule.definition,
    };
  }

  delete(input: ScheduleKeyInput): Record<string, never> {
    const groupName = this.existingGroup(input.GroupName);
    this.existing(groupName, input.Name);
    this.schedules.delete(keyOf(groupName, input.Name));
    this.save();
    return {};
  }

  list(input: ListInput): { Schedules: Record<string, unknown>[]; NextToken?: string } {
    const groupName = input.GroupName === undefined ? undefined : this.existingGroup(input.GroupName);
    const after = input.NextToken === undefined ? '' : decodeNextToken(input.NextToken);
    const matching = [...this.schedules.entries()]
      .filter(([key]) => key > after)
      .filter(([, schedule]) => groupName === undefined || schedule.groupName === groupName)
      .filter(([, schedule]) => input.NamePrefix === undefined || schedule.name.startsWith(input.NamePrefix))
      .filter(([, schedule]) => input.State === undefined || schedule.definition.State === input.State)
      .sort(([left], [right]) => (left < right ? -1 : 1));
    const page = matching.slice(0, input.MaxResults ?? DEFAULT_PAGE_SIZE);
    const lastKey = page.at(-1)?.[0];
    return {
      Schedules: page.map(([, schedule]) => ({
        Arn: schedule.arn,
        Name: schedule.name,
        GroupName: schedule.groupName,
        State: schedule.definition.State,
        CreationDate: epochSeconds(schedule.creationDate),
        LastModificationDate: epochSeconds(schedule.lastModificationDate),
        Target: { Arn: schedule.definition.Target.Arn },
      })),
      ...(matching.length > page.length && lastKey !== undefined ? { NextToken: encodeNextToken(lastKey) } : {}),
    };
  }

  /**
   * Delivers what is due now: for each enabled schedule, a failed tick's next retry, or else its latest scheduled
   * time if that has not fired yet — one delivery per schedule per pass, so ticks missed while disabled or stopped
   * are not replayed as a backlog. Returns how many invocations this pass made. A pass asked for while one runs
   * waits for it and makes none of its own.
   */
  async runDue(): Promise<number> {
    if (this.pass) {
      await this.pass;
      return 0;
    }
    this.pass = this.deliverDue().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async deliverDue(): Promise<number> {
    const now = this.options.clock.now();
    const deliveries: Promise<void>[] = [];
    for (const schedule of this.schedules.values()) {
      const delivery = nextDelivery(schedule, now);
      if (delivery) deliveries.push(this.deliver(schedule, delivery));
    }
    this.save();
    await Promise.all(deliveries);
    this.save();
    return deliveries.length;
  }

  private async deliver(schedule: StoredSchedule, delivery: Delivery): Promise<void> {
    const { firing, definition } = schedule;
    if (firing.lastScheduledTime === null || firing.lastScheduledTime < delivery.scheduledTime) {
      firing.lastScheduledTime = delivery.scheduledTime;
    }
    firing.retry = null;
    const input = substituteContext(definition.Target.Input ?? '{}', {
      'schedule-arn': schedule.arn,
      'scheduled-time': delivery.scheduledTime.replace(/\.\d{3}Z$/, 'Z'),
      'execution-id': randomUUID(),
      'attempt-number': String(delivery.attempt),
    });
    try {
      await this.options.invoke(definition.Target.Arn, input);
    } catch {
      // Retried on a later pass unless the schedule was replaced, removed or disabled meanwhile.
      const current = this.schedules.get(keyOf(schedule.groupName, schedule.name));
      if (current === schedule && firing.enabledAt !== null) {
        firing.retry = { ...delivery };
      }
    }
  }

  private existingGroup(name: string | undefined): string {
    const groupName = name ?? DEFAULT_GROUP;
    if (!this.groups.has(groupName)) {
      throw new SchedulerApiError('ResourceNotFoundException', `Schedule group ${groupName} does not exist.`);
    }
    return groupName;
  }

  private existing(groupName: string, name: string): StoredSchedule {
    const schedule = this.schedules.get(keyOf(groupName, name));
    if (!schedule) throw new SchedulerApiError('ResourceNotFoundException', `Schedule ${name} does not exist.`);
    return schedule;
  }

  private now(): string {
    return this.options.clock.now().toISOString();
  }

  private save(): void {
    const { dataFile } = this.options;
    if (!dataFile) return;
    mkdirSync(dirname(dataFile), { recursive: true });
    const temporary = `${dataFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify({ schedules: [...this.schedules.values()] }, null, 2));
    // A rename replaces the file whole, so a crash never leaves half a file behind.
    renameSync(temporary, dataFile);
  }
}

/** Checks what the member constraints cannot express and fills in the defaults AWS stores. */
function effectiveDefinition(input: ScheduleInput): ScheduleDefinition {
  const { Name: _name, GroupName: _group, ClientToken: _token, ...definition } = input;
  const timeZone = definition.ScheduleExpressionTimezone ?? 'UTC';
  if (!isTimeZone(timeZone)) {
    throw new SchedulerApiError('ValidationException', `Invalid ScheduleExpressionTimezone ${timeZone}.`);
  }
  if (!parseScheduleExpression(definition.ScheduleExpression, timeZone)) {
    throw new SchedulerApiError('ValidationException', `Invalid Schedule Expression ${definition.ScheduleExpression}.`);
  }
  if (definition.StartDate !== undefined && definition.EndDate !== undefined && definition.EndDate <= definition.StartDate) {
    throw new SchedulerApiError('ValidationException', 'The EndDate must be later than the StartDate.');
  }
  return {
    ...definition,
    State: definition.State ?? 'ENABLED',
    ActionAfterCompletion: definition.ActionAfterCompletion ?? 'NONE',
    Target: { ...definition.Target, RetryPolicy: { ...DEFAULT_RETRY_POLICY, ...definition.Target.RetryPolicy } },
  };
}

/** What to deliver for a schedule now, if anything; forgets a failed tick whose RetryPolicy is spent. */
function nextDelivery(schedule: StoredSchedule, now: Date): Delivery | null {
  const { firing, definition } = schedule;
  if (firing.enabledAt === null) return null;
  if (firing.retry) {
    const { MaximumRetryAttempts, MaximumEventAgeInSeconds } = { ...DEFAULT_RETRY_POLICY, ...definition.Target.RetryPolicy };
    const age = now.getTime() - Date.parse(firing.retry.firstAttemptAt);
    if (firing.retry.attempt <= MaximumRetryAttempts && age <= MaximumEventAgeInSeconds * 1000) {
      return { ...firing.retry, attempt: firing.retry.attempt + 1 };
    }
    firing.retry = null;
  }
  const scheduled = latestFireable(schedule, now)?.toISOString();
  if (scheduled === undefined || scheduled < firing.enabledAt) return null;
  if (firing.lastScheduledTime !== null && scheduled <= firing.lastScheduledTime) return null;
  return { scheduledTime: scheduled, attempt: 1, firstAttemptAt: now.toISOString() };
}

/**
 * The latest scheduled time whose invocation is due by now. Mode OFF: the latest scheduled time. FLEXIBLE: each
 * scheduled time S fires once, anywhere in [S, S + MaximumWindowInMinutes) as AWS documents it; here at an offset
 * drawn from a hash of the schedule and S, uniform over the window (so a restart keeps the same instants). With a
 * window longer than the period a later time may fire first, and the earlier one is then skipped (AWS fires both).
 */
function latestFireable(schedule: StoredSchedule, now: Date): Date | null {
  const { definition } = schedule;
  const recurrence = recurrenceOf(definition);
  const flexible = definition.FlexibleTimeWindow;
  const windowMs = flexible.Mode === 'FLEXIBLE' ? (flexible.MaximumWindowInMinutes ?? 0) * 60_000 : 0;
  let candidate = latestScheduledTime(recurrence, windowOf(schedule), now);
  if (windowMs === 0) return candidate;
  // Earlier scheduled times whose window is still open may be the one due; later ones are not due yet.
  const periodMs = recurrence.kind === 'rate' ? recurrence.periodMs : Infinity;
  while (candidate !== null && now.getTime() - candidate.getTime() < windowMs + periodMs) {
    if (candidate.getTime() + flexibleOffsetMs(schedule.arn, candidate, windowMs) <= now.getTime()) return candidate;
    if (periodMs === Infinity) return null;
    const earlier = new Date(candidate.getTime() - periodMs);
    candidate = earlier < (windowOf(schedule).startDate ?? new Date(windowOf(schedule).anchor.getTime() + periodMs)) ? null : earlier;
  }
  return null;
}

function flexibleOffsetMs(arn: string, scheduled: Date, windowMs: number): number {
  const digest = createHash('sha256').update(`${arn}\n${scheduled.toISOString()}`).digest();
  return Math.floor((digest.readUInt32BE(0) / 2 ** 32) * windowMs);
}

function recurrenceOf(definition: ScheduleDefinition): Recurrence {
  const recurrence = parseScheduleExpression(definition.ScheduleExpression, definition.ScheduleExpressionTimezone ?? 'UTC');
  // Stored definitions passed the same check when they were written.
  if (!recurrence) throw new Error(`Stored schedule has an invalid expression ${definition.ScheduleExpression}`);
  return recurrence;
}

function windowOf({ firing, definition }: StoredSchedule) {
  return {
    anchor: new Date(firing.anchor),
    startDate: definition.StartDate === undefined ? undefined : new Date(definition.StartDate * 1000),
    endDate: definition.EndDate === undefined ? undefined : new Date(definition.EndDate * 1000),
  };
}

/** Fills in the context attributes EventBridge Scheduler substitutes into a target's Input. */
function substituteContext(input: string, attributes: Record<string, string>): string {
  return input.replace(/<aws\.scheduler\.([a-z-]+)>/g, (placeholder, name: string) => attributes[name] ?? placeholder);
}

function keyOf(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}

function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

function encodeNextToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeNextToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (!/^[0-9a-zA-Z-_.]+\/[0-9a-zA-Z-_.]+$/.test(key)) {
    throw new SchedulerApiError('ValidationException', 'Invalid NextToken.');
  }
  return key;
}
