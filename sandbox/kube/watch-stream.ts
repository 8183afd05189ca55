/**
 * Serving a watch over HTTP as client-go and client-node expect: status and headers flushed at once,
 * chunked newline-delimited JSON events, a 410 as an ERROR event on a 200 stream, bookmarks on request,
 * `timeoutSeconds`, and `sendInitialEvents` (watch-list). Open connections are tracked so the controls
 * can drop them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusBody } from './http-io.js';
import type { SandboxClusterStore } from './store.js';
import {
  StatusError,
  type KubeObject,
  type KubeStatus,
  type ResourceType,
  type WatchEvent,
  type WatchOptions,
} from './types.js';

export class WatchConnections {
  private readonly open = new Set<{ res: ServerResponse; stop: () => void }>();

  add(res: ServerResponse, stop: () => void): () => void {
    const entry = { res, stop };
    this.open.add(entry);
    return () => {
      this.open.delete(entry);
    };
  }

  count(): number {
    return this.open.size;
  }

  dropAll(graceful: boolean): number {
    const entries = [...this.open];
    for (const entry of entries) {
      entry.stop();
      if (graceful) entry.res.end();
      else entry.res.destroy();
      this.open.delete(entry);
    }
    return entries.length;
  }
}

export interface WatchRequest {
  type: ResourceType;
  options: WatchOptions;
  timeoutSeconds?: number;
  sendInitialEvents: boolean;
  /** Turns each event's object into what the client asked for (a Table row, metadata only, or as is). */
  present(object: KubeObject, first: boolean): unknown;
}

function writeEvent(res: ServerResponse, type: WatchEvent['type'], object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

export function serveWatch(
  store: SandboxClusterStore,
  connections: WatchConnections,
  req: IncomingMessage,
  res: ServerResponse,
  request: WatchRequest,
): void {
  const { type } = request;
  let first = true;
  const deliver = (event: WatchEvent): void => {
    if (res.writableEnded || res.destroyed) return;
    if (event.type === 'ERROR') {
      writeEvent(res, 'ERROR', statusBody(event.object as KubeStatus));
      return;
    }
    if (event.type === 'BOOKMARK') {
      writeEvent(res, 'BOOKMARK', event.object);
      return;
    }
    writeEvent(res, event.type, request.present(event.object as KubeObject, first));
    first = false;
  };

  let options = request.options;
  const initial: KubeObject[] = [];
  let initialVersion = '';
  if (request.sendInitialEvents) {
    const listed = store.list(type, options);
    initial.push(...listed.items);
    initialVersion = listed.resourceVersion;
    options = { ...options, resourceVersion: listed.resourceVersion };
  }

  let subscription: { stop(): void };
  try {
    subscription = store.watch(type, options, deliver);
  } catch (error) {
    if (error instanceof StatusError && error.status.code === 410) {
      // Past authentication and parsing, a watch fails with an ERROR event on a 200 stream, then closes.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      writeEvent(res, 'ERROR', statusBody(error.status));
      res.end();
      return;
    }
    throw error;
  }

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  res.flushHeaders();
  if (request.sendInitialEvents) {
    for (const object of initial) deliver({ type: 'ADDED', object });
    writeEvent(res, 'BOOKMARK', {
      kind: type.kind,
      apiVersion: type.group === '' ? type.version : `${type.group}/${type.version}`,
      metadata: { resourceVersion: initialVersion, annotations: { 'k8s.io/initial-events-end': 'true' } },
    });
  }

  let timer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    subscription.stop();
    if (timer !== undefined) clearTimeout(timer);
    forget();
  };
  const forget = connections.add(res, finish);
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
    timer = setTimeout(() => {
      finish();
      res.end();
    }, request.timeoutSeconds * 1000);
  }
  req.on('close', finish);
  res.on('close', finish);
}
