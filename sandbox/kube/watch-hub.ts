/**
 * The change log behind every watch: a bounded history of events (the watch cache's window; older
 * versions get 410 Expired) and the live subscribers. Delivery is asynchronous and in order per
 * subscriber, so a subscriber that writes to the store from its callback never re-enters a write.
 */
import { expired } from './errors.js';
import type { KubeObject, WatchEvent } from './types.js';

export interface ChangeRecord {
  resourceVersion: number;
  /** Storage key (`group/plural`) of the resource that changed. */
  key: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object before the change; decides ADDED/DELETED for a selector the change moves it into or out of. */
  previous?: KubeObject;
}

export interface Subscription {
  key: string;
  matches(object: KubeObject): boolean;
  /** Shapes an object for this subscriber (apiVersion of the version it watches), already a private copy. */
  present(object: KubeObject): KubeObject;
  deliver(event: WatchEvent): void;
  /** Set when the watcher asked for bookmarks: builds one carrying the current resourceVersion. */
  bookmark?(): WatchEvent;
}

interface ActiveSubscription extends Subscription {
  queue: WatchEvent[];
  scheduled: boolean;
  stopped: boolean;
  timer?: NodeJS.Timeout;
}

export class WatchHub {
  private readonly history: ChangeRecord[] = [];
  /** Every version at or above this one can still be watched from (events strictly after it are kept). */
  private floor: number;
  private readonly subscribers = new Set<ActiveSubscription>();

  constructor(
    private limit: number,
    initialVersion: number,
    private bookmarkIntervalMs: number,
  ) {
    this.floor = initialVersion;
  }

  /** Applies to watches started from now on. */
  setBookmarkInterval(ms: number): void {
    this.bookmarkIntervalMs = Math.max(1, ms);
  }

  isCompacted(resourceVersion: number): boolean {
    return resourceVersion < this.floor;
  }

  /** Keeps only the newest `limit` events; 0 forgets all, so any watch from an older version gets 410. */
  setLimit(limit: number, currentVersion: number): void {
    this.limit = Math.max(0, Math.floor(limit));
    this.trim(currentVersion);
  }

  historyLimit(): number {
    return this.limit;
  }

  record(change: ChangeRecord): void {
    this.history.push(change);
    this.trim(change.resourceVersion);
    for (const sub of this.subscribers) {
      if (sub.key !== change.key) continue;
      const event = this.eventFor(sub, change);
      if (event !== undefined) this.enqueue(sub, event);
    }
  }

  /**
   * Starts a subscription. `from` undefined: `initial` (the current state) is sent as ADDED first. `from`
   * set: the kept events strictly after it are replayed; older than the window → 410 Expired.
   */
  subscribe(subscription: Subscription, from: number | undefined, initial: KubeObject[]): { stop(): void } {
    const sub: ActiveSubscription = { ...subscription, queue: [], scheduled: false, stopped: false };
    if (from === undefined) {
      for (const object of initial) this.enqueue(sub, { type: 'ADDED', object: sub.present(object) });
    } else {
      if (from < this.floor) throw expired(`too old resource version: ${from} (${this.floor})`);
      for (const change of this.history) {
        if (change.resourceVersion <= from || change.key !== sub.key) continue;
        const event = this.eventFor(sub, change);
        if (event !== undefined) this.enqueue(sub, event);
      }
    }
    this.subscribers.add(sub);
    if (sub.bookmark !== undefined) {
      const bookmark = sub.bookmark;
      sub.timer = setInterval(() => this.enqueue(sub, bookmark()), this.bookmarkIntervalMs);
      sub.timer.unref();
    }
    return {
      stop: () => {
        if (sub.timer !== undefined) clearInterval(sub.timer);
        sub.stopped = true;
        sub.queue.length = 0;
        this.subscribers.delete(sub);
      },
    };
  }

  subscriberCount(): number {
    return this.subscribers.size;
  }

  private trim(currentVersion: number): void {
    while (this.history.length > this.limit) {
      const dropped = this.history.shift()!;
      this.floor = dropped.resourceVersion;
    }
    if (this.limit === 0) this.floor = currentVersion;
  }

  private eventFor(sub: ActiveSubscription, change: ChangeRecord): WatchEvent | undefined {
    const now = sub.matches(change.object);
    const before = change.previous !== undefined && sub.matches(change.previous);
    if (change.type === 'DELETED')
      return before || now ? { type: 'DELETED', object: sub.present(change.object) } : undefined;
    if (change.type === 'ADDED') return now ? { type: 'ADDED', object: sub.present(change.object) } : undefined;
    if (now && before) return { type: 'MODIFIED', object: sub.present(change.object) };
    if (now) return { type: 'ADDED', object: sub.present(change.object) };
    // Leaving the selector looks like a deletion to the watcher, carrying the new state (as the watch cache does).
    if (before) return { type: 'DELETED', object: sub.present(change.object) };
    return undefined;
  }

  private enqueue(sub: ActiveSubscription, event: WatchEvent): void {
    if (sub.stopped) return;
    sub.queue.push(event);
    if (sub.scheduled) return;
    sub.scheduled = true;
    queueMicrotask(() => {
      sub.scheduled = false;
      while (sub.queue.length > 0 && !sub.stopped) sub.deliver(sub.queue.shift()!);
    });
  }
}
