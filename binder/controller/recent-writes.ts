/**
 * What the binder wrote that its caches may not show yet. A watch event arrives some milliseconds after the
 * write that caused it, and the next pass for the key can start sooner (it is requeued at once): reading
 * the cache alone would then create a PodEIP twice, record an allocation twice, or announce a binding
 * twice. Entries go as soon as the cache has caught up, so only keys written in the last moments are held.
 * The pod writes (condition, address) are kept with the rest of a key's memory, in key-memory.ts.
 */
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../api/constants.js';
import type { PodEIP } from '../../api/podeip.js';

type PodEipEntry = { kind: 'written'; podEip: PodEIP } | { kind: 'deleted'; uid: string | undefined };

/** Compares resourceVersions: etcd's are decimal counters; anything else is opaque (Kubernetes' own rule). */
function compareVersions(a: string | undefined, b: string | undefined): -1 | 0 | 1 | undefined {
  if (a === undefined || b === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b))
    return a !== undefined && a === b ? 0 : undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

export class RecentPodEipWrites {
  private readonly entries = new Map<string, PodEipEntry>();

  remember(key: string, podEip: PodEIP): void {
    this.entries.set(key, { kind: 'written', podEip });
  }

  rememberDeleted(key: string, uid: string | undefined): void {
    this.entries.set(key, { kind: 'deleted', uid });
  }

  /**
   * The freshest PodEIP for `key` given what the cache holds, or 'unknown' when the cache and the last write
   * cannot be ordered (the caller then reads the API server).
   */
  resolve(key: string, cached: PodEIP | undefined): PodEIP | undefined | 'unknown' {
    const entry = this.entries.get(key);
    if (entry === undefined) return cached;
    if (entry.kind === 'deleted') {
      if (cached === undefined || (entry.uid !== undefined && cached.metadata.uid !== entry.uid)) {
        this.entries.delete(key);
        return cached;
      }
      return undefined;
    }
    const written = entry.podEip;
    if (cached === undefined || cached.metadata.uid !== written.metadata.uid) return 'unknown';
    const order = compareVersions(cached.metadata.resourceVersion, written.metadata.resourceVersion);
    if (order === undefined) return 'unknown';
    if (order < 0) return written;
    this.entries.delete(key);
    return cached;
  }

  /** What a read of the API server found for `key` (undefined: not found); newer than anything cached. */
  settle(key: string, read: PodEIP | undefined): void {
    if (read !== undefined) {
      this.remember(key, read);
      return;
    }
    const entry = this.entries.get(key);
    this.rememberDeleted(key, entry?.kind === 'written' ? entry.podEip.metadata.uid : entry?.uid);
  }

  /**
   * A watch event for `key`: drops the entry once the cache shows the write (or the object is gone). True
   * when the event is the echo of the binder's own last write, which the pass that wrote it has acted on.
   */
  observed(key: string, cached: PodEIP | undefined, deleted: PodEIP | undefined): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    if (deleted !== undefined) {
      if (entry.kind === 'deleted' || entry.podEip.metadata.uid === deleted.metadata.uid) this.entries.delete(key);
      return false;
    }
    if (cached === undefined) return false;
    const echo =
      entry.kind === 'written' &&
      entry.podEip.metadata.uid === cached.metadata.uid &&
      entry.podEip.metadata.resourceVersion === cached.metadata.resourceVersion;
    this.resolve(key, cached);
    return echo;
  }
}

export function withAddress(
  annotations: Readonly<Record<string, string>>,
  address: string | null,
): Record<string, string> {
  const next = { ...annotations };
  if (address === null) delete next[ALLOCATED_EIP_ADDRESS_ANNOTATION];
  else next[ALLOCATED_EIP_ADDRESS_ANNOTATION] = address;
  return next;
}
