/**
 * Raw storage under the store: objects per resource (keyed `group/plural`, then `namespace/name`), a uid
 * index, and the global revision that every write advances, as etcd's does. Every write is recorded in
 * the watch hub. No rules here; the store decides what may be written.
 */
import { storageKey } from './resource-types.js';
import type { KubeObject, ResourceType } from './types.js';
import type { WatchHub } from './watch-hub.js';

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export interface Located {
  type: ResourceType;
  object: KubeObject;
}

export class ObjectStorage {
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private readonly byUid = new Map<string, { key: string; objectKey: string }>();
  /** Each bucket's keys in etcd's order (byte order of namespace/name), built when a list needs it. */
  private readonly sorted = new Map<string, string[]>();
  private revisionCounter = 0;

  constructor(
    private readonly hub: WatchHub,
    /** Resolves a storage key to the resource's preferred served type (undefined once unregistered). */
    private readonly typeOfKey: (key: string) => ResourceType | undefined,
  ) {}

  revision(): number {
    return this.revisionCounter;
  }

  /** The stored object itself (not a copy): callers must not mutate it. */
  peek(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.buckets.get(storageKey(type))?.get(objectKey(namespace, name));
  }

  objects(type: ResourceType): KubeObject[] {
    return [...(this.buckets.get(storageKey(type))?.values() ?? [])];
  }

  /**
   * The type's object keys in etcd's order. Kept until a key comes or goes (updates keep it), so paging
   * through a large list sorts once instead of once a page. The caller must not change the array.
   */
  sortedKeys(type: ResourceType): readonly string[] {
    const key = storageKey(type);
    let keys = this.sorted.get(key);
    if (keys === undefined) {
      keys = [...(this.buckets.get(key)?.keys() ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.sorted.set(key, keys);
    }
    return keys;
  }

  /** The stored object under an object key from sortedKeys (not a copy): callers must not mutate it. */
  peekKey(type: ResourceType, key: string): KubeObject | undefined {
    return this.buckets.get(storageKey(type))?.get(key);
  }

  /** Stores a copy under a fresh resourceVersion (set on `object` too) and records the change for watches. */
  put(type: ResourceType, object: KubeObject, change: 'ADDED' | 'MODIFIED', previous?: KubeObject): void {
    this.revisionCounter += 1;
    object.metadata.resourceVersion = String(this.revisionCounter);
    const key = storageKey(type);
    const where = objectKey(object.metadata.namespace, object.metadata.name!);
    const stored = structuredClone(object);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(key, bucket);
    }
    if (!bucket.has(where)) this.sorted.delete(key);
    bucket.set(where, stored);
    this.byUid.set(stored.metadata.uid!, { key, objectKey: where });
    this.hub.record({
      resourceVersion: this.revisionCounter,
      key,
      type: change,
      object: structuredClone(stored),
      ...(previous === undefined ? {} : { previous: structuredClone(previous) }),
    });
  }

  /** Removes an object; the DELETED event carries a new resourceVersion. Returns that last state, or undefined. */
  take(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = storageKey(type);
    const where = objectKey(namespace, name);
    const stored = this.buckets.get(key)?.get(where);
    if (stored === undefined) return undefined;
    this.buckets.get(key)!.delete(where);
    this.sorted.delete(key);
    this.byUid.delete(stored.metadata.uid ?? '');
    this.revisionCounter += 1;
    const gone = structuredClone(stored);
    gone.metadata.resourceVersion = String(this.revisionCounter);
    this.hub.record({
      resourceVersion: this.revisionCounter,
      key,
      type: 'DELETED',
      object: structuredClone(gone),
      previous: structuredClone(stored),
    });
    return gone;
  }

  /** Forgets a resource's objects without events (its CRD is gone, so no watch of it can exist). */
  drop(type: Pick<ResourceType, 'group' | 'plural'>): void {
    const key = storageKey(type);
    for (const object of this.buckets.get(key)?.values() ?? []) this.byUid.delete(object.metadata.uid ?? '');
    this.buckets.delete(key);
    this.sorted.delete(key);
  }

  byUidLookup(uid: string): Located | undefined {
    const where = this.byUid.get(uid);
    if (where === undefined) return undefined;
    const type = this.typeOfKey(where.key);
    const object = this.buckets.get(where.key)?.get(where.objectKey);
    return type === undefined || object === undefined ? undefined : { type, object };
  }

  /** Every stored object matching `predicate`, across all resources still served. */
  select(predicate: (type: ResourceType, object: KubeObject) => boolean): Located[] {
    const found: Located[] = [];
    for (const [key, bucket] of this.buckets) {
      const type = this.typeOfKey(key);
      if (type === undefined) continue;
      for (const object of bucket.values()) if (predicate(type, object)) found.push({ type, object });
    }
    return found;
  }
}
