import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SubscribedResource } from '../ports/change-subscriptions.ts';
import type { Clock } from '../ports/clock.ts';
import type { JobRunStore } from '../ports/job-run-store.ts';
import type { HeldSubscription, NotificationStore } from '../ports/notification-store.ts';
import type { SyncTrigger } from '../ports/sync-trigger.ts';
import type { ChangeNotification } from '../schemas/change-notification.ts';
import type { StoredJob } from '../schemas/stored-job.ts';
import type { Connection } from './connection.ts';

/**
 * Subscriptions are asked for this long (Graph allows users and groups 41,760 minutes) and renewed once less than
 * `RENEW_BEFORE_MS` is left: a job that stops renewing them (paused, deleted) leaves them to expire within days.
 */
export const SUBSCRIPTION_LIFETIME_MS = 3 * 24 * 3_600_000;
const RENEW_BEFORE_MS = 2 * 24 * 3_600_000;
/** A failed attempt is tried again by a tick after this long. */
const RETRY_AFTER_FAILURE_MS = 15 * 60_000;
/** Checked again this often while the deployment has no webhook URL (a redeploy may add one). */
const RECHECK_UNCONFIGURED_MS = 24 * 3_600_000;

const RESOURCES: readonly SubscribedResource[] = ['users', 'groups'];

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** `<servicePrincipalId>/<jobId>`: how a source's list of jobs names one. */
export const jobRef = (job: Pick<StoredJob, 'servicePrincipalId' | 'id'>) => `${job.servicePrincipalId}/${job.id}`;

/**
 * Whether a tick should set up or renew the job's subscriptions now. A deployment without a webhook URL is looked
 * at again when `renewAfter` says, not on every tick (each look rewrites the job item).
 */
export function subscriptionsDue(job: StoredJob, now: string): boolean {
  const notifications = job.run.notifications;
  return (
    notifications === null ||
    (notifications.sourceKey === null && notifications.state !== 'notConfigured') ||
    (notifications.renewAfter ?? '') <= now
  );
}

export interface KeepSubscriptionsDeps {
  store: NotificationStore;
  runs: Pick<JobRunStore, 'noteNotifications'>;
  clock: Clock;
  /** The webhook's public URL; null when the deployment has none (jobs then run on their schedule alone). */
  notificationUrl: string | null;
}

/**
 * The worker's side: makes sure the job's source has a `/users` and a `/groups` subscription that reach the
 * webhook, shared by every job of the tenant on that source, renews them before they expire and creates them
 * again when Graph no longer has them. What it found is saved in `run.notifications` (the status shows it).
 */
export function makeKeepSubscriptions(deps: KeepSubscriptionsDeps) {
  const { store, runs, clock, notificationUrl } = deps;

  /** `renewAll`: a lifecycle notification asked for reauthorization, so every subscription is renewed now. */
  async function keep(job: StoredJob, connect: () => Promise<Connection>, options: { renewAll?: boolean } = {}): Promise<void> {
    const now = clock.now();
    const previousKey = job.run.notifications?.sourceKey ?? null;
    const connection = notificationUrl ? await connect() : null;
    try {
      await keepWith(job, connection, now, previousKey, options.renewAll === true);
    } finally {
      await connection?.close();
    }
  }

  async function keepWith(job: StoredJob, connection: Connection | null, now: Date, previousKey: string | null, renewAll: boolean): Promise<void> {
    if (!notificationUrl || !connection?.notifications) {
      await runs.noteNotifications(job, {
        state: 'notConfigured',
        sourceKey: null,
        renewAfter: new Date(now.getTime() + RECHECK_UNCONFIGURED_MS).toISOString(),
        message: notificationUrl ? 'The source directory offers no change notifications: changes reach the job on its schedule only.' : null,
      });
      if (previousKey) await store.removeJob(job.tenantId, previousKey, jobRef(job));
      return;
    }
    const { subscriptions, sourceKey } = connection.notifications;
    try {
      const held = (await store.source(job.tenantId, sourceKey))?.subscriptions ?? [];
      const renewFrom = new Date(now.getTime() + RENEW_BEFORE_MS).toISOString();
      const expiration = new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS).toISOString();
      const kept: HeldSubscription[] = [];
      for (const resource of RESOURCES) {
        const existing = held.find((subscription) => subscription.resource === resource);
        if (existing && existing.expirationDateTime > renewFrom && !renewAll) {
          kept.push(existing);
        } else if (existing && (await subscriptions.renew(existing.id, expiration))) {
          kept.push({ ...existing, expirationDateTime: expiration });
        } else {
          // A per-subscription secret, checked on every notification; only its hash is kept.
          const clientState = randomBytes(32).toString('base64url');
          const created = await subscriptions.create(resource, {
            notificationUrl,
            lifecycleNotificationUrl: notificationUrl,
            clientState,
            expirationDateTime: expiration,
          });
          kept.push({ resource, id: created.id, expirationDateTime: created.expirationDateTime, clientStateHash: sha256(clientState) });
        }
      }
      await store.saveSubscriptions(job.tenantId, sourceKey, kept, held);
      await store.addJob(job.tenantId, sourceKey, jobRef(job));
      if (previousKey && previousKey !== sourceKey) await store.removeJob(job.tenantId, previousKey, jobRef(job));
      const soonest = kept.map((subscription) => subscription.expirationDateTime).sort()[0]!;
      await runs.noteNotifications(job, {
        state: 'active',
        sourceKey,
        renewAfter: new Date(Date.parse(soonest) - RENEW_BEFORE_MS).toISOString(),
        message: null,
      });
    } catch (error) {
      await runs.noteNotifications(job, {
        state: 'failed',
        sourceKey,
        renewAfter: new Date(now.getTime() + RETRY_AFTER_FAILURE_MS).toISOString(),
        message: `Change notifications could not be set up, so changes reach the job on its schedule only: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }

  return keep;
}

export type KeepSubscriptions = ReturnType<typeof makeKeepSubscriptions>;

export interface ReceiveNotificationsDeps {
  store: Pick<NotificationStore, 'owners' | 'source'>;
  trigger: SyncTrigger;
}

export interface ReceivedNotifications {
  /** Notifications whose subscription and clientState matched. */
  accepted: number;
  /** Notifications refused: an unknown subscription or a wrong clientState. */
  refused: number;
  /** Jobs asked to run (one each, however many of their changes came). */
  triggered: number;
}

function sameSecret(clientState: string | null | undefined, hash: string): boolean {
  if (!clientState) return false;
  return timingSafeEqual(Buffer.from(sha256(clientState), 'hex'), Buffer.from(hash, 'hex'));
}

/**
 * The webhook's side: checks each notification's clientState against its subscription, then asks each job of the
 * notified sources for one run. The run reads the changes through delta as every run does, so a notification
 * lost on the way costs latency, never data; `reauthorizationRequired` also has the run renew the subscriptions.
 */
export function makeReceiveNotifications(deps: ReceiveNotificationsDeps) {
  return async function receive(notifications: ChangeNotification[]): Promise<ReceivedNotifications> {
    const owners = await deps.store.owners(notifications.map((notification) => notification.subscriptionId));
    const sources = new Map<string, { tenantId: string; sourceKey: string; renew: boolean }>();
    let accepted = 0;
    for (const notification of notifications) {
      const owner = owners.get(notification.subscriptionId);
      if (!owner || !sameSecret(notification.clientState, owner.clientStateHash)) continue;
      accepted += 1;
      const id = `${owner.tenantId}\n${owner.sourceKey}`;
      const source = sources.get(id) ?? { tenantId: owner.tenantId, sourceKey: owner.sourceKey, renew: false };
      if (notification.lifecycleEvent) source.renew = true;
      sources.set(id, source);
    }
    let triggered = 0;
    for (const { tenantId, sourceKey, renew } of sources.values()) {
      const jobs = (await deps.store.source(tenantId, sourceKey))?.jobs ?? [];
      await Promise.all(
        jobs.map(async (ref) => {
          const [servicePrincipalId, jobId] = ref.split('/') as [string, string];
          await deps.trigger.trigger({ tenantId, servicePrincipalId, jobId, trigger: 'notification', sourceKey, ...(renew ? { renewSubscriptions: true } : {}) });
        }),
      );
      triggered += jobs.length;
    }
    return { accepted, refused: notifications.length - accepted, triggered };
  };
}
