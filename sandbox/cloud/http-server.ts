/**
 * The stand-in's HTTP face: plain HTTP on loopback. Everything under `/__sandbox/` is for humans, the demo
 * and the SDK's credential chain; every other request is an API call for the gateway.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SignedRequest } from './authentication.js';
import type { GatewayAnswer } from './gateway.js';

/** Far above any real call (they carry their parameters in the query), small enough to refuse a flood. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface SandboxRoutes {
  callApi(request: SignedRequest): Promise<GatewayAnswer>;
  inventory(): unknown;
  /** An STS triple in the shape `ALIBABA_CLOUD_CREDENTIALS_URI` providers expect. */
  issueCredentials(): unknown;
}

export function createSandboxServer(routes: SandboxRoutes, onError: (error: unknown) => void): Server {
  return createServer((request, response) => {
    serve(routes, request, response).catch((error: unknown) => {
      onError(error);
      if (!response.headersSent)
        sendJson(
          response,
          500,
          {},
          { RequestId: randomUUID().toUpperCase(), Code: 'InternalError', Message: 'the sandbox failed to answer' },
        );
      else response.destroy();
    });
  });
}

async function serve(routes: SandboxRoutes, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://sandbox.invalid');
  const body = await readBody(request);
  if (body === undefined) {
    sendJson(response, 413, {}, { Code: 'RequestEntityTooLarge', Message: `the body exceeds ${MAX_BODY_BYTES} bytes` });
    return;
  }
  if (url.pathname.startsWith('/__sandbox/')) {
    if (request.method === 'GET' && url.pathname === '/__sandbox/inventory')
      return sendJson(response, 200, {}, routes.inventory());
    if (request.method === 'GET' && url.pathname === '/__sandbox/credentials')
      return sendJson(response, 200, {}, routes.issueCredentials());
    return sendJson(
      response,
      404,
      {},
      { Code: 'NotFound', Message: `no sandbox route ${request.method} ${url.pathname}` },
    );
  }

  const contentType = request.headers['content-type'] ?? '';
  const form = contentType.startsWith('application/x-www-form-urlencoded')
    ? [...new URLSearchParams(body.toString('utf8'))]
    : [];
  const answer = await routes.callApi({
    method: request.method ?? 'GET',
    pathname: url.pathname,
    query: [...url.searchParams],
    form,
    headers: request.headers,
    body,
  });
  if (answer.transportFault === 'ConnectionReset') {
    request.socket.destroy();
    return;
  }
  if (answer.transportFault === 'BadGateway') {
    response.writeHead(502, { 'content-type': 'text/html' });
    response.end('<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>');
    return;
  }
  sendJson(response, answer.status, answer.headers, answer.body);
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    // The gateway's exact value; the SDK reads JSON whatever the type, but humans and curl like it right.
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
