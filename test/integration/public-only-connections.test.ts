import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicOnlyAgent, publicOnlyLookup } from '../../functions/adapters/net/public-only-connections.ts';
import { HttpScimTarget } from '../../functions/adapters/scim/http-scim-target.ts';
import { TargetUnavailableError } from '../../functions/ports/scim-target.ts';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';

function resolve(hostname: string, all = false) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((done) => {
    publicOnlyLookup(hostname, { all }, (error, address) => done({ error, address }));
  });
}

describe('publicOnlyLookup', () => {
  it.each(['localhost', '127.0.0.1', '10.1.2.3', '169.254.169.254', '::1'])('refuses %s', async (host) => {
    const { error } = await resolve(host);
    expect(error?.code).toBe('ENOTALLOWED');
  });

  it.each([false, true])('passes a public address through (all: %s)', async (all) => {
    const { error, address } = await resolve('93.184.216.34', all);
    expect(error).toBeNull();
    expect(all ? address : [address]).toEqual(all ? [{ address: '93.184.216.34', family: 4 }] : ['93.184.216.34']);
  });
});

describe('a SCIM target behind the deployed Agent', () => {
  let scim: LocalScimService;
  beforeAll(async () => {
    scim = await startLocalScimService({ host: '127.0.0.1', port: 0, token: 't', recordRequests: true });
  });
  afterAll(async () => scim?.close());

  it('cannot reach a loopback target by name: the job is quarantined, nothing is sent', async () => {
    const agent = publicOnlyAgent('http:', { keepAlive: true });
    const target = new HttpScimTarget({ baseUrl: scim.url.replace('127.0.0.1', 'localhost'), token: 't', agent });
    try {
      await expect(target.findBy('Users', 'userName', 'a@b.example')).rejects.toBeInstanceOf(TargetUnavailableError);
      expect(scim.requests()).toEqual([]);
    } finally {
      agent.destroy();
    }
  });

  // Node skips the lookup hook for IP literals: the Agent checks them itself, on every connection it opens.
  it.each(['127.0.0.1', '[::ffff:127.0.0.1]'])('cannot reach a loopback target at the literal %s', async (literal) => {
    const target = new HttpScimTarget({ baseUrl: scim.url.replace('127.0.0.1', literal), token: 't', createAgent: publicOnlyAgent });
    try {
      const refused = target.findBy('Users', 'userName', 'a@b.example');
      await expect(refused).rejects.toBeInstanceOf(TargetUnavailableError);
      await expect(refused).rejects.toMatchObject({ message: expect.stringMatching(/not allowed/) });
      expect(scim.requests()).toEqual([]);
    } finally {
      await target.close();
    }
  });
});

describe('a tenant-given source directory, deployed', () => {
  let connections = 0;
  let listener: Server;
  beforeAll(async () => {
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it.each([
    ['a name resolving to a loopback address', () => 'https://localhost:8443/v1.0'],
    ['an IP literal', () => `https://127.0.0.1:${(listener.address() as AddressInfo).port}/v1.0`],
  ])('is refused at connect time at %s, and the job is quarantined', async (_case, sourceAddress) => {
    const { makeConnectJob } = await import('../../functions/config/connect-job.ts');
    const { SourceUnavailableError } = await import('../../functions/ports/directory-source.ts');
    const { deployedEnvSchema } = await import('../../functions/config/env.ts');
    const env = deployedEnvSchema.parse({
      TABLE_NAME: 't',
      SECRETS_KEY_ID: 'k',
      SCHEDULE_GROUP_NAME: 'g',
      SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
      SYNC_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    });
    const secrets = {
      put: async () => undefined,
      keys: async () => [],
      remove: async () => undefined,
      read: async () => [
        { key: 'BaseAddress', value: 'https://scim.example.com/scim/v2' },
        { key: 'SecretToken', value: 't' },
        { key: 'SourceBaseAddress', value: sourceAddress() },
      ],
    };
    const schemas = { get: async () => null, put: async () => undefined, removeOthers: async () => undefined };
    const { createJob } = await import('../../functions/domain/job-lifecycle.ts');
    const { scimTemplate } = await import('../../functions/domain/templates.ts');
    const job = createJob({ tenantId: 't1', servicePrincipalId: 'sp', template: scimTemplate, intervalMinutes: 5, randomHex32: 'a'.repeat(32), now: new Date().toISOString() });

    const connection = await makeConnectJob(env, secrets, schemas, 'deployed')(job);
    try {
      const read = connection.source.readPage(null);
      await expect(read).rejects.toBeInstanceOf(SourceUnavailableError);
      await expect(read).rejects.toMatchObject({ tenantActionable: true, message: expect.stringMatching(/not allowed/) });
      expect(connections).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
