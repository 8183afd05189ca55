/**
 * Reading requests and writing answers the way kube-apiserver frames them: JSON bodies (YAML accepted),
 * `Status` failures, `Warning: 299 - "…"` headers, and content negotiation for Tables.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { badRequest, unsupportedMediaType } from './errors.js';
import { decodeProtobufObject } from './protobuf.js';
import { StatusError, type KubeStatus } from './types.js';

/** kube-apiserver's default request body limit (3 MiB). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

export async function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new StatusError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Request entity too large: limit is 3145728',
        reason: 'RequestEntityTooLarge',
        code: 413,
      });
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Decodes an object body as JSON, YAML or (for the kinds kubectl's typed clients create) protobuf. */
export function decodeObjectBody(body: Buffer | string, contentType: string | undefined, kind: string): unknown {
  const media = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (media === 'application/vnd.kubernetes.protobuf')
    return decodeProtobufObject(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  if (media !== 'application/json' && media !== 'application/yaml' && media !== '' && media !== '*/*') {
    throw unsupportedMediaType('application/json, application/yaml, application/vnd.kubernetes.protobuf');
  }
  const raw = typeof body === 'string' ? body : body.toString('utf8');
  try {
    return media === 'application/yaml' ? YAML.parse(raw) : JSON.parse(raw);
  } catch (error) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${(error as Error).message}`,
    );
  }
}

/** RFC 7234 warning values, as the apiserver's warning recorder quotes them. */
function warningHeader(message: string): string {
  return `299 - "${message.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function setWarnings(res: ServerResponse, warnings: string[]): void {
  const unique = [...new Set(warnings)];
  if (unique.length > 0 && !res.headersSent) res.setHeader('Warning', unique.map(warningHeader));
}

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

/** Go omits empty fields of a Status (a success has no message, reason or code unless set). */
export function statusBody(status: KubeStatus): Record<string, unknown> {
  const body: Record<string, unknown> = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: status.metadata ?? {},
    status: status.status,
  };
  if (status.message !== '') body.message = status.message;
  if (status.reason !== '') body.reason = status.reason;
  if (status.details !== undefined) body.details = status.details;
  if (status.code !== 0) body.code = status.code;
  return body;
}

export function sendStatus(res: ServerResponse, status: KubeStatus, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, status.code || 500, statusBody(status));
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export type Representation = 'object' | 'table' | 'partial-metadata';

/** What the Accept header asks for: a Table (kubectl get), PartialObjectMetadata, or the object itself. */
export function negotiate(accept: string | undefined): Representation {
  const wanted = (accept ?? '').split(',').map((part) => part.trim().toLowerCase().replace(/\s+/g, ''));
  for (const media of wanted) {
    if (media.includes('as=table') && media.includes('g=meta.k8s.io')) return 'table';
    if (media.includes('as=partialobjectmetadata') && media.includes('g=meta.k8s.io')) return 'partial-metadata';
    if (media.startsWith('application/json') || media === '*/*' || media === 'application/*' || media === '')
      return 'object';
  }
  return 'object';
}

export function tableContentType(accept: string | undefined): string {
  const version =
    (accept ?? '').toLowerCase().includes('v=v1beta1') && !(accept ?? '').toLowerCase().includes('as=table;v=v1;')
      ? 'v1beta1'
      : 'v1';
  return `application/json;as=Table;v=${version};g=meta.k8s.io`;
}
