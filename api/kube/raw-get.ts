/**
 * A GET straight to the apiserver with the KubeConfig's TLS and credentials, for the list-watch. client-node's
 * Watch cannot be aborted before the response headers arrive (it hands out its AbortController only then)
 * and hides the Status of a non-200 answer; a request of our own has neither problem.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export type QueryParams = Record<string, string | number | boolean | undefined>;

export interface OpenResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

export function apiUrl(kubeConfig: KubeConfig, path: string, query: QueryParams): URL {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  return url;
}

/** Sends the GET and resolves once the status line and headers are in; the body is the caller's to read. */
export async function openGet(
  kubeConfig: KubeConfig,
  path: string,
  query: QueryParams,
  signal: AbortSignal,
): Promise<OpenResponse> {
  const url = apiUrl(kubeConfig, path, query);
  // Re-applied per request: an in-cluster token file rotates, and exec credentials expire.
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  signal.throwIfAborted();
  const agent = options.agent as http.Agent | undefined;
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise<OpenResponse>((resolve, reject) => {
    const req = transport.request(
      url,
      { ...options, method: 'GET', headers: { ...options.headers, Accept: 'application/json' }, signal },
      (res) => {
        res.once('close', () => agent?.destroy());
        // An abort after the headers makes the body emit 'error'; callers that stopped reading must not crash on it.
        res.on('error', () => undefined);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      },
    );
    req.on('error', (error) => {
      agent?.destroy();
      reject(error);
    });
    req.end();
  });
}

/** Reads a whole (non-streaming) body as text. */
export function readBody(body: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => chunks.push(chunk));
    body.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.on('error', reject);
    body.once('close', () => {
      if (!body.complete) reject(new Error('connection closed before the response ended'));
    });
  });
}

/** GET and parse JSON; a non-200 answer becomes an ApiGetError carrying the server's Status. */
export async function getJson(
  kubeConfig: KubeConfig,
  path: string,
  query: QueryParams,
  signal: AbortSignal,
): Promise<unknown> {
  const response = await openGet(kubeConfig, path, query, signal);
  const text = await readBody(response.body);
  if (response.status !== 200) throw new ApiGetError(response.status, text, retryAfterMs(response.headers));
  return JSON.parse(text) as unknown;
}

/** A Retry-After in seconds (what kube-apiserver sends with 429), as milliseconds. */
export function retryAfterMs(headers: http.IncomingHttpHeaders): number | undefined {
  const seconds = Number(headers['retry-after']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

export class ApiGetError extends Error {
  readonly reason: string;
  constructor(
    readonly code: number,
    readonly body: string,
    readonly retryAfterMs?: number,
  ) {
    const status = parseStatus(body);
    super(
      `${code}${status.reason === '' ? '' : ` ${status.reason}`}: ${status.message === '' ? body.slice(0, 200) : status.message}`,
    );
    this.name = 'ApiGetError';
    this.reason = status.reason;
  }
}

function parseStatus(body: string): { reason: string; message: string } {
  try {
    const value = JSON.parse(body) as { reason?: unknown; message?: unknown };
    return {
      reason: typeof value.reason === 'string' ? value.reason : '',
      message: typeof value.message === 'string' ? value.message : '',
    };
  } catch {
    return { reason: '', message: '' };
  }
}
