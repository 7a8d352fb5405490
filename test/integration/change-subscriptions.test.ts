import { describe, expect, it } from 'vitest';
import { DynamoDbNotificationStore } from '../../functions/adapters/dynamodb/dynamodb-notification-store.ts';
import { createJob } from '../../functions/domain/job-lifecycle.ts';
import { scimTemplate } from '../../functions/domain/templates.ts';
import type { ChangeSubscriptions, SubscribedResource, SubscriptionRequest } from '../../functions/ports/change-subscriptions.ts';
import type { SyncTick } from '../../functions/schemas/sync-tick.ts';
import type { RunState, StoredJob } from '../../functions/schemas/stored-job.ts';
import type { Connection } from '../../functions/use-cases/connection.ts';
import { makeKeepSubscriptions, makeReceiveNotifications, subscriptionsDue, SUBSCRIPTION_LIFETIME_MS } from '../../functions/use-cases/change-notifications.ts';
import { VirtualClock } from '../model/virtual-time.ts';
import { dynamoDbTableForTests } from '../support/dynamodb-table.ts';

const TABLE = 'notifications-test';
const table = dynamoDbTableForTests(TABLE);
const DAY = 24 * 3_600_000;
const URL = 'https://sync.example.com/notifications';

/** Graph's /subscriptions as the engine sees them: what it created, renewed and removed, and ids Graph lost. */
class FakeGraphSubscriptions implements ChangeSubscriptions {
  readonly live = new Map<string, { resource: SubscribedResource; request: SubscriptionRequest }>();
  readonly calls: string[] = [];
  private next = 0;
  failing = false;

  async create(resource: SubscribedResource, request: SubscriptionRequest) {
    this.calls.push(`create ${resource}`);
    if (this.failing) throw new Error('The directory refused the credentials (403)');
    const id = `sub-${++this.next}`;
    this.live.set(id, { resource, request });
    return { id, expirationDateTime: request.expirationDateTime };
  }
  async renew(id: string, expirationDateTime: string) {
    this.calls.push(`renew ${id}`);
    const held = this.live.get(id);
    if (held) held.request.expirationDateTime = expirationDateTime;
    return held !== undefined;
  }
}

function world(notificationUrl: string | null = URL) {
  const clock = new VirtualClock(Date.parse('2026-12-01T00:00:00Z'));
  const store = new DynamoDbNotificationStore(table.client, TABLE);
  const graph = new FakeGraphSubscriptions();
  let job: StoredJob = createJob({ tenantId: `t-${Math.random()}`, servicePrincipalId: 'sp', template: scimTemplate, intervalMinutes: 40, randomHex32: 'a'.repeat(32), now: clock.now().toISOString() });
  const runs = {
    noteNotifications: async (_job: StoredJob, notifications: NonNullable<RunState['notifications']>) => {
      job = { ...job, run: { ...job.run, notifications } };
    },
  };
  const connection = { notifications: { subscriptions: graph, sourceKey: 'source-1' }, close: async () => undefined } as unknown as Connection;
  const keep = makeKeepSubscriptions({ store, runs, clock, notificationUrl });
  const ticks: SyncTick[] = [];
  const receive = makeReceiveNotifications({ store, trigger: { trigger: async (tick) => void ticks.push(tick) } });
  return { clock, store, graph, keep: (renewAll = false) => keep(job, async () => connection, { renewAll }), job: () => job, receive, ticks };
}

describe('keeping a source subscribed', () => {
  it('creates a users and a groups subscription once, renews them before they expire, and creates again one Graph lost', async () => {
    const w = world();
    await w.keep();
    expect(w.graph.calls).toEqual(['create users', 'create groups']);
    expect([...w.graph.live.values()].map(({ request }) => request)).toEqual([
      expect.objectContaining({ notificationUrl: URL, lifecycleNotificationUrl: URL, expirationDateTime: new Date(Date.parse('2026-12-01T00:00:00Z') + SUBSCRIPTION_LIFETIME_MS + 2).toISOString() }),
      expect.objectContaining({ notificationUrl: URL }),
    ]);
    expect(w.job().run.notifications).toMatchObject({ state: 'active', sourceKey: 'source-1' });
    expect((await w.store.source(w.job().tenantId, 'source-1'))?.jobs).toEqual([`sp/${w.job().id}`]);

    // Not due for a day: a tick costs nothing.
    w.clock.advance(DAY / 2);
    expect(subscriptionsDue(w.job(), w.clock.now().toISOString())).toBe(false);
    w.clock.advance(DAY);
    expect(subscriptionsDue(w.job(), w.clock.now().toISOString())).toBe(true);

    // Graph lost the users subscription (it expired unrenewed, or was deleted): renewing it answers 404.
    w.graph.live.delete('sub-1');
    w.graph.calls.length = 0;
    await w.keep();
    expect(w.graph.calls).toEqual(['renew sub-1', 'create users', 'renew sub-2']);
    const held = (await w.store.source(w.job().tenantId, 'source-1'))!.subscriptions;
    expect(held.map((subscription) => subscription.id).sort()).toEqual(['sub-2', 'sub-3']);
    expect(held.every((subscription) => subscription.expirationDateTime > new Date(w.clock.nowMs() + DAY).toISOString())).toBe(true);
    // The lost subscription's owner is gone too: a late notification of it wakes nothing.
    expect([...(await w.store.owners(['sub-1', 'sub-2', 'sub-3'])).keys()].sort()).toEqual(['sub-2', 'sub-3']);

    // A reauthorizationRequired lifecycle notification: both are renewed now, though neither is due.
    w.graph.calls.length = 0;
    await w.keep(true);
    expect(w.graph.calls.sort()).toEqual(['renew sub-2', 'renew sub-3']);
  });

  it('says so in the status when the deployment has no webhook URL, and when Graph refuses, then tries again later', async () => {
    const none = world(null);
    await none.keep();
    expect(none.graph.calls).toEqual([]);
    expect(none.job().run.notifications).toMatchObject({ state: 'notConfigured', sourceKey: null });
    // Not looked at again on every tick (each look writes the job item), only a day later (a redeploy may add one).
    expect(subscriptionsDue(none.job(), none.clock.now().toISOString())).toBe(false);
    none.clock.advance(24 * 3_600_000);
    expect(subscriptionsDue(none.job(), none.clock.now().toISOString())).toBe(true);

    const refused = world();
    refused.graph.failing = true;
    await refused.keep();
    expect(refused.job().run.notifications).toMatchObject({ state: 'failed', message: expect.stringMatching(/schedule only.*403/) });
    refused.clock.advance(16 * 60_000);
    expect(subscriptionsDue(refused.job(), refused.clock.now().toISOString())).toBe(true);
  });
});

describe('receiving notifications', () => {
  it('wakes each job of the notified source once per batch, only for the right clientState, and renews on a lifecycle event', async () => {
    const w = world();
    await w.keep();
    const [[usersId, users], [groupsId, groups]] = [...w.graph.live.entries()] as unknown as [[string, { request: SubscriptionRequest }], [string, { request: SubscriptionRequest }]];
    const note = (subscriptionId: string, clientState: string, more = {}) => ({ subscriptionId, clientState, changeType: 'updated', resource: 'Users/u', ...more });

    expect(await w.receive([note(usersId!, users!.request.clientState), note(usersId!, users!.request.clientState), note(groupsId!, groups!.request.clientState)])).toEqual({ accepted: 3, refused: 0, triggered: 1 });
    expect(w.ticks).toEqual([{ tenantId: w.job().tenantId, servicePrincipalId: 'sp', jobId: w.job().id, trigger: 'notification', sourceKey: 'source-1' }]);

    w.ticks.length = 0;
    expect(await w.receive([note(usersId!, groups!.request.clientState), note('unknown', 'x'), note(usersId!, '')])).toEqual({ accepted: 0, refused: 3, triggered: 0 });
    expect(w.ticks).toEqual([]);

    expect(await w.receive([note(usersId!, users!.request.clientState, { lifecycleEvent: 'reauthorizationRequired' })])).toMatchObject({ accepted: 1 });
    expect(w.ticks).toEqual([expect.objectContaining({ trigger: 'notification', renewSubscriptions: true })]);
  });
});
