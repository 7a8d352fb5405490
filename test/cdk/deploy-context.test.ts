import { describe, expect, it } from 'vitest';
import { parseDeployContext } from '../../lib/deploy-context.ts';

const readFrom = (values: Record<string, string>) => (key: string) => values[key];

describe('deploy context', () => {
  it('splits and trims the audience list', () => {
    // `-c audience="api://a, b"` must yield two audiences, not one with a comma in it.
    expect(parseDeployContext(readFrom({ audience: 'api://a, b ,' })).audience).toEqual(['api://a', 'b']);
  });

  it('reads tenants as a list, or any', () => {
    expect(parseDeployContext(readFrom({ tenants: 'aaaa-1, bbbb-2' })).tenants).toEqual(['aaaa-1', 'bbbb-2']);
    expect(parseDeployContext(readFrom({ tenants: 'any', appIds: 'app-1' }))).toMatchObject({ tenants: 'any', appIds: ['app-1'] });
  });

  it.each([
    ['a v2 issuer', 'https://login.microsoftonline.com/t-1/v2.0', {}],
    ['a v1 issuer', 'https://sts.windows.net/t-1/', {}],
    ['a national cloud v2 issuer', 'https://login.microsoftonline.us/t-1/v2.0', { loginBaseUrl: 'https://login.microsoftonline.us' }],
  ])('reads %s as its one tenant, as deployments before tenants did', (_name, issuer, extra) => {
    // `-c issuer=… -c audience=…` of an existing deployment keeps meaning the same single tenant.
    expect(parseDeployContext(readFrom({ issuer }))).toEqual({ stackName: 'GraphSyncJobs', tenants: ['t-1'], workerConcurrency: 200, ...extra });
  });

  it('reserves 200 for the worker unless told otherwise, and 0 reserves none', async () => {
    // Without a reservation a burst of runs can take the whole account pool from the API.
    expect(parseDeployContext(readFrom({})).workerConcurrency).toBe(200);
    expect(parseDeployContext(readFrom({ workerConcurrency: '50' })).workerConcurrency).toBe(50);
    const { synthesize } = await import('./synth.ts');
    const { template } = synthesize({ workerConcurrency: '0' });
    const reserved = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) => fn.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([]);
  });

  it.each([
    ['an http issuer', { issuer: 'http://login.microsoftonline.com/t/v2.0' }, 'issuer'],
    ['a secret without its client id', { sourceClientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf' }, 'sourceClientId'],
    ['a secret that is not a Secrets Manager ARN', { sourceClientId: 'c', sourceClientSecretArn: 'arn:aws:s3:::bucket' }, 'sourceClientSecretArn'],
    ['a flexible window beyond a day', { flexibleWindowMinutes: '1441' }, 'flexibleWindowMinutes'],
    ['any tenant without an app allow-list', { tenants: 'any' }, 'appIds'],
    ['a tenant that is not an id', { tenants: 'contoso.onmicrosoft.com' }, 'tenants'],
    ['an issuer and tenants together', { issuer: 'https://login.microsoftonline.com/t/v2.0', tenants: 't' }, 'issuer'],
    ['an issuer that is not Entra\'s', { issuer: 'https://login.microsoftonline.com/common/oauth2/v2.0' }, 'issuer'],
    ['a negative worker concurrency', { workerConcurrency: '-1' }, 'workerConcurrency'],
    ['a fractional worker concurrency', { workerConcurrency: '2.5' }, 'workerConcurrency'],
  ])('refuses %s, naming the value', (_name, values, key) => {
    // A typo must stop the synth, not deploy an API that accepts no token or a worker that cannot authenticate.
    expect(() => parseDeployContext(readFrom(values))).toThrow(key);
  });
});
