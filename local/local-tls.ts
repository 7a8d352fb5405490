// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { systemClock, type Clock } from '../functions/ports/clock.ts';
import { writeFileDurably } from './durable-file.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
const CA_DAYS = 10 * 365;
const SERVER_DAYS = 825;
/** A certificate this close to its end is replaced at start, so a running stack never serves an expired one. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** The names every local certificate covers; the configured HOST is added when it is another name. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export interface LocalTls {
  /** Absolute path of the CA certificate: what `NODE_EXTRA_CA_CERTS` (or a client's `ca` option) points at. */
  caFile: string;
  caPem: string;
  /** The server certificate and its private key, for `https.createServer`. */
  certPem: string;
  keyPem: string;
  /** The names the server certificate covers. */
  names: string[];
  /** What this call had to make; both false when the files from an earlier start were reused. */
  created: { ca: boolean; server: boolean };
}

export interface LocalTlsOptions {
  /** The address the API listens on (HOST); covered by the server certificate besides the loopback names. */
  host?: string;
  clock?: Clock;
}

function files(dataDir: string) {
  const dir = path.join(dataDir, 'tls');
  return {
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server-key.pem'),
  };
}

async function readIfThere(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The certificate, when it parses, belongs to the key, and is good for a while yet at `now`. */
function usable(certPem: string | null, keyPem: string | null, now: Date): X509Certificate | null {
  if (certPem === null || keyPem === null) return null;
  try {
    const cert = new X509Certificate(certPem);
    const fresh = new Date(cert.validFrom) <= now && now.getTime() < new Date(cert.validTo).getTime() - RENEW_BEFORE_MS;
    return fresh && cert.checkPrivateKey(createPrivateKey(keyPem)) ? cert : null;
  } catch {
    return null; // a half-written or foreign file: made again
  }
}

function covers(cert: X509Certificate, names: string[]): boolean {
  return names.every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined);
}

/** A positive serial number of 16 random bytes, as RFC 5280 asks of a CA (unpredictable, at most 20 bytes). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function makeCa(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=graph-sync-jobs local CA, O=graph-sync-jobs',
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: EC,
    extensions: [
      // pathLength 0: it signs the local server's certificate, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function makeServerCert(caPem: string, caKeyPem: string, names: string[], now: Date): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeys();
  const ca = new x509.X509Certificate(caPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=localhost, O=graph-sync-jobs',
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + SERVER_DAYS * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(caKeyPem),
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((name) => ({ type: isIP(name) ? ('ip' as const) : ('dns' as const), value: name }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * The local CA and the API's server certificate, in `<dataDir>/tls/`: made on the first start, reused after, so
 * that the CA a user once trusted (`NODE_EXTRA_CA_CERTS`) stays the one. A server certificate near its end, or
 * one that does not cover the configured host, is made again with the same CA; the CA itself only when it is
 * missing, unreadable or near its end. Private keys are written 0600.
 */
export async function ensureLocalTls(dataDir: string, options: LocalTlsOptions = {}): Promise<LocalTls> {
  const now = (options.clock ?? systemClock).now();
  const paths = files(path.resolve(dataDir));
  const host = options.host?.replace(/^\[(.*)\]$/, '$1');
  const names = [...LOOPBACK_NAMES, ...(host && !['0.0.0.0', '::', ...LOOPBACK_NAMES].includes(host) ? [host] : [])];

  let caPem = await readIfThere(paths.caCert);
  let caKeyPem = await readIfThere(paths.caKey);
  const ca = usable(caPem, caKeyPem, now);
  const created = { ca: ca === null, server: false };
  if (ca === null || caPem === null || caKeyPem === null) {
    ({ certPem: caPem, keyPem: caKeyPem } = await makeCa(now));
    // The key first: a crash between the two writes leaves a certificate that fails checkPrivateKey, made again.
    await writeFileDurably(paths.caKey, caKeyPem, 0o600);
    await writeFileDurably(paths.caCert, caPem);
  }

  let certPem = await readIfThere(paths.serverCert);
  let keyPem = await readIfThere(paths.serverKey);
  const server = created.ca ? null : usable(certPem, keyPem, now);
  if (server === null || !server.verify(new X509Certificate(caPem).publicKey) || !covers(server, names) || certPem === null || keyPem === null) {
    ({ certPem, keyPem } = await makeServerCert(caPem, caKeyPem, names, now));
    await writeFileDurably(paths.serverKey, keyPem, 0o600);
    await writeFileDurably(paths.serverCert, certPem);
    created.server = true;
  }
  return { caFile: paths.caCert, caPem, certPem, keyPem, names, created };
}
