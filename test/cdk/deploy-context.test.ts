import { describe, expect, it } from 'vitest';
import { parseDeployContext } from '../../lib/deploy-context.ts';

const readFrom = (values: Record<string, string>) => (key: string) => values[key];

describe('deploy context', () => {
  it('splits and trims the audience list', () => {
    // `-c audience="api://a, b"` must yield two audiences, not one with a comma in it.
    expect(parseDeployContext(readFrom({ audience: 'api://a, b ,' })).audience).toEqual(['api://a', 'b']);
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
    ['a negative worker concurrency', { workerConcurrency: '-1' }, 'workerConcurrency'],
    ['a fractional worker concurrency', { workerConcurrency: '2.5' }, 'workerConcurrency'],
  ])('refuses %s, naming the value', (_name, values, key) => {
    // A typo must stop the synth, not deploy an API that accepts no token or a worker that cannot authenticate.
    expect(() => parseDeployContext(readFrom(values))).toThrow(key);
  });
});
