/**
 * The token bucket on a hand-driven clock: bursts, waits, FIFO order, one timer at a time, and the
 * property the binder relies on: however its start lines up with the server's fixed windows, no window
 * sees more calls than the limit the bucket was shaped for.
 */
import { describe, expect, it } from '@jest/globals';
import { TokenBucket, bucketShapeForLimit, type BucketClock } from '../../../../binder/cloud/token-bucket.js';

class ManualClock implements BucketClock {
  time = 0;
  timersSet = 0;
  private timers: Array<{ id: number; at: number; callback: () => void }> = [];
  private nextId = 1;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    this.timersSet += 1;
    const id = this.nextId++;
    this.timers.push({ id, at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Fires due timers in time order, letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = Math.max(this.time, due.at);
      due.callback();
      await flushPromises();
    }
    this.time = end;
    await flushPromises();
  }
}

const flushPromises = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
};

describe('bucketShapeForLimit', () => {
  it.each([
    [120, { capacity: 12, refillPerWindow: 108 }],
    [600, { capacity: 60, refillPerWindow: 540 }],
    [800, { capacity: 80, refillPerWindow: 720 }],
    [20, { capacity: 2, refillPerWindow: 18 }],
    [5, { capacity: 1, refillPerWindow: 4 }],
    [1, { capacity: 1, refillPerWindow: 1 }],
  ])('limit %i per window → %o', (limit, shape) => {
    expect(bucketShapeForLimit(limit, 60_000)).toEqual({ ...shape, windowMs: 60_000 });
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a limit of %s', (limit) => {
    expect(() => bucketShapeForLimit(limit, 60_000)).toThrow(/rate limit must be/);
  });
});

describe('TokenBucket', () => {
  it('lets a full bucket go at once, then makes the next caller wait for the refill', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ capacity: 2, refillPerWindow: 18, windowMs: 1000 }, clock);
    expect(await bucket.acquire()).toBe(0);
    expect(await bucket.acquire()).toBe(0);
    let waited: number | undefined;
    void bucket.acquire().then((ms) => (waited = ms));
    await clock.advance(55);
    expect(waited).toBeUndefined();
    await clock.advance(1);
    // 1000 ms / 18 tokens = 55.6 ms, rounded up to the next whole millisecond.
    expect(waited).toBe(56);
  });

  it('serves waiters first come, first served, on a single timer', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ capacity: 1, refillPerWindow: 10, windowMs: 1000 }, clock);
    await bucket.acquire();
    const order: number[] = [];
    const waits: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      void bucket.acquire().then((ms) => {
        order.push(index);
        waits.push(ms);
      });
    }
    expect(bucket.waiting).toBe(5);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1000);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(waits).toEqual([100, 200, 300, 400, 500]);
    // One timer per token handed out, none spent polling.
    expect(clock.timersSet).toBe(5);
    expect(bucket.waiting).toBe(0);
  });

  it('does not let a newcomer overtake callers already waiting', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ capacity: 1, refillPerWindow: 10, windowMs: 1000 }, clock);
    await bucket.acquire();
    const order: string[] = [];
    void bucket.acquire().then(() => order.push('first'));
    await clock.advance(150);
    // A token is there now, but the queue is not empty.
    void bucket.acquire().then(() => order.push('second'));
    await clock.advance(100);
    expect(order).toEqual(['first', 'second']);
  });

  it('close() lets waiting callers go, so nothing hangs at shutdown', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ capacity: 1, refillPerWindow: 1, windowMs: 60_000 }, clock);
    await bucket.acquire();
    const waiting = bucket.acquire();
    bucket.close();
    expect(await waiting).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it.each([1, 2, 3, 20, 120])(
    'never exceeds a limit of %i calls in any fixed window, whatever the phase',
    async (limit) => {
      const windowMs = 1000;
      for (let phase = 0; phase < windowMs; phase += 97) {
        const clock = new ManualClock(10 * windowMs + phase);
        const bucket = new TokenBucket(bucketShapeForLimit(limit, windowMs), clock);
        const times: number[] = [];
        const calls = limit * 4 + 3;
        for (let index = 0; index < calls; index += 1) void bucket.acquire().then(() => times.push(clock.now()));
        // The burst's callbacks run now, at the start time, not when the clock next moves.
        await flushPromises();
        await clock.advance((calls + 2) * windowMs);
        expect(times).toHaveLength(calls);
        const perWindow = new Map<number, number>();
        for (const time of times)
          perWindow.set(Math.floor(time / windowMs), (perWindow.get(Math.floor(time / windowMs)) ?? 0) + 1);
        expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(limit);
      }
    },
  );
});
