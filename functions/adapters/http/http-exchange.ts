import * as http from 'node:http';
import * as https from 'node:https';

/**
 * Makes the keep-alive Agent for one protocol (`http:` or `https:`): the URL's scheme decides whether node:http or
 * node:https sends a request, and each takes only its own kind of Agent.
 */
export type AgentFactory = (protocol: string, options: https.AgentOptions) => http.Agent;

/** Node's own Agents, connecting wherever DNS says. */
export const plainAgent: AgentFactory = (protocol, options) => (protocol === 'https:' ? new https.Agent(options) : new http.Agent(options));

/** An answer, read whole. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  agent: http.Agent;
  /** The longest the connection may stay silent: connecting, waiting for the headers, between body chunks. */
  timeoutMs?: number;
  /** Ends the request, and the reading of its answer, with the signal's reason. */
  signal?: AbortSignal;
  /** The largest answer body read, in bytes ({@link MAX_ANSWER_BYTES} unless told): a larger one fails the request. */
  maxAnswerBytes?: number;
}

/**
 * Far above any page a directory or a SCIM target sends (Graph's 999 users a page are about 2 MB), and far below the
 * worker's memory: an answer that does not end must not end the worker.
 */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const tooLarge = (maxBytes: number) => new RangeError(`the answer was larger than ${maxBytes} bytes`);

const timedOut = (ms: number) => new DOMException(`no answer for ${ms} ms`, 'TimeoutError');

/**
 * One request by node:http(s) through `agent` to `path` (sent as it is: no dot segment is resolved) at `origin`,
 * and its whole answer as text. No redirect is followed (one could carry
 * the bearer token elsewhere). A silence longer than `timeoutMs` and an aborted `signal` end it with a `TimeoutError`
 * (the signal: with its reason), which transport-errors.ts reads as a timeout; connection failures keep Node's codes.
 */
export function exchange(origin: URL, path: string, request: HttpRequest): Promise<HttpAnswer> {
  const send = origin.protocol === 'https:' ? https.request : http.request;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const { signal, timeoutMs, body } = request;
    let answer: http.IncomingMessage | undefined;
    const fail = (error: unknown) => {
      reject(error);
      answer?.destroy(error as Error);
      outgoing.destroy(error as Error);
    };
    const abort = () => fail(signal?.reason);
    if (signal?.aborted) return reject(signal.reason);
    const outgoing = send(origin, {
      path,
      method: request.method,
      agent: request.agent,
      headers: body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(body)) },
      // Set on the socket before it connects, and again on a pooled socket when this request takes it.
      ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
    });
    signal?.addEventListener('abort', abort, { once: true });
    const done = () => signal?.removeEventListener('abort', abort);
    outgoing.on('timeout', () => fail(timedOut(timeoutMs ?? 0)));
    outgoing.on('error', (error) => {
      done();
      reject(error);
    });
    outgoing.on('response', (incoming) => {
      answer = incoming;
      readText(incoming, request.maxAnswerBytes ?? MAX_ANSWER_BYTES).then(
        (text) => {
          done();
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text });
        },
        (error: unknown) => {
          done();
          // Destroys the connection too: an answer left unread must not go back to the pool.
          fail(error);
        },
      );
    });
    outgoing.end(body);
  });
}

async function readText(incoming: http.IncomingMessage, maxBytes: number): Promise<string> {
  if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of incoming) {
    bytes += (chunk as Buffer).byteLength;
    if (bytes > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, bytes).toString('utf8');
}

/** Requests in flight, so that closing their Agent can wait for them to end rather than cut them off. */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  track<T>(request: Promise<T>): Promise<T> {
    this.pending.add(request);
    const done = () => this.pending.delete(request);
    request.then(done, done);
    return request;
  }

  /** Resolves once every request tracked so far has ended, however it ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/** Statuses whose Response may not carry a body, however empty. */
const bodyless = new Set([101, 204, 205, 304]);

/**
 * `fetch` over {@link exchange}, through Agents `agentFor` makes (one per protocol, on first use; {@link close}
 * destroys them once the requests in flight have ended): for a client written against fetch that must connect
 * through its own Agents. Requests are sent
 * as {@link exchange} sends them: a redirect is answered, never followed, whatever `init.redirect` says.
 */
export class AgentFetch {
  private readonly agents = new Map<string, http.Agent>();
  private readonly inFlight = new InFlight();

  constructor(
    private readonly agentFor: AgentFactory,
    private readonly options: https.AgentOptions = { keepAlive: true },
  ) {}

  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') throw new TypeError('AgentFetch sends text bodies only');
    let agent = this.agents.get(url.protocol);
    if (agent === undefined) {
      agent = this.agentFor(url.protocol, this.options);
      this.agents.set(url.protocol, agent);
    }
    const answer = await this.inFlight.track(exchange(url, `${url.pathname}${url.search}`, {
      method: init.method ?? 'GET',
      headers: Object.fromEntries(new Headers(init.headers)),
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
      agent,
      ...(init.signal ? { signal: init.signal } : {}),
    }));
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const each of [value ?? []].flat()) headers.append(name, each);
    }
    return new Response(bodyless.has(answer.status) ? null : answer.text, { status: answer.status, headers });
  };

  async close(): Promise<void> {
    await this.inFlight.settled();
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
