/**
 * Coalesces describes by key. Every pod being bound is polled until its EIP settles, and
 * DescribeEipAddresses takes up to 50 ids in one call (docs/alibaba-cloud-api.md#describeeipaddresses), so
 * describes asked for within a short window share calls: N pollers cost ⌈N/50⌉ calls instead of N. The
 * same holds for finding the ENIs of many pod IPs at once (a binder that restarts looks at every bound pod):
 * DescribeNetworkInterfaces takes up to 100 secondary IPs.
 */
export const MAX_IDS_PER_DESCRIBE = 50;

export interface DescribeBatcherOptions {
  /** How long the first describe of a batch waits for others to join it. */
  windowMs: number;
  /** Ids per call; a batch that reaches this many goes at once. */
  maxIdsPerCall?: number;
}

interface PendingDescribe<T> {
  ids: string[];
  resolve(found: T[]): void;
  reject(error: unknown): void;
}

export class DescribeBatcher<T> {
  private pending: Array<PendingDescribe<T>> = [];
  private pendingIds = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly maxIdsPerCall: number;

  /** @param describeChunk one call for at most `maxIdsPerCall` keys, answering what it found by key. */
  constructor(
    private readonly describeChunk: (keys: string[]) => Promise<ReadonlyMap<string, T>>,
    private readonly options: DescribeBatcherOptions,
  ) {
    this.maxIdsPerCall = options.maxIdsPerCall ?? MAX_IDS_PER_DESCRIBE;
    if (!(options.windowMs >= 0)) throw new Error(`describe batch window must be >= 0 ms, got ${options.windowMs}`);
    if (!(Number.isInteger(this.maxIdsPerCall) && this.maxIdsPerCall >= 1))
      throw new Error(`ids per describe must be a whole number >= 1, got ${this.maxIdsPerCall}`);
  }

  /** What was found for `keys`, in the order asked; keys nothing was found for are left out. */
  describe(keys: readonly string[]): Promise<T[]> {
    const ids = [...new Set(keys)];
    if (ids.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ ids, resolve, reject });
      for (const id of ids) this.pendingIds.add(id);
      if (this.pendingIds.size >= this.maxIdsPerCall) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  /** Sends what is waiting now, without waiting for the window to end. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    const ids = [...this.pendingIds];
    this.pending = [];
    this.pendingIds = new Set();
    if (batch.length === 0) return;

    const chunkOf = new Map<string, number>();
    const chunks: Array<Promise<ReadonlyMap<string, T>>> = [];
    for (let start = 0; start < ids.length; start += this.maxIdsPerCall) {
      const chunk = ids.slice(start, start + this.maxIdsPerCall);
      for (const id of chunk) chunkOf.set(id, chunks.length);
      const call = this.describeChunk(chunk);
      // Each caller awaits its own chunks; this keeps a failed chunk nobody awaits yet from going unhandled.
      call.catch(() => undefined);
      chunks.push(call);
    }
    for (const request of batch) {
      const needed = [...new Set(request.ids.map((id) => chunkOf.get(id) as number))];
      Promise.all(needed.map((index) => chunks[index] as Promise<ReadonlyMap<string, T>>)).then((answers) => {
        request.resolve(
          request.ids.flatMap((id) => {
            const found = answers.find((answer) => answer.has(id))?.get(id);
            return found === undefined ? [] : [structuredClone(found)];
          }),
        );
      }, request.reject);
    }
  }
}
