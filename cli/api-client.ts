import { z } from 'zod';

/** A Graph error answer ({"error":{"code","message"}}) or, from a proxy in front of the API, any other non-2xx. */
export class GraphApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API could not be reached at all (refused, unknown host, reset). */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url} (${reason})`);
  }
}

/** A failure the user can act on, shown as it is (one line). */
export class CliError extends Error {}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** The API's versioned base, e.g. http://127.0.0.1:3000/v1.0 (no trailing slash). */
  baseUrl: string;
  /** Asked once, on the first request: issuing a local token is not free and an unused one is not needed. */
  token: () => Promise<string>;
  fetch: FetchLike;
}

export interface ApiAnswer {
  status: number;
  json: unknown;
}

const graphErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
/** API Gateway's own refusals (its JWT authorizer, throttling) carry only a message. */
const gatewayErrorBodySchema = z.object({ message: z.string() });

/** Graph's bodies are JSON; a 204 (and a proxy's odd answer) may have none. */
function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** fetch's TypeError carries in `cause` why no HTTP answer came back at all (ECONNREFUSED, ENOTFOUND, …). */
function transportReason(error: unknown): string | null {
  if (!(error instanceof TypeError)) return null;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return typeof cause?.message === 'string' ? cause.message : null;
}

export function makeApiClient(options: ApiClientOptions) {
  let token: Promise<string> | undefined;

  /** `target` is a path under the base (`/servicePrincipals/...`) or an absolute URL (an `@odata.nextLink`). */
  async function request(method: string, target: string, body?: unknown): Promise<ApiAnswer> {
    const url = /^https?:\/\//i.test(target) ? target : `${options.baseUrl}${target}`;
    token ??= options.token();
    const headers: Record<string, string> = { authorization: `Bearer ${await token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await options.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      const reason = transportReason(error);
      if (reason === null) throw error;
      throw new UnreachableError(options.baseUrl, reason);
    }
    const json = parseJson(await response.text());
    if (response.ok) return { status: response.status, json };
    const graph = graphErrorBodySchema.safeParse(json);
    if (graph.success) throw new GraphApiError(response.status, graph.data.error.code, graph.data.error.message);
    const gateway = gatewayErrorBodySchema.safeParse(json);
    const message = gateway.success ? gateway.data.message : `${method} ${new URL(url).pathname} ${response.statusText}`.trim();
    throw new GraphApiError(response.status, `HTTP ${response.status}`, message);
  }

  return {
    baseUrl: options.baseUrl,
    request,
    get: (target: string) => request('GET', target),
    post: (target: string, body?: unknown) => request('POST', target, body),
    put: (target: string, body?: unknown) => request('PUT', target, body),
  };
}

export type ApiClient = ReturnType<typeof makeApiClient>;
