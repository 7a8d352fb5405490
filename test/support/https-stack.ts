import { rootCertificates } from 'node:tls';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { startTestStack, type TestStack, type TestStackOptions } from './local-stack.ts';

export interface HttpsTestStack extends TestStack {
  /** `https://127.0.0.1:<port>`: the v3 SDK's `baseUrl` (it adds `/v1.0` itself). */
  httpsBaseUrl: string;
  /** `https://127.0.0.1:<port>/v1.0`: the Kiota SDK's `baseUrl`. */
  httpsApiUrl: string;
  /** The local CA that signed the API's certificate, and the file it is in (what NODE_EXTRA_CA_CERTS names). */
  caPem: string;
  caFile: string;
}

/**
 * The local test stack (see startTestStack) with its https listener: the base URLs and the CA a client needs to
 * trust it. The stack always serves https too; this only gathers what a test of an SDK over https reads.
 */
export async function startHttpsTestStack(options: TestStackOptions = {}): Promise<HttpsTestStack> {
  const t = await startTestStack(options);
  return {
    ...t,
    httpsBaseUrl: t.stack.httpsApiUrl.replace(/\/v1\.0$/, ''),
    httpsApiUrl: t.stack.httpsApiUrl,
    caPem: t.stack.caPem,
    caFile: t.stack.caFile,
  };
}

/**
 * Has this process's global fetch (which the Graph SDKs use) trust the local CA besides the usual roots, as
 * `NODE_EXTRA_CA_CERTS=<caFile>` does for a process started with it (Node reads that variable only at start, so a
 * test process cannot set it for itself). Returns the function that puts the previous dispatcher back.
 */
export function trustCaInThisProcess(caPem: string): () => Promise<void> {
  const previous = getGlobalDispatcher();
  const agent = new Agent({ connect: { ca: [...rootCertificates, caPem] } });
  setGlobalDispatcher(agent);
  return async () => {
    setGlobalDispatcher(previous);
    await agent.close();
  };
}
