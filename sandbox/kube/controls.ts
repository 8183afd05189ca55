/**
 * Fault injection and observation for tests and the demo: drop open watches, fail a seeded fraction of
 * requests with 429 (Retry-After) or 500, add latency, shrink the watch history to force 410, and count
 * requests.
 */
import { internalError, tooManyRequests } from './errors.js';
import type { StatusError } from './types.js';

export interface RequestFailureRule {
  /** 0..1 of matching requests that fail. */
  fraction: number;
  status: 429 | 500;
  /** Seconds in Retry-After (and the Status's retryAfterSeconds) for 429; default 1. */
  retryAfterSeconds?: number;
  /** Only requests whose path (without query) matches; all when absent. */
  path?: string | RegExp;
  /** Only these methods (GET, POST, …); all when absent. */
  methods?: string[];
  /** Seed of the PRNG that picks the failing requests, so a run repeats exactly. Default 1. */
  seed?: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  /** The response status, known once the response has ended (0 while a watch is open). */
  status: number;
  /** A watch request (`?watch=true` or the legacy `/watch/` path). */
  watch: boolean;
  at: number;
}

export interface RequestFilter {
  method?: string;
  path?: string | RegExp;
  watch?: boolean;
}

export interface KubeControls {
  /** Ends every open watch: abruptly (socket reset, the default) or cleanly (end of stream). Returns how many. */
  dropWatches(options?: { graceful?: boolean }): number;
  openWatchCount(): number;
  /** Fails requests per the rule from now on; undefined stops failing. */
  failRequests(rule: RequestFailureRule | undefined): void;
  /** Delays every request by this many milliseconds (0 to stop). */
  setLatency(ms: number): void;
  /** Keeps only the last `size` watch events; 0 makes every older resourceVersion answer 410 Expired. */
  setWatchHistory(size: number): void;
  /** How often watches that asked for bookmarks get a BOOKMARK. */
  setBookmarkInterval(ms: number): void;
  requestCount(filter?: RequestFilter): number;
  /** TLS connections accepted since the start: a client that keeps connections alive opens few. */
  connectionCount(): number;
  requestLog(filter?: RequestFilter): RequestLogEntry[];
  clearRequestLog(): void;
  /** Undoes failures and latency. */
  reset(): void;
}

/** mulberry32: small, seedable, good enough to pick failing requests reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matchesPath(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string'
    ? path === pattern ||
        path.startsWith(pattern.endsWith('/') ? pattern : `${pattern}/`) ||
        path.startsWith(`${pattern}?`)
    : pattern.test(path);
}

export function matchesFilter(entry: RequestLogEntry, filter: RequestFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.method !== undefined && filter.method.toUpperCase() !== entry.method) return false;
  if (filter.watch !== undefined && filter.watch !== entry.watch) return false;
  return matchesPath(filter.path, entry.path);
}

/** The fault and latency state the HTTP layer consults on every request. */
export class FaultInjector {
  private rule: RequestFailureRule | undefined;
  private random: () => number = seededRandom(1);
  latencyMs = 0;

  setRule(rule: RequestFailureRule | undefined): void {
    this.rule = rule;
    this.random = seededRandom(rule?.seed ?? 1);
  }

  /** The failure to answer this request with, if the dice say so. */
  failureFor(method: string, path: string): { error: StatusError; headers: Record<string, string> } | undefined {
    const rule = this.rule;
    if (rule === undefined) return undefined;
    if (rule.methods !== undefined && !rule.methods.map((m) => m.toUpperCase()).includes(method)) return undefined;
    if (!matchesPath(rule.path, path)) return undefined;
    if (this.random() >= rule.fraction) return undefined;
    if (rule.status === 429) {
      const seconds = rule.retryAfterSeconds ?? 1;
      return { error: tooManyRequests(seconds), headers: { 'Retry-After': String(seconds) } };
    }
    return { error: internalError('injected failure'), headers: {} };
  }
}
