/**
 * Client-side flow control per API: a token bucket whose callers wait their turn in order (FIFO), on one
 * timer, and learn how long they waited.
 *
 * Alibaba counts calls per account × region × API in fixed windows ("throttled in minute T, allowed in minute
 * T+1", docs/alibaba-cloud-api.md#rate-limits). A bucket holding C tokens and refilling R per window lets
 * through at most C + R − 1 calls in any window of that length, however it lines up with the server's
 * windows; so `bucketShapeForLimit` picks C + R = L, which keeps a burst under a limit of L without
 * Throttling answers (for L = 1 it is 1 + 1, the least a bucket can be: no spare call then).
 * C + R = L + 1 would use the last call of each window too, but the server counts a call when it arrives:
 * one that waited longer on the network than the one before it lands in a later window, and the spare
 * call absorbs that (up to one refill interval of difference) at the cost of 1/L of the rate.
 */

export interface TokenBucketShape {
  /** Tokens held when idle: how many calls may go at once. */
  capacity: number;
  /** Tokens added per window, continuously. */
  refillPerWindow: number;
  windowMs: number;
}

/** Share of a window's limit that may go in one burst; the rest is spread over the window. */
const BURST_SHARE = 0.1;

/** The bucket for a server limit of `limit` calls per `windowMs`. */
export function bucketShapeForLimit(limit: number, windowMs: number): TokenBucketShape {
  if (!(Number.isFinite(limit) && limit >= 1))
    throw new Error(`rate limit must be a number >= 1 (calls per window), got ${limit}`);
  if (!(Number.isFinite(windowMs) && windowMs > 0))
    throw new Error(`rate limit window must be > 0 ms, got ${windowMs}`);
  const capacity = Math.max(1, Math.floor(limit * BURST_SHARE));
  return { capacity, refillPerWindow: Math.max(1, limit - capacity), windowMs };
}

export interface BucketClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: BucketClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Waiter {
  enqueuedAt: number;
  resolve(waitedMs: number): void;
}

export class TokenBucket {
  private tokens: number;
  private lastRefill: number;
  private readonly queue: Waiter[] = [];
  private timer: unknown;
  private readonly refillPerMs: number;

  constructor(
    readonly shape: TokenBucketShape,
    private readonly clock: BucketClock = systemClock,
  ) {
    if (!(shape.capacity >= 1)) throw new Error(`token bucket capacity must be >= 1, got ${shape.capacity}`);
    if (!(shape.refillPerWindow > 0 && shape.windowMs > 0))
      throw new Error('token bucket refill must be > 0 per window');
    this.tokens = shape.capacity;
    this.lastRefill = clock.now();
    this.refillPerMs = shape.refillPerWindow / shape.windowMs;
  }

  /** Resolves with the milliseconds waited once the caller may make one call. */
  acquire(): Promise<number> {
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve(0);
    }
    return new Promise((resolve) => {
      this.queue.push({ enqueuedAt: this.clock.now(), resolve });
      this.schedule();
    });
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Stops the timer; waiters still queued are let through, so nobody hangs at shutdown. */
  close(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock.now();
    for (const waiter of this.queue.splice(0)) waiter.resolve(now - waiter.enqueuedAt);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.lastRefill);
    this.tokens = Math.min(this.shape.capacity, this.tokens + elapsed * this.refillPerMs);
    this.lastRefill = now;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    // Rounded up, so the timer never fires a hair before the token exists and has to sleep again.
    const delay = Math.max(1, Math.ceil((1 - this.tokens) / this.refillPerMs));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, delay);
  }

  private drain(): void {
    this.refill();
    const now = this.clock.now();
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      const waiter = this.queue.shift() as Waiter;
      waiter.resolve(now - waiter.enqueuedAt);
    }
    this.schedule();
  }
}
