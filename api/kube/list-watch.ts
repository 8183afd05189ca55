/**
 * A list-watch that keeps a cache of projected objects current through anything the apiserver or the
 * network does: paged LIST, WATCH from the list's resourceVersion with bookmarks and a server-side
 * timeout, resume from the last seen version after a clean end, relist after 410 Expired (reporting
 * what vanished as deletes), exponential backoff with jitter after failures (and after watches that end
 * too soon, so a server that closes every watch cannot make it spin), and an inactivity timeout that
 * abandons a half-open connection. client-node 1.4's informer does none of the last four.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { ApiGetError, getJson, openGet, retryAfterMs, type QueryParams } from './raw-get.js';

/** An object as it comes off the wire: timestamps are strings, list items have no kind/apiVersion. */
export interface RawKubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ListWatchHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(object: T, previous: T): void;
  /**
   * Also called when an object stops projecting (it left what the cache is for) and for objects a relist no longer
   * finds.
   */
  onDelete?(object: T): void;
}

export interface ListWatchBackoff {
  /** First delay after a failure; doubles per failure. Default 500 ms. */
  initialMs?: number;
  /** Default 30 s. */
  maxMs?: number;
  /** A watch that stayed up this long resets the backoff. Default 30 s. */
  resetAfterMs?: number;
}

export interface ListWatchOptions<T> {
  kubeConfig: KubeConfig;
  /** The collection: `/api/v1/pods`, `/api/v1/namespaces/ns/pods`, `/apis/alibabacloud.com/v1beta1/podeips`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** What the cache keeps of an object; undefined keeps nothing (and drops what was kept). */
  project(object: RawKubeObject): T | undefined;
  handlers?: ListWatchHandlers<T>;
  /** Items per LIST page. Default 500. */
  pageSize?: number;
  /** Server-side watch timeout; each watch asks for a random value in [this, 2×this). Default 300 s. */
  watchTimeoutSeconds?: number;
  /**
   * No event and no bookmark for this long: the connection is taken for dead. Default 90 s (bookmarks come about once a
   * minute).
   */
  inactivityTimeoutMs?: number;
  /** Deadline of each LIST page. Default 60 s. */
  listTimeoutMs?: number;
  /** A watch that ends sooner than this (even cleanly) counts as a failure. Default 1 s. */
  minWatchDurationMs?: number;
  backoff?: ListWatchBackoff;
  logger?: Logger;
  /** For tests: the source of jitter. */
  random?: () => number;
}

type WatchOutcome = 'closed' | 'expired' | 'failed' | 'inactive' | 'stopped';

interface CacheEntry<T> {
  value: T;
  resourceVersion: string;
}

export function objectKey(object: RawKubeObject): string | undefined {
  const name = object.metadata?.name;
  if (name === undefined) return undefined;
  const namespace = object.metadata?.namespace;
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export class ListWatch<T> {
  private cache = new Map<string, CacheEntry<T>>();
  private resourceVersion = '';
  private synced = false;
  private started = false;
  private stopped = false;
  private failures = 0;
  /** A Retry-After from the last failed request: the backoff waits at least this long. */
  private serverDelayMs = 0;
  private current: AbortController | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly syncWaiters: Array<() => void> = [];
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly backoff: Required<ListWatchBackoff>;

  constructor(private readonly options: ListWatchOptions<T>) {
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'list-watch', path: options.path });
    this.random = options.random ?? Math.random;
    this.backoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000, ...options.backoff };
  }

  /** Starts listing and watching; a stopped ListWatch stays stopped. */
  start(): void {
    if (this.stopped) throw new Error('a stopped ListWatch cannot be started again; create a new one');
    if (this.started) return;
    this.started = true;
    this.loop = this.run().catch((error: unknown) =>
      this.logger.error({ err: error }, 'list-watch loop ended unexpectedly'),
    );
  }

  /** Ends the current request and every timer; no handler runs after this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    await this.loop;
  }

  /** True once the first complete LIST is in the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(key: string): T | undefined {
    return this.cache.get(key)?.value;
  }

  list(): T[] {
    return [...this.cache.values()].map((e) => e.value);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  get size(): number {
    return this.cache.size;
  }

  /** The last resourceVersion seen (from a list, an event or a bookmark); a watch resumes from it. */
  lastResourceVersion(): string {
    return this.resourceVersion;
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.relist();
          needList = false;
        } catch (error) {
          if (this.stopped) break;
          if (error instanceof ApiGetError && error.retryAfterMs !== undefined) this.serverDelayMs = error.retryAfterMs;
          const delay = this.nextBackoff();
          this.logger.warn(
            { err: error, failures: this.failures, delayMs: delay },
            'list failed; retrying after backoff',
          );
          await this.sleep(delay);
          continue;
        }
      }
      const startedAt = Date.now();
      const outcome = await this.watchOnce();
      if (outcome === 'stopped' || this.stopped) break;
      const lasted = Date.now() - startedAt;
      if (lasted >= this.backoff.resetAfterMs) this.failures = 0;
      if (outcome === 'expired') needList = true;
      const tooShort = lasted < (this.options.minWatchDurationMs ?? 1000);
      if (outcome === 'failed' || outcome === 'inactive' || tooShort) {
        const delay = this.nextBackoff();
        this.logger.debug(
          { outcome, lastedMs: lasted, delayMs: delay, resourceVersion: this.resourceVersion },
          'watch ended; backing off',
        );
        await this.sleep(delay);
      } else {
        this.logger.debug(
          { outcome, lastedMs: lasted, resourceVersion: this.resourceVersion },
          'watch ended; resuming',
        );
      }
    }
  }

  private nextBackoff(): number {
    this.failures++;
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures - 1, 30));
    // "Equal jitter": at least half the ceiling, so replicas restarted together spread out but never hurry.
    const delay = Math.max(
      ceiling / 2 + (ceiling / 2) * this.random(),
      Math.min(this.serverDelayMs, this.backoff.maxMs),
    );
    this.serverDelayMs = 0;
    return delay;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private baseQuery(): QueryParams {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  /** A paged LIST; the cache is replaced only once every page is in. */
  private async relist(): Promise<void> {
    const listed = new Map<string, CacheEntry<T>>();
    let listVersion = '';
    let token: string | undefined;
    let paged = true;
    for (;;) {
      if (this.stopped) return;
      const controller = new AbortController();
      this.current = controller;
      const timer = setTimeout(
        () => controller.abort(new Error('list page timed out')),
        this.options.listTimeoutMs ?? 60_000,
      );
      let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: RawKubeObject[] };
      try {
        page = (await getJson(
          this.options.kubeConfig,
          this.options.path,
          { ...this.baseQuery(), limit: paged ? (this.options.pageSize ?? 500) : undefined, continue: token },
          controller.signal,
        )) as typeof page;
      } catch (error) {
        // A continue token outlived the server's history: list again in one piece, as client-go's pager does.
        if (token !== undefined && error instanceof ApiGetError && error.code === 410) {
          listed.clear();
          token = undefined;
          paged = false;
          continue;
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
      if (this.stopped) return;
      for (const item of page.items ?? []) {
        const key = objectKey(item);
        const value = key === undefined ? undefined : this.project(item);
        if (key !== undefined && value !== undefined)
          listed.set(key, { value, resourceVersion: item.metadata?.resourceVersion ?? '' });
      }
      listVersion = page.metadata?.resourceVersion ?? listVersion;
      token = page.metadata?.continue || undefined;
      if (token === undefined) break;
    }
    this.replace(listed, listVersion);
  }

  private replace(listed: Map<string, CacheEntry<T>>, listVersion: string): void {
    const previous = this.cache;
    this.cache = listed;
    this.resourceVersion = listVersion;
    const { onAdd, onUpdate, onDelete } = this.options.handlers ?? {};
    for (const [key, entry] of listed) {
      const old = previous.get(key);
      if (old === undefined) this.call('add', () => onAdd?.(entry.value));
      else if (old.resourceVersion !== entry.resourceVersion)
        this.call('update', () => onUpdate?.(entry.value, old.value));
    }
    for (const [key, old] of previous) if (!listed.has(key)) this.call('delete', () => onDelete?.(old.value));
    this.logger.debug({ items: listed.size, resourceVersion: listVersion }, 'listed');
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    const timeout = this.options.watchTimeoutSeconds ?? 300;
    const query: QueryParams = {
      ...this.baseQuery(),
      watch: true,
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.max(1, Math.floor(timeout * (1 + this.random()))),
    };
    // stop() may have run while the list was finishing; it aborted the list's controller, not this one.
    if (this.stopped) return Promise.resolve('stopped');
    const controller = new AbortController();
    this.current = controller;
    const inactivityMs = this.options.inactivityTimeoutMs ?? 90_000;
    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let inactivity: NodeJS.Timeout | undefined;
      const finish = (outcome: WatchOutcome, detail?: Record<string, unknown>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(inactivity);
        controller.abort();
        const final = this.stopped ? 'stopped' : outcome;
        if (final === 'failed' || final === 'inactive')
          this.logger.warn({ outcome: final, resourceVersion: this.resourceVersion, ...detail }, 'watch failed');
        resolve(final);
      };
      // Armed before the request, so a server that never answers is caught too.
      const touch = (): void => {
        clearTimeout(inactivity);
        inactivity = setTimeout(() => finish('inactive', { inactivityTimeoutMs: inactivityMs }), inactivityMs);
      };
      touch();
      // Our own abort (stop) must settle the watch even if the socket reports nothing.
      controller.signal.addEventListener('abort', () => finish('stopped'), { once: true });
      openGet(this.options.kubeConfig, this.options.path, query, controller.signal).then(
        (response) => {
          if (settled) {
            response.body.destroy();
            return;
          }
          if (response.status !== 200) {
            response.body.resume();
            this.serverDelayMs = retryAfterMs(response.headers) ?? 0;
            // A plain HTTP 410 is as good as an ERROR event carrying it.
            finish(response.status === 410 ? 'expired' : 'failed', { code: response.status });
            return;
          }
          let buffered = '';
          response.body.setEncoding('utf8');
          response.body.on('data', (chunk: string) => {
            touch();
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline >= 0 && !settled) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (line !== '') {
                const outcome = this.applyEventLine(line);
                if (outcome !== undefined) finish(outcome.outcome, outcome.detail);
              }
              newline = buffered.indexOf('\n');
            }
          });
          response.body.once('end', () => finish('closed'));
          response.body.on('error', (error: Error) => finish('failed', { err: error }));
          response.body.once('close', () =>
            finish(response.body.complete ? 'closed' : 'failed', { reason: 'connection closed mid-stream' }),
          );
        },
        (error: unknown) => finish('failed', { err: error }),
      );
    });
  }

  /** Applies one watch event; returns an outcome when the event ends the watch. */
  private applyEventLine(line: string): { outcome: WatchOutcome; detail?: Record<string, unknown> } | undefined {
    let event: { type?: string; object?: RawKubeObject };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return { outcome: 'failed', detail: { reason: 'undecodable watch event', line: line.slice(0, 200) } };
    }
    const object = event.object ?? {};
    if (event.type === 'ERROR') {
      const status = object as { code?: number; reason?: string; message?: string };
      if (status.code === 410) return { outcome: 'expired' };
      return { outcome: 'failed', detail: { code: status.code, reason: status.reason, message: status.message } };
    }
    const version = object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (version) this.resourceVersion = version;
      return undefined;
    }
    const key = objectKey(object);
    if (key !== undefined && (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED'))
      this.applyChange(event.type, key, object);
    if (version) this.resourceVersion = version;
    return undefined;
  }

  private applyChange(type: 'ADDED' | 'MODIFIED' | 'DELETED', key: string, object: RawKubeObject): void {
    const { onAdd, onUpdate, onDelete } = this.options.handlers ?? {};
    const old = this.cache.get(key);
    const value = this.project(object);
    if (type === 'DELETED' || value === undefined) {
      if (old === undefined) return;
      this.cache.delete(key);
      // The final state says most about how the object ended (its deletionTimestamp, last status).
      const last = value ?? old.value;
      this.call('delete', () => onDelete?.(last));
      return;
    }
    const resourceVersion = object.metadata?.resourceVersion ?? '';
    this.cache.set(key, { value, resourceVersion });
    if (old === undefined) this.call('add', () => onAdd?.(value));
    else if (old.resourceVersion !== resourceVersion) this.call('update', () => onUpdate?.(value, old.value));
  }

  private project(object: RawKubeObject): T | undefined {
    try {
      return this.options.project(object);
    } catch (error) {
      this.logger.error({ err: error, key: objectKey(object) }, 'projection threw; object left out of the cache');
      return undefined;
    }
  }

  /** A throwing handler must not break the watch: it is logged and the stream goes on. */
  private call(kind: string, handler: () => void): void {
    if (this.stopped) return;
    try {
      handler();
    } catch (error) {
      this.logger.error({ err: error, handler: kind }, 'list-watch handler threw');
    }
  }
}
