import { createServer } from 'node:http';

export type InvokeTarget = (payload: unknown) => Promise<unknown>;

/**
 * The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the local stack, so the production
 * LambdaSyncTrigger runs unchanged. `Event` invocations answer 202 at once and run in the background, as in AWS.
 */
export async function startLambdaEndpoint(options: {
  host: string;
  port: number;
  functions: Record<string, InvokeTarget>;
  onError: (error: unknown) => void;
}) {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(request.url?.split('?')[0] ?? '');
      const name = match?.[1] ? decodeURIComponent(match[1]).split(':function:').pop()?.split(':')[0] : undefined;
      const target = name ? options.functions[name] : undefined;
      if (request.method !== 'POST' || !target) {
        response
          .writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' })
          .end(JSON.stringify({ Type: 'User', Message: `Function not found: ${name ?? request.url}` }));
        return;
      }
      let payload: unknown;
      try {
        payload = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        response
          .writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'InvalidRequestContentException' })
          .end(JSON.stringify({ Type: 'User', Message: 'Could not parse request body into json' }));
        return;
      }
      if (request.headers['x-amz-invocation-type'] === 'Event') {
        response.writeHead(202).end();
        target(payload).catch(options.onError);
        return;
      }
      target(payload).then(
        (result) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result ?? null)),
        (error: unknown) =>
          response
            .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
            .end(JSON.stringify({ errorMessage: String((error as Error)?.message ?? error) })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
