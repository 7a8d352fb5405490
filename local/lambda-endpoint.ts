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
  /** Told of every failed invocation (the handler threw), however it was invoked, as Lambda logs one. */
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
      // A handler that throws, even synchronously, is a failed invocation: reported, never a crash of the server.
      const invocation = Promise.resolve(payload).then(target);
      if (request.headers['x-amz-invocation-type'] === 'Event') {
        response.writeHead(202).end();
        invocation.catch(options.onError);
        return;
      }
      invocation.then(
        (result) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result ?? null)),
        (error: unknown) => {
          options.onError(error);
          response
            .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
            .end(JSON.stringify({ errorType: (error as Error)?.name ?? 'Error', errorMessage: String((error as Error)?.message ?? error) }));
        },
      ).catch(options.onError);
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
