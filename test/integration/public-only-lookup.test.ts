import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicOnlyLookup } from '../../functions/adapters/net/public-only-lookup.ts';
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

describe('a SCIM target behind the deployed dispatcher', () => {
  let scim: LocalScimService;
  beforeAll(async () => {
    scim = await startLocalScimService({ host: '127.0.0.1', port: 0, token: 't', recordRequests: true });
  });
  afterAll(async () => scim?.close());

  it('cannot reach a loopback target: the job is quarantined, nothing is sent', async () => {
    const dispatcher = new Agent({ connect: { lookup: publicOnlyLookup } });
    const target = new HttpScimTarget({ baseUrl: scim.url.replace('127.0.0.1', 'localhost'), token: 't', dispatcher });
    try {
      await expect(target.findBy('Users', 'userName', 'a@b.example')).rejects.toBeInstanceOf(TargetUnavailableError);
      expect(scim.requests()).toEqual([]);
    } finally {
      await dispatcher.close();
    }
  });
});
