import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureLocalTls } from '../../local/local-tls.ts';
import { startHttpsTestStack } from '../support/https-stack.ts';

const DAY_MS = 24 * 3600 * 1000;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'graph-sync-tls-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const at = (date: Date) => ({ now: () => date });

describe('the local CA and server certificate', () => {
  it('are made on the first start, keys 0600, the server certificate signed by the CA for the loopback names', async () => {
    const dir = await tempDir();
    const tls = await ensureLocalTls(dir);
    expect(tls.created).toEqual({ ca: true, server: true });
    expect(tls.caFile).toBe(path.join(dir, 'tls', 'ca.pem'));
    expect(path.isAbsolute(tls.caFile)).toBe(true);
    expect(await readFile(tls.caFile, 'utf8')).toBe(tls.caPem);
    for (const key of ['ca-key.pem', 'server-key.pem']) expect((await stat(path.join(dir, 'tls', key))).mode & 0o777).toBe(0o600);

    const ca = new X509Certificate(tls.caPem);
    const server = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBeDefined();
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('example.com')).toBeUndefined();
  });

  it('are reused on the next start, unchanged', async () => {
    const dir = await tempDir();
    const first = await ensureLocalTls(dir);
    const again = await ensureLocalTls(dir);
    expect(again.created).toEqual({ ca: false, server: false });
    expect(again).toMatchObject({ caPem: first.caPem, certPem: first.certPem, keyPem: first.keyPem });
  });

  it('keep the CA when the server certificate nears its end, or must cover another HOST', async () => {
    const dir = await tempDir();
    const first = await ensureLocalTls(dir);
    const later = await ensureLocalTls(dir, { clock: at(new Date(Date.now() + 800 * DAY_MS)) });
    expect(later.created).toEqual({ ca: false, server: true });
    expect(later.caPem).toBe(first.caPem);
    expect(later.certPem).not.toBe(first.certPem);

    const named = await ensureLocalTls(dir, { host: 'graph-sync.test' });
    expect(named.created).toEqual({ ca: false, server: true });
    expect(named.caPem).toBe(first.caPem);
    expect(new X509Certificate(named.certPem).checkHost('graph-sync.test')).toBe('graph-sync.test');
    expect(new X509Certificate(named.certPem).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('are made again, CA and all, when the CA is unreadable', async () => {
    const dir = await tempDir();
    const first = await ensureLocalTls(dir);
    await writeFile(first.caFile, first.caPem.slice(0, 100));
    const again = await ensureLocalTls(dir);
    expect(again.created).toEqual({ ca: true, server: true });
    expect(again.caPem).not.toBe(first.caPem);
    expect(new X509Certificate(again.certPem).verify(new X509Certificate(again.caPem).publicKey)).toBe(true);
  });

  it('are what the https listener serves, the same after a restart on the same data folder', async () => {
    const dir = await tempDir();
    const served: string[] = [];
    const cas: string[] = [];
    for (let start = 0; start < 2; start += 1) {
      const t = await startHttpsTestStack({ dataDir: dir });
      try {
        const url = new URL(t.httpsApiUrl);
        const fingerprint = await new Promise<string>((resolve, reject) => {
          // Only the local CA is trusted here: the handshake succeeds only with a certificate it signed.
          const socket = connect({ host: url.hostname, port: Number(url.port), ca: t.caPem, servername: 'localhost' }, () => {
            resolve(socket.getPeerX509Certificate()!.fingerprint256);
            socket.end();
          });
          socket.on('error', reject);
        });
        served.push(fingerprint);
        cas.push(t.caPem);
        expect(fingerprint).toBe(new X509Certificate(await readFile(path.join(dir, 'tls', 'server.pem'), 'utf8')).fingerprint256);
      } finally {
        await t.close(true);
      }
    }
    expect(served[1]).toBe(served[0]);
    expect(cas[1]).toBe(cas[0]);
  });
});
