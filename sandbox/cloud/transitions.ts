/**
 * Timers behind the asynchronous operations: a 200 from Associate/Unassociate/Release/Add means "task
 * accepted", and the state settles later. A transition can be held ("stuck") and resumed.
 */

export interface TransitionDelays {
  associateMs: number;
  unassociateMs: number;
  releaseMs: number;
  bandwidthPackageMs: number;
}

export const DEFAULT_TRANSITION_DELAYS: TransitionDelays = {
  associateMs: 300,
  unassociateMs: 300,
  releaseMs: 300,
  bandwidthPackageMs: 200,
};

interface PendingTransition {
  delayMs: number;
  settle: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class TransitionClock {
  private readonly pending = new Map<string, PendingTransition>();
  private stopped = false;

  /** `isHeld` is asked when a holdable transition starts: true keeps it pending until resumeHeld(). */
  constructor(private readonly isHeld: () => boolean) {}

  schedule(key: string, delayMs: number, settle: () => void, options: { holdable: boolean }): void {
    this.cancel(key);
    const entry: PendingTransition = { delayMs, settle, timer: undefined };
    this.pending.set(key, entry);
    if (!(options.holdable && this.isHeld())) this.arm(key, entry);
  }

  cancel(key: string): void {
    const entry = this.pending.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  /** Lets held transitions run their course, each after its own delay from now. */
  resumeHeld(): void {
    for (const [key, entry] of this.pending) if (entry.timer === undefined) this.arm(key, entry);
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.pending.values()) if (entry.timer) clearTimeout(entry.timer);
    this.pending.clear();
  }

  private arm(key: string, entry: PendingTransition): void {
    if (this.stopped) return;
    entry.timer = setTimeout(() => {
      this.pending.delete(key);
      entry.settle();
    }, entry.delayMs);
    // The HTTP server keeps a demo alive; a forgotten transition must not keep a test process alive.
    entry.timer.unref();
  }
}
