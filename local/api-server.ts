import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Context } from 'aws-lambda';
import { apiRoutes, fallbackHandler } from '../functions/api/routes.ts';
import { withLocalToken } from '../functions/api/status-page-html.ts';
import { BadRequestError } from '../functions/errors/service-errors.ts';
import { renderServiceError } from '../functions/http/graph-error.ts';
import type { ApiEvent, ApiResult } from '../functions/http/graph-handler.ts';

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** API Gateway's own limit on a request body; larger bodies never reach a Lambda. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

interface CompiledRoute {
  method: string;
  routeKey: string;
  regex: RegExp;
  names: string[];
  name: string;
  handler: Handler;
}

const STATUS_PAGE = 'status-page';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A browser on this machine that addressed the server by a loopback name. The Host check keeps out a site whose
 * name was made to resolve to 127.0.0.1 (DNS rebinding): the page would be same-origin to it, but its Host names it.
 */
function fromThisMachine(request: IncomingMessage): boolean {
  const remote = request.socket.remoteAddress ?? '';
  const host = (request.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  return (remote === '::1' || /^(::ffff:)?127\./.test(remote)) && LOOPBACK_HOSTS.has(host);
}

async function loadHandler(name: string): Promise<Handler> {
  const module = (await import(`../functions/api/${name}.ts`)) as { handler: Handler };
  return module.handler;
}

async function compileRoutes(): Promise<CompiledRoute[]> {
  return Promise.all(
    apiRoutes.map(async (route) => {
      const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
      const regex = new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '([^/]+)')}/?$`);
      return {
        method: route.method,
        routeKey: `${route.method} ${route.path}`,
        regex,
        names,
        name: route.handler,
        handler: await loadHandler(route.handler),
      };
    }),
  );
}

function readBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > GATEWAY_MAX_BODY ? null : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(response: ServerResponse, result: ApiResult): void {
  response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
  response.end(result.body ?? '');
}

export interface ApiServerOptions {
  host: string;
  port: number;
  /**
   * A token the status page is handed when a browser on this machine opens it, so `npm start` needs no pasting.
   * Only locally: the deployed page always asks for one.
   */
  localPageToken?: () => Promise<string>;
  /** Also serve the same routes over https on this port (0: one the OS picks), with this certificate and key. */
  https?: { port: number; cert: string; key: string };
}

/**
 * The https listener: the same request listener behind TLS, so SDKs that send a token only over https (the Graph
 * JS SDK's AuthenticationHandler) reach the very routes the http listener serves.
 */
async function listenHttps(listener: RequestListener, host: string, tls: NonNullable<ApiServerOptions['https']>) {
  const server = createHttpsServer({ cert: tls.cert, key: tls.key }, listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tls.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : tls.port;
  return { server, url: `https://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/**
 * Serves the Lambda handlers over node:http exactly as API Gateway (HTTP API, payload v2) calls them: the matching
 * route, else the fallback route. As deployed, there is no authorizer: each function verifies the bearer token itself.
 */
export async function startApiServer(
  options: ApiServerOptions,
): Promise<{ url: string; httpsUrl?: string; server: Server; close: () => Promise<void> }> {
  const routes = await compileRoutes();
  const fallback = await loadHandler(fallbackHandler);
  // Requests still being handled: closing waits for them, so no handler outlives the stores it talks to.
  const inflight = new Set<Promise<void>>();
  const listener: RequestListener = (request, response) => {
    // handle() answers every failure itself; this only keeps the bookkeeping from ever rejecting.
    const handling: Promise<void> = handle(request, response)
      .catch((error: unknown) => console.error('Answering a request failed', error instanceof Error ? error.message : error))
      .finally(() => inflight.delete(handling));
    inflight.add(handling);
  };
  const server = createServer(listener);
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      // The request target is a path: `//x` must stay one (a URL parsed against a base would take `x` for a host).
      const url = new URL(`http://localhost${(request.url ?? '/').replace(/^(?!\/)/, '/')}`);
      const requestId = randomUUID();
      const method = request.method ?? 'GET';
      let route: CompiledRoute | undefined;
      let match: RegExpExecArray | null = null;
      for (const candidate of routes) {
        if (candidate.method !== method) continue;
        match = candidate.regex.exec(url.pathname);
        if (match) {
          route = candidate;
          break;
        }
      }
      const body = await readBody(request);
      if (body === null) {
        response.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Entity Too Large"}');
        return;
      }
      let path: string;
      try {
        path = decodeURI(url.pathname);
      } catch {
        const clientRequestId = String(request.headers['client-request-id'] ?? randomUUID());
        send(response, renderServiceError(new BadRequestError('The path has a malformed percent escape.'), requestId, clientRequestId));
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]),
      );
      // The links a handler writes (Location, @odata.nextLink) name the scheme and host this request came in on.
      const scheme = (request.socket as TLSSocket).encrypted ? 'https' : 'http';
      const host = headers.host ?? `${options.host}:${request.socket.localPort ?? ''}`;
      const event = {
        version: '2.0',
        routeKey: route?.routeKey ?? 'ANY /{proxy+}',
        rawPath: path,
        rawQueryString: url.search.slice(1),
        headers: { ...headers, 'x-forwarded-proto': scheme },
        queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
        pathParameters: route && match ? Object.fromEntries(route.names.map((name, i) => [name, match[i + 1] ?? ''])) : undefined,
        body: body.length > 0 ? body.toString('utf8') : undefined,
        isBase64Encoded: false,
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: host,
          domainPrefix: host.split('.')[0] ?? host,
          http: { method, path, protocol: 'HTTP/1.1', sourceIp: request.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
          requestId,
          routeKey: route?.routeKey ?? 'ANY /{proxy+}',
          stage: '$default',
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
        },
      } as unknown as ApiEvent;
      const result = await (route?.handler ?? fallback)(event, lambdaContext(route ? 'api' : 'not-found'));
      if (route?.name === STATUS_PAGE && options.localPageToken && fromThisMachine(request) && typeof result.body === 'string') {
        result.body = withLocalToken(result.body, await options.localPageToken());
      }
      send(response, result);
    } catch (error) {
      console.error(error);
      if (response.headersSent) response.destroy();
      else response.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
    }
  }
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let secure: Awaited<ReturnType<typeof listenHttps>> | undefined;
  try {
    secure = options.https ? await listenHttps(listener, options.host, options.https) : undefined;
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const servers = secure ? [server, secure.server] : [server];
  return {
    url: `http://${options.host}:${port}`,
    ...(secure ? { httpsUrl: secure.url } : {}),
    server,
    close: async () => {
      const closed = servers.map((each) => new Promise<void>((resolve) => each.close(() => resolve())));
      for (const each of servers) each.closeIdleConnections();
      await Promise.allSettled([...inflight]);
      for (const each of servers) each.closeAllConnections();
      await Promise.all(closed);
    },
  };
}
