import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueLocalToken } from '../local/local-auth.ts';
import { localEnvSchema } from '../local/local-config.ts';
import { DEMO_SERVICE_PRINCIPAL_ID } from '../local/directory/demo-seed.ts';
import { CliError } from './api-client.ts';

/** `npm start` runs in the repository root, so its relative LOCAL_DATA_DIR is taken from there, not from the cwd. */
const REPOSITORY_ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

const localSettingsSchema = localEnvSchema.pick({ PORT: true, LOCAL_DATA_DIR: true });

export interface Connection {
  /** The API's versioned base, without a trailing slash. */
  baseUrl: string;
  servicePrincipalId: string;
  /** Whether the API is on this machine (a refused connection then means the local stack is not running). */
  loopback: boolean;
  token: () => Promise<string>;
}

function localSettings(env: NodeJS.ProcessEnv) {
  const parsed = localSettingsSchema.safeParse(env);
  if (!parsed.success) throw new CliError(`invalid ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')} in the environment`);
  return parsed.data;
}

export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `--url`/`--sp` or their defaults; the token from GRAPH_SYNC_TOKEN, else one the local stack accepts. */
export function resolveConnection(options: { url?: string; sp?: string }, env: NodeJS.ProcessEnv): Connection {
  const raw = options.url ?? `http://127.0.0.1:${localSettings(env).PORT}/v1.0`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--url '${raw}' is not a URL (e.g. http://127.0.0.1:3000/v1.0)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--url '${raw}' is not an http(s) URL`);
  const loopback = isLoopback(url);
  const given = env.GRAPH_SYNC_TOKEN?.trim();
  const token = async (): Promise<string> => {
    if (given) return given;
    if (!loopback) throw new CliError(`set GRAPH_SYNC_TOKEN to a bearer token for ${url.origin} (a local token is issued only for a loopback --url)`);
    return issueLocalToken(path.resolve(REPOSITORY_ROOT, localSettings(env).LOCAL_DATA_DIR));
  };
  return {
    baseUrl: raw.replace(/\/+$/, ''),
    servicePrincipalId: options.sp ?? env.GRAPH_SYNC_SP ?? DEMO_SERVICE_PRINCIPAL_ID,
    loopback,
    token,
  };
}
