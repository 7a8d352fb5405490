import {
  Client,
  GraphError,
  HTTPMessageHandler,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const SP = 'graph-client-app';
const SYNC = `/servicePrincipals/${SP}/synchronization`;

/**
 * The SDK's AuthenticationHandler strips Authorization from non-https URLs, so local calls carry the token
 * through a middleware of their own ahead of the HTTP handler.
 */
class BearerMiddleware implements Middleware {
  private next: Middleware | undefined;

  constructor(private readonly token: string) {}

  async execute(context: Context): Promise<void> {
    const headers = new Headers(context.options?.headers as HeadersInit | undefined);
    headers.set('Authorization', `Bearer ${this.token}`);
    context.options = { ...context.options, headers };
    await this.next?.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

let t: TestStack;
let client: Client;

beforeAll(async () => {
  t = await startTestStack();
  const auth = new BearerMiddleware(t.token);
  auth.setNext(new HTTPMessageHandler());
  client = Client.initWithMiddleware({
    baseUrl: t.stack.apiUrl.replace(/\/v1\.0$/, ''),
    defaultVersion: 'v1.0',
    middleware: auth,
  });
});

afterAll(async () => {
  await t?.close();
});

describe('the official Microsoft Graph JS client', () => {
  it('runs a job through its whole life', async () => {
    expect(
      await client.api(`${SYNC}/secrets`).put({
        value: [
          { key: 'BaseAddress', value: t.stack.scimUrl },
          { key: 'SecretToken', value: t.stack.scimToken },
        ],
      }),
    ).toBeUndefined();

    const templates = await client.api(`${SYNC}/templates`).get();
    expect(templates.value.map((template: { id: string }) => template.id)).toContain('scim');

    const job = await client.api(`${SYNC}/jobs`).post({ templateId: 'scim' });
    expect(job.id).toMatch(/^scim\.[0-9a-f]{32}\./);
    expect(job.status.code).toBe('NotConfigured');

    const listed = await client.api(`${SYNC}/jobs`).get();
    expect(listed.value.map((item: { id: string }) => item.id)).toContain(job.id);

    await client.api(`${SYNC}/jobs/${job.id}`).patch({ schedule: { interval: 'PT20M' } });
    expect((await client.api(`${SYNC}/jobs/${job.id}`).get()).schedule.interval).toBe('PT20M');

    await client.api(`${SYNC}/jobs/${job.id}/start`).post({});
    expect((await client.api(`${SYNC}/jobs/${job.id}`).get()).schedule.state).toBe('Active');

    await client.api(`${SYNC}/jobs/${job.id}/pause`).post({});
    expect((await client.api(`${SYNC}/jobs/${job.id}`).get()).status.code).toBe('Paused');

    await client.api(`${SYNC}/jobs/${job.id}/restart`).post({ criteria: { resetScope: 'Watermark, Escrows' } });
    expect((await client.api(`${SYNC}/jobs/${job.id}`).get()).schedule.state).toBe('Active');

    const expanded = await client.api(`${SYNC}/jobs/${job.id}`).expand('schema').get();
    expect(expanded.schema.synchronizationRules.length).toBeGreaterThan(0);

    await client.api(`${SYNC}/jobs/${job.id}`).delete();
    const gone = await client.api(`${SYNC}/jobs/${job.id}`).get().catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(GraphError);
    expect((gone as GraphError).statusCode).toBe(404);
    expect((gone as GraphError).code).toBe('Request_ResourceNotFound');
  });

  it('pages through the job list with $top and @odata.nextLink', async () => {
    const created = new Set<string>();
    for (let i = 0; i < 3; i += 1) created.add((await client.api(`/servicePrincipals/paged-app/synchronization/jobs`).post({ templateId: 'scim' })).id);
    const first = await client.api('/servicePrincipals/paged-app/synchronization/jobs').top(1).get();
    expect(first['@odata.nextLink']).toBeDefined();
    // PageIterator follows only https nextLinks (the client treats any other absolute URL as a path), so over
    // the local http stack the link is handed back to the client as a path with its query.
    const seen: string[] = first.value.map((job: { id: string }) => job.id);
    let next: string | undefined = first['@odata.nextLink'];
    while (next) {
      const url = new URL(next);
      expect(url.origin).toBe(new URL(t.stack.apiUrl).origin);
      const page = await client.api(`${url.pathname.replace(/^\/v1\.0/, '')}${url.search}`).get();
      seen.push(...page.value.map((job: { id: string }) => job.id));
      next = page['@odata.nextLink'];
      expect(seen.length).toBeLessThan(10);
    }
    expect(new Set(seen)).toEqual(created);
    expect(seen).toHaveLength(3);
  });

  it('surfaces Graph errors with status and code', async () => {
    const error = await client
      .api(`${SYNC}/jobs`)
      .post({ templateId: 'scim', schedule: { interval: 'PT30S' } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).statusCode).toBe(400);
    expect((error as GraphError).code).toBe('invalidRequest');
  });
});
