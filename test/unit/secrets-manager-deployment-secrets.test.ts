import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerDeploymentSecrets } from '../../functions/adapters/secrets-manager/secrets-manager-deployment-secrets.ts';
import { makeConnectJob } from '../../functions/config/connect-job.ts';
import { deployedEnvForTests } from '../support/deployed-env.ts';
import { createJob } from '../../functions/domain/job-lifecycle.ts';
import { findTemplate } from '../../functions/domain/templates.ts';
import type { Clock } from '../../functions/ports/clock.ts';
import type { SecretsVault } from '../../functions/ports/secrets-vault.ts';

const secretsManager = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:source-client-secret-AbCdEf';
const TTL_MS = 5 * 60_000;

function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let time = start;
  const clock: Clock = { now: () => new Date(time) };
  return { clock, advance: (ms: number) => void (time += ms) };
}

function secretsWith(clock: Clock) {
  return new SecretsManagerDeploymentSecrets({ client: new SecretsManagerClient({}), ttlMs: TTL_MS, clock });
}

const calls = () => secretsManager.commandCalls(GetSecretValueCommand).length;


/** The worker's connect as deployed (the source app's secret in Secrets Manager) and a job of the SCIM template. */
function deployedConnect(overrides: Record<string, string> = {}) {
  const env = deployedEnvForTests({ SOURCE_CLIENT_ID: '11111111-2222-3333-4444-555555555555', SOURCE_CLIENT_SECRET_ARN: ARN, ...overrides });
  const vault: SecretsVault = {
    put: async () => undefined,
    keys: async () => ['BaseAddress', 'SecretToken'],
    read: async () => [
      { key: 'BaseAddress', value: 'https://scim.example.com/scim/v2' },
      { key: 'SecretToken', value: 'target-token' },
    ],
    remove: async () => undefined,
  };
  const schemas = { get: async () => null, put: async () => undefined, removeOthers: async () => undefined };
  const job = createJob({
    tenantId: '00000000-0000-4000-8000-000000000001',
    servicePrincipalId: 'sp',
    template: findTemplate('scim')!,
    intervalMinutes: 5,
    randomHex32: 'a'.repeat(32),
    now: '2026-01-01T00:00:00.000Z',
  });
  return { connect: makeConnectJob(env, vault, schemas, 'deployed'), job };
}

describe('SecretsManagerDeploymentSecrets', () => {
  beforeEach(() => secretsManager.reset());

  it('reads the secret by id and reuses it within the TTL, one call for concurrent reads', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'client-secret-1' });
    const { clock, advance } = manualClock();
    const secrets = secretsWith(clock);
    expect(await Promise.all([secrets.read(ARN), secrets.read(ARN)])).toEqual(['client-secret-1', 'client-secret-1']);
    advance(TTL_MS - 1);
    expect(await secrets.read(ARN)).toBe('client-secret-1');
    expect(calls()).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN });
  });

  it('does not keep a failure: the next read after a rejection asks again and succeeds', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: 'client-secret-1' });
    const secrets = secretsWith(manualClock().clock);
    await expect(secrets.read(ARN)).rejects.toThrow('Rate exceeded');
    expect(await secrets.read(ARN)).toBe('client-secret-1');
    expect(await secrets.read(ARN)).toBe('client-secret-1');
    expect(calls()).toBe(2);
  });

  it('reads again once the TTL is over, so a rotated secret is picked up', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'before-rotation' })
      .resolves({ SecretString: 'after-rotation' });
    const { clock, advance } = manualClock();
    const secrets = secretsWith(clock);
    expect(await secrets.read(ARN)).toBe('before-rotation');
    advance(TTL_MS);
    expect(await secrets.read(ARN)).toBe('after-rotation');
    expect(calls()).toBe(2);
  });

  it('refuses a secret without a SecretString, and does not keep that either', async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretBinary: new Uint8Array([1]) }).resolves({ SecretString: 's' });
    const secrets = secretsWith(manualClock().clock);
    await expect(secrets.read(ARN)).rejects.toThrow(/no SecretString/);
    expect(await secrets.read(ARN)).toBe('s');
  });
});

describe("connect: the deployment's source client secret", () => {
  beforeEach(() => secretsManager.reset());

  it('is read again on the next tick after a failed read, instead of failing every tick of the container', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .resolves({ SecretString: 'client-secret-1' });
    // The default adapter, as the worker builds it: the mock stands in for every SecretsManagerClient.
    const { connect, job } = deployedConnect();

    await expect(connect(job)).rejects.toThrow('socket hang up');
    const connection = await connect(job);
    await connection.close();
    expect(calls()).toBe(2);
  });
});

describe('connect: the source token across ticks', () => {
  beforeEach(() => secretsManager.reset());

  it("asks the identity platform once for many ticks of a warm worker (the token outlives each tick's connection)", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'client-secret-1' });
    const seen: string[] = [];
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
      const body = request.url!.includes('/oauth2/') ? { token_type: 'Bearer', expires_in: 3600, access_token: `token-${seen.length}` } : {};
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { connect, job } = deployedConnect({ SOURCE_LOGIN_BASE_URL: base, SOURCE_GRAPH_BASE_URL: `${base}/v1.0` });
      for (let tick = 0; tick < 5; tick += 1) {
        const connection = await connect(job);
        expect(await connection.notifications!.subscriptions.renew('sub', '2026-01-01T01:00:00Z')).toBe(true);
        await connection.close();
      }
      expect(seen.filter((line) => line.includes('/oauth2/'))).toEqual([`POST /00000000-0000-4000-8000-000000000001/oauth2/v2.0/token `]);
      expect(seen.filter((line) => line.includes('/subscriptions/'))).toEqual(Array(5).fill('PATCH /v1.0/subscriptions/sub Bearer token-1'));
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
