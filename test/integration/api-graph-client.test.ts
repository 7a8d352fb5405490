import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, GraphError, PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsTestStack, trustCaInThisProcess, type HttpsTestStack } from '../support/https-stack.ts';

const SP = 'graph-client-app';
const SYNC = `/servicePrincipals/${SP}/synchronization`;

let t: HttpsTestStack;
let client: Client;
let untrust: () => Promise<void>;
let users: { id: string; userPrincipalName: string }[];

beforeAll(async () => {
  t = await startHttpsTestStack();
  // What `export NODE_EXTRA_CA_CERTS=<ca.pem>` does for a tool started with it: this test process is running
  // already, so the CA is given to the global fetch the SDK uses (undici's setGlobalDispatcher) instead.
  untrust = trustCaInThisProcess(t.caPem);
  // The SDK's ordinary setup, as `npm start` prints it: no middleware of our own, no version in baseUrl.
  client = Client.init({
    baseUrl: t.httpsBaseUrl,
    customHosts: new Set([new URL(t.httpsBaseUrl).hostname]),
    authProvider: (done) => done(null, t.token),
  });
  const all = ((await (await fetch(`${t.stack.directoryUrl}/users`)).json()) as { value: (typeof users[number] & { accountEnabled?: boolean })[] }).value;
  users = all.filter((user) => user.accountEnabled !== false);
});

afterAll(async () => {
  await untrust?.();
  await t?.close();
});

describe('the Microsoft Graph JS SDK v3 with its ordinary Client.init, over https', () => {
  it('sends the token (customHosts) and runs a job through its whole life', async () => {
    expect(
      await client.api(`${SYNC}/secrets`).put({
        value: [
          { key: 'BaseAddress', value: t.stack.scimUrl },
          { key: 'SecretToken', value: t.stack.scimToken },
          { key: 'SyncAll', value: 'true' },
        ],
      }),
    ).toBeUndefined();

    const templates = await client.api(`${SYNC}/templates`).get();
    expect(templates.value.map((template: { id: string }) => template.id)).toContain('scim');
    expect((await client.api(`${SYNC}/templates/scim`).get()).id).toBe('scim');

    const job = await client.api(`${SYNC}/jobs`).post({ templateId: 'scim' });
    expect(job.id).toMatch(/^scim\.[0-9a-f]{32}\./);
    expect(job.status.code).toBe('NotConfigured');

    const listed = await client.api(`${SYNC}/jobs`).get();
    expect(listed.value.map((item: { id: string }) => item.id)).toContain(job.id);
    expect(listed['@odata.context']).toMatch(new RegExp(`^${t.httpsBaseUrl}/v1\\.0/\\$metadata#`));

    await client.api(`${SYNC}/jobs/${job.id}`).patch({ schedule: { interval: 'PT20M' } });
    expect((await client.api(`${SYNC}/jobs/${job.id}`).get()).schedule.interval).toBe('PT20M');

    expect(await client.api(`${SYNC}/jobs/${job.id}/validateCredentials`).post({ useSavedCredentials: true })).toBeUndefined();

    // Before start: the run start begins would provision the user first, and on demand would have nothing to do.
    const user = users[0]!;
    const onDemand = await client.api(`${SYNC}/jobs/${job.id}/provisionOnDemand`).post({
      parameters: [{ ruleId: 'AAD2SCIM', subjects: [{ objectId: user.id, objectTypeName: 'User' }] }],
    });
    expect(onDemand['@odata.type']).toBe('#microsoft.graph.stringKeyStringValuePair');
    expect(JSON.parse(onDemand.key).result).toBe('Success');
    expect(t.stack.scim.resources('Users').map((account: any) => account.userName)).toContain(user.userPrincipalName);

    const logs = await client.api('/auditLogs/provisioning').filter(`jobId eq '${job.id}'`).get();
    expect(logs.value.length).toBeGreaterThan(0);
    expect(logs.value[0].sourceIdentity.id).toBe(user.id);

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

  it('reads, replaces and resets the schema, and uses its tools', async () => {
    const job = await client.api(`${SYNC}/jobs`).post({ templateId: 'scim' });
    const schemaPath = `${SYNC}/jobs/${job.id}/schema`;
    const schema = await client.api(schemaPath).get();
    expect(schema.synchronizationRules.length).toBeGreaterThan(0);

    // A scoping filter on users: only those whose department is Sales.
    const edited = structuredClone(schema);
    const scope = { groups: [{ name: 'sales', clauses: [{ sourceOperandName: 'department', operatorName: 'EQUALS', targetOperand: { values: ['Sales'] } }] }] };
    edited.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User').scope = scope;
    expect(await client.api(schemaPath).put(edited)).toBeUndefined();
    const replaced = await client.api(schemaPath).get();
    expect(replaced.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User').scope).toMatchObject(scope);

    expect(await client.api(schemaPath).delete()).toBeUndefined();
    expect((await client.api(schemaPath).get()).synchronizationRules).toEqual(schema.synchronizationRules);

    const functions = await client.api(`${schemaPath}/functions`).get();
    expect(functions.value.map((fn: { name: string }) => fn.name)).toContain('Join');
    const operators = await client.api(`${schemaPath}/filterOperators`).get();
    expect(operators.value.map((operator: { name: string }) => operator.name)).toContain('EQUALS');

    const parsed = await client.api(`${schemaPath}/parseExpression`).post({
      expression: 'Join(" ", [givenName], [surname])',
      testInputObject: { properties: [{ key: 'givenName', value: 'Ada' }, { key: 'surname', value: 'Lovelace' }] },
    });
    expect(parsed.parsingSucceeded).toBe(true);
    expect(parsed.evaluationResult).toEqual(['Ada Lovelace']);
  });

  it('follows our https @odata.nextLink with PageIterator to the last page', async () => {
    const sp = 'paged-app';
    const created = new Set<string>();
    for (let i = 0; i < 5; i += 1) created.add((await client.api(`/servicePrincipals/${sp}/synchronization/jobs`).post({ templateId: 'scim' })).id);
    const first: PageCollection = await client.api(`/servicePrincipals/${sp}/synchronization/jobs`).top(2).get();
    expect(first.value).toHaveLength(2);
    const next = new URL(first['@odata.nextLink']!);
    expect(next.origin).toBe(t.httpsBaseUrl);

    // PageIterator reads each further page through the client, from the nextLink as we wrote it: 2 + 2 + 1 jobs.
    const seen: string[] = [];
    const iterator = new PageIterator(client, first, (job: { id: string }) => {
      seen.push(job.id);
      return true;
    });
    await iterator.iterate();
    expect(iterator.isComplete()).toBe(true);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(created);
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

  it('works in a tool started with NODE_EXTRA_CA_CERTS, the setup npm start prints', async () => {
    const script = `
      import { Client } from '@microsoft/microsoft-graph-client';
      const client = Client.init({ baseUrl: process.env.BASE, customHosts: new Set([new URL(process.env.BASE).hostname]), authProvider: (done) => done(null, process.env.TOKEN) });
      const created = await client.api('${SYNC}/jobs').post({ templateId: 'scim' });
      const got = await client.api('${SYNC}/jobs/' + created.id).get();
      console.log(JSON.stringify({ created: created.id, got: got.id }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: t.caFile, BASE: t.httpsBaseUrl, TOKEN: t.token },
    });
    const { created, got } = JSON.parse(stdout);
    expect(created).toMatch(/^scim\./);
    expect(got).toBe(created);
  });

  it('is refused without the token: an https host missing from customHosts gets none', async () => {
    const withoutCustomHosts = Client.init({ baseUrl: t.httpsBaseUrl, authProvider: (done) => done(null, t.token) });
    const error = await withoutCustomHosts.api(`${SYNC}/jobs`).get().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).statusCode).toBe(401);
  });
});
