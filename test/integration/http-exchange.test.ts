import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentFetch, exchange, plainAgent } from '../../functions/adapters/http/http-exchange.ts';
import { describeFailure } from '../../functions/adapters/http/transport-errors.ts';

describe('AgentFetch: fetch over node:http through its own Agents', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<unknown>();
  beforeAll(async () => {
    server = createServer((request, response) => {
      sockets.add(request.socket);
      if (request.url === '/moved') return void response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      if (request.url === '/silent') return;
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        response.setHeader('set-cookie', ['a=1', 'b=2']);
        response.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
        response.end(JSON.stringify({ method: request.method, path: request.url, auth: request.headers.authorization, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, path, headers and body, and answers status, headers and text; connections are kept alive', async () => {
    const client = new AgentFetch(plainAgent);
    try {
      for (const _ of [1, 2]) {
        const response = await client.fetch(`${base}/v1.0/users?$top=1`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: '{"x":1}' });
        expect(response.status).toBe(429);
        expect(response.headers.get('retry-after')).toBe('7');
        expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
        expect(JSON.parse(await response.text())).toEqual({ method: 'POST', path: '/v1.0/users?$top=1', auth: 'Bearer t', body: '{"x":1}' });
      }
      expect(sockets.size).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('answers a redirect without following it', async () => {
    const client = new AgentFetch(plainAgent);
    try {
      const response = await client.fetch(`${base}/moved`, { redirect: 'follow' });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('http://127.0.0.1:1/elsewhere');
    } finally {
      await client.close();
    }
  });

  it('ends a request when its signal aborts, as a timeout when the signal timed out', async () => {
    const client = new AgentFetch(plainAgent);
    try {
      const failure = client.fetch(`${base}/silent`, { signal: AbortSignal.timeout(50) });
      await expect(failure).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(describeFailure(await failure.catch((error: unknown) => error))).toBe('the request timed out');
    } finally {
      await client.close();
    }
  });
});

describe('exchange: the size of an answer', () => {
  let server: Server;
  let origin: URL;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunk = 'x'.repeat(1_000);
      if (request.url === '/huge') {
        const block = Buffer.alloc(64 * 1024, 'x');
        response.writeHead(200);
        for (let i = 0; i < 256; i += 1) response.write(block);
        return void response.end('x');
      }
      if (request.url === '/declared') return void response.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5_000));
      // Chunked, with no length announced: counted as it arrives.
      response.writeHead(200);
      for (let i = 0; i < 5; i += 1) response.write(chunk);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string, maxAnswerBytes?: number) =>
    exchange(origin, path, { method: 'GET', headers: {}, agent: new Agent({ keepAlive: true }), ...(maxAnswerBytes === undefined ? {} : { maxAnswerBytes }) });

  it.each(['/declared', '/streamed'])('reads an answer %s up to the limit, and fails one above it with a message that says so', async (path) => {
    expect((await get(path, 5_000)).text).toHaveLength(5_000);
    const failure = await get(path, 4_999).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RangeError);
    expect(describeFailure(failure)).toBe('the request failed (the answer was larger than 4999 bytes)');
  });

  it('holds every answer to 16 MiB unless told otherwise', async () => {
    const failure = await get('/huge').catch((error: unknown) => error);
    expect(describeFailure(failure)).toBe(`the request failed (the answer was larger than ${16 * 1024 * 1024} bytes)`);
  });
});
