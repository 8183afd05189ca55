import { describe, expect, it } from '@jest/globals';
import { WorkQueue, type QueueClock } from '../../../../binder/controller/queue.js';

/** A clock whose timers fire only when the test advances it. */
class ManualClock implements QueueClock {
  private current = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.current = due[1].at;
      due[1].callback();
    }
    this.current = target;
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('puts a key whose handler asks to continue at once before keys not started yet, and a later requeue at the back', async () => {
    const queue = new WorkQueue<string>();
    for (const key of ['a', 'b', 'c']) queue.add(key);
    const seen: string[] = [];
    const steps = new Map<string, number>();
    const running = queue.run(1, async (key) => {
      seen.push(key);
      const step = (steps.get(key) ?? 0) + 1;
      steps.set(key, step);
      // `a` continues at once after its first step; `b` is merely added again (an event), which waits its turn.
      if (key === 'a' && step === 1) return { requeueAfterMs: 0 };
      if (key === 'b' && step === 1) queue.add('b');
      return undefined;
    });
    await settle();
    await queue.shutDown({ drain: true });
    await running;
    expect(seen).toEqual(['a', 'a', 'b', 'c', 'b']);
  });

  it('puts a key back from a wait it asked for before keys not started yet, so a burst finishes pods as it goes', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock });
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    const seen: string[] = [];
    const gate = deferred();
    const running = queue.run(1, async (key) => {
      seen.push(key);
      // `a` waits for its EIP to settle; `b` takes long enough for that wait to end meanwhile.
      if (key === 'a' && seen.length === 1) return { requeueAfterMs: 1000 };
      if (key === 'b') await gate.promise;
      return undefined;
    });
    await settle();
    clock.advance(1000);
    gate.resolve();
    await settle();
    await queue.shutDown({ drain: true });
    await running;
    expect(seen).toEqual(['a', 'b', 'a', 'c', 'd']);
  });

  it('merges repeated adds of a waiting key into one', async () => {
    const queue = new WorkQueue<string>();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    queue.add('a');
    expect(queue.length()).toBe(2);
    const seen: string[] = [];
    const running = queue.run(1, async (key) => {
      seen.push(key);
    });
    await settle();
    await queue.shutDown({ drain: true });
    await running;
    expect(seen).toEqual(['a', 'b']);
  });

  it('never hands a key being processed to a second worker, and runs it once more when added meanwhile', async () => {
    const queue = new WorkQueue<string>();
    const gate = deferred();
    let concurrent = 0;
    let maxConcurrent = 0;
    const runs: string[] = [];
    const running = queue.run(4, async (key) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      runs.push(key);
      if (runs.length === 1) await gate.promise;
      concurrent--;
    });
    queue.add('pod');
    await settle();
    expect(queue.processingCount()).toBe(1);
    // Three adds while it runs: one more run afterwards, not three, and not in parallel.
    queue.add('pod');
    queue.add('pod');
    queue.add('pod');
    await settle();
    expect(runs).toEqual(['pod']);
    expect(queue.length()).toBe(0);
    gate.resolve();
    await settle();
    await settle();
    expect(runs).toEqual(['pod', 'pod']);
    expect(maxConcurrent).toBe(1);
    await queue.shutDown();
    await running;
  });

  it('runs different keys concurrently up to the worker count', async () => {
    const queue = new WorkQueue<string>();
    const gate = deferred();
    let concurrent = 0;
    let maxConcurrent = 0;
    const running = queue.run(3, async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await gate.promise;
      concurrent--;
    });
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    await settle();
    expect(maxConcurrent).toBe(3);
    expect(queue.length()).toBe(2);
    gate.resolve();
    await queue.shutDown({ drain: true });
    await running;
    expect(queue.length()).toBe(0);
  });

  it('addAfter: the earliest pending time wins, and the key is added once', () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock });
    queue.addAfter('a', 5000);
    queue.addAfter('a', 1000);
    queue.addAfter('a', 3000);
    expect(queue.delayedCount()).toBe(1);
    clock.advance(999);
    expect(queue.length()).toBe(0);
    clock.advance(1);
    expect(queue.length()).toBe(1);
    expect(queue.delayedCount()).toBe(0);
    // The superseded 3 s and 5 s entries do not add it again.
    clock.advance(10_000);
    expect(queue.length()).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it('addAfter orders many keys by due time on one timer', () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock });
    queue.addAfter('late', 300);
    queue.addAfter('early', 100);
    queue.addAfter('middle', 200);
    expect(clock.pending()).toBe(1);
    clock.advance(150);
    expect(queue.length()).toBe(1);
    clock.advance(100);
    expect(queue.length()).toBe(2);
    clock.advance(100);
    expect(queue.length()).toBe(3);
    queue.addAfter('now', 0);
    expect(queue.length()).toBe(4);
  });

  it('backs off per key exponentially up to the cap, with jitter, and forget resets it', () => {
    const clock = new ManualClock();
    const noJitter = new WorkQueue<string>({
      clock,
      backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0.1 },
      random: () => 0,
    });
    const delays = Array.from({ length: 9 }, () => noJitter.addRateLimited('a'));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(noJitter.numRequeues('a')).toBe(9);
    // Another key has its own count.
    expect(noJitter.addRateLimited('b')).toBe(1000);
    noJitter.forget('a');
    expect(noJitter.addRateLimited('a')).toBe(1000);

    const jittered = new WorkQueue<string>({
      clock,
      backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0.1 },
      random: () => 0.5,
    });
    expect(jittered.addRateLimited('a')).toBe(950);
    expect(jittered.addRateLimited('a')).toBe(1900);
  });

  it('retries a failing handler with backoff and forgets the backoff after a success', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock, backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
    let calls = 0;
    const running = queue.run(1, async () => {
      calls++;
      if (calls <= 2) throw new Error('cloud says no');
    });
    queue.add('k');
    await settle();
    expect(calls).toBe(1);
    expect(queue.numRequeues('k')).toBe(1);
    clock.advance(99);
    await settle();
    expect(calls).toBe(1);
    clock.advance(1);
    await settle();
    expect(calls).toBe(2);
    clock.advance(199);
    await settle();
    expect(calls).toBe(2);
    clock.advance(1);
    await settle();
    expect(calls).toBe(3);
    expect(queue.numRequeues('k')).toBe(0);
    await queue.shutDown();
    await running;
  });

  it('requeues after the delay a handler asks for', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock });
    let calls = 0;
    const running = queue.run(1, async () => {
      calls++;
      return calls === 1 ? { requeueAfterMs: 5000 } : undefined;
    });
    queue.add('k');
    await settle();
    expect(queue.delayedCount()).toBe(1);
    clock.advance(5000);
    await settle();
    expect(calls).toBe(2);
    expect(queue.delayedCount()).toBe(0);
    await queue.shutDown();
    await running;
  });

  it('shutDown without drain drops waiting and delayed keys, lets the running one finish, and leaves no timer', async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue<string>({ clock });
    const gate = deferred();
    const runs: string[] = [];
    const running = queue.run(1, async (key) => {
      runs.push(key);
      await gate.promise;
    });
    queue.add('a');
    await settle();
    queue.add('b');
    queue.add('a');
    queue.addAfter('c', 1000);
    const stopping = queue.shutDown();
    queue.add('d');
    expect(clock.pending()).toBe(0);
    gate.resolve();
    await stopping;
    await running;
    expect(runs).toEqual(['a']);
    expect(queue.length()).toBe(0);
  });

  it('shutDown with drain processes what was waiting', async () => {
    const queue = new WorkQueue<string>();
    const runs: string[] = [];
    queue.add('a');
    queue.add('b');
    const running = queue.run(1, async (key) => {
      runs.push(key);
    });
    await queue.shutDown({ drain: true });
    await running;
    expect(runs).toEqual(['a', 'b']);
  });
});
