/**
 * The in-memory object store behind the stand-in: one global resourceVersion counter (as etcd's revision),
 * per-type rules around every write, the watch history, and the in-store controllers kube-apiserver and
 * kube-controller-manager would run (garbage collection, namespace and CRD lifecycle).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  badRequest,
  alreadyExists,
  conflict,
  invalid,
  notFound,
  pathNotFound,
  staleConflict,
  causes,
  forbidden,
  GoValue,
  type FieldCause,
} from './errors.js';
import {
  keepServerOwnedMetadata,
  metaOf,
  nameFromGenerateName,
  rfc3339,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './object-meta.js';
import { apiVersionOf, builtInResourceTypes, ResourceRegistry, storageKey } from './resource-types.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { deepEqual, keepOnlyStatus, type RuleContext, type TypeRules } from './type-rules.js';
import { bindPodToNode } from './pod-binding.js';
import { rulesForBuiltIn } from './built-in-rules.js';
import { WatchHub } from './watch-hub.js';
import { ObjectStorage } from './object-storage.js';
import { runDeletion, type DeletionOutcome } from './deletion.js';
import { attachLifecycleControllers, type LifecycleHooks } from './lifecycle.js';
import type {
  ClusterStore,
  DeleteOptions,
  KubeObject,
  ListOptions,
  PageOptions,
  ResourceType,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './types.js';

export interface ClusterStoreOptions {
  /** How many events the watch history keeps; a watch from an older version gets 410 Expired. Default 1000. */
  watchHistory?: number;
  /** The cluster CA, published in every namespace as ConfigMap kube-root-ca.crt. */
  rootCaPem?: string;
  /** How often watches that asked for bookmarks get one. Default 5000 ms. */
  bookmarkIntervalMs?: number;
  /** The clock for timestamps and grace periods. */
  now?: () => number;
  logger?: Logger;
}

/** ClusterStore plus what the HTTP layer, the controls and the in-process cluster need beyond the contract. */
export interface SandboxClusterStore extends ClusterStore {
  /** Like delete, and tells whether the object is gone or only marked (finalizers, grace period). */
  deleteWithOutcome(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options?: DeleteOptions,
  ): DeletionOutcome;
  /** What the scheduler's `pods/binding` does: sets spec.nodeName and PodScheduled=True; 409 if bound. */
  bindPod(namespace: string, name: string, nodeName: string): KubeObject;
  /** The per-type rules (decode checks and defaulting run before admission, in the API layer). */
  rulesFor(type: ResourceType): TypeRules;
  ruleContext(): RuleContext;
  /** Shrinks (or grows) the kept watch history; 0 makes every version but the newest too old. */
  setWatchHistory(size: number): void;
  watchHistory(): number;
  setBookmarkInterval(ms: number): void;
  /** Whether a resourceVersion is older than the kept history (a watch or continue token from it gets 410). */
  isCompacted(resourceVersion: number): boolean;
  /** Registers served versions of a custom resource (the CRD controller's job); rules come from the CRD. */
  registerResource(type: ResourceType, rules: TypeRules): void;
  unregisterResource(group: string, plural: string): void;
  /** NamespaceLifecycle: 404 for a missing namespace, 403 for one being deleted. */
  requireLiveNamespace(type: ResourceType, namespace: string, name: string): void;
  /** Stops every store-level watch (their callbacks get no more events); used by close(). */
  close(): void;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function createClusterStore(options: ClusterStoreOptions = {}): SandboxClusterStore {
  return new MemoryClusterStore(options);
}

class MemoryClusterStore implements SandboxClusterStore {
  private readonly registry = new ResourceRegistry(builtInResourceTypes());
  private readonly customRules = new Map<string, TypeRules>();
  private readonly hub: WatchHub;
  private readonly storage: ObjectStorage;
  private readonly now: () => number;
  private readonly hooks: LifecycleHooks;
  private readonly watchStops = new Set<() => void>();

  constructor(private readonly options: ClusterStoreOptions) {
    this.now = options.now ?? Date.now;
    this.hub = new WatchHub(options.watchHistory ?? 1000, 0, options.bookmarkIntervalMs ?? 5000);
    this.storage = new ObjectStorage(this.hub, (key) => {
      const [group, plural] = splitKey(key);
      return this.registry.byPlural(group, plural);
    });
    this.hooks = attachLifecycleControllers(this, {
      rootCaPem: options.rootCaPem,
      logger: options.logger,
      now: this.now,
    });
    for (const name of INITIAL_NAMESPACES)
      this.create(this.typeOf('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  resourceTypes(): ResourceType[] {
    return this.registry.all();
  }

  resourceType(group: string, plural: string): ResourceType | undefined {
    return this.registry.byPlural(group, plural);
  }

  resourceTypeForKind(group: string, kind: string): ResourceType | undefined {
    return this.registry.byKind(group, kind);
  }

  rulesFor(type: ResourceType): TypeRules {
    return this.customRules.get(rulesKey(type)) ?? rulesForBuiltIn(type);
  }

  ruleContext(): RuleContext {
    return { now: this.now, store: this };
  }

  registerResource(type: ResourceType, rules: TypeRules): void {
    this.registry.add(type);
    this.customRules.set(rulesKey(type), rules);
  }

  replaceServedVersions(group: string, plural: string, served: Array<{ type: ResourceType; rules: TypeRules }>): void {
    this.registry.remove(group, plural);
    for (const { type, rules } of served) this.registerResource(type, rules);
  }

  unregisterResource(group: string, plural: string): void {
    this.registry.remove(group, plural);
    const key = storageKey({ group, plural });
    for (const rules of [...this.customRules.keys()]) if (rules.startsWith(`${key}@`)) this.customRules.delete(rules);
    this.storage.drop({ group, plural });
  }

  currentResourceVersion(): string {
    return String(this.storage.revision());
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const stored = this.stored(type, namespace, name);
    return stored === undefined ? undefined : this.present(type, stored);
  }

  list(type: ResourceType, options: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const { items, resourceVersion } = this.listPage(type, options);
    return { items, resourceVersion };
  }

  /**
   * One page in etcd's key order, from just after `after`. `remaining` counts the matches after the page
   * when no label or field selector is given (the API's remainingItemCount); with one, it is only 0 or 1,
   * whether there are more, as kube-apiserver does not count those either.
   */
  listPage(
    type: ResourceType,
    options: ListOptions & PageOptions,
  ): { items: KubeObject[]; resourceVersion: string; remaining: number } {
    this.requireServed(type);
    const keys = this.storage.sortedKeys(type);
    const namespace =
      type.namespaced && options.namespace !== undefined && options.namespace !== '' ? options.namespace : undefined;
    // A namespace is one run of keys: `ns/` up to, not including, `ns0` ('0' follows '/').
    let from = namespace === undefined ? 0 : firstAfter(keys, `${namespace}/`, false);
    const to = namespace === undefined ? keys.length : firstAfter(keys, `${namespace}0`, false);
    if (options.after !== undefined) from = Math.max(from, firstAfter(keys, options.after, true));
    const selected = hasSelector(options) ? this.matcher(type, { ...options, namespace: undefined }) : undefined;
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : Infinity;
    const items: KubeObject[] = [];
    let index = from;
    for (; index < to && items.length < limit; index += 1) {
      const object = this.storage.peekKey(type, keys[index]!)!;
      if (selected === undefined || selected(object)) items.push(this.present(type, object));
    }
    let remaining = 0;
    if (selected === undefined) remaining = to - index;
    else
      for (; index < to && remaining === 0; index += 1)
        if (selected(this.storage.peekKey(type, keys[index]!)!)) remaining = 1;
    return { items, resourceVersion: this.currentResourceVersion(), remaining };
  }

  create(type: ResourceType, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const rules = this.rulesFor(type);
    const object = this.normalize(type, clone(input));
    const meta = metaOf(object);
    rules.decode?.(object);
    rules.applyDefaults?.(object, this.ruleContext());
    if (
      (meta.name === undefined || meta.name === '') &&
      typeof meta.generateName === 'string' &&
      meta.generateName !== ''
    ) {
      meta.name = nameFromGenerateName(meta.generateName);
    }
    if (type.namespaced) this.requireLiveNamespace(type, meta.namespace!, meta.name ?? '');
    rules.prepareForCreate?.(object, this.ruleContext());
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.now());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    if (rules.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    if (type.hasStatus && rules.prepareForCreate === undefined) delete object.status;
    this.throwIfInvalid(type, meta.name ?? '', [
      ...validateObjectMeta(meta, rules.nameRule),
      ...(rules.validate?.(object, this.ruleContext()) ?? []),
    ]);
    options.validate?.(this.present(type, object), undefined);
    if (this.stored(type, meta.namespace, meta.name!) !== undefined) throw alreadyExists(type, meta.name!);
    if (options.dryRun === true) return this.present(type, object);
    this.write(type, object, 'ADDED');
    this.hooks.afterCreate(type, this.present(type, object));
    return this.present(type, object);
  }

  update(type: ResourceType, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const rules = this.rulesFor(type);
    const object = this.normalize(type, clone(input));
    const meta = metaOf(object);
    const name = meta.name ?? '';
    if (name === '') throw invalid(type, '', [causes.required('metadata.name', 'name or generateName is required')]);
    const old = this.stored(type, meta.namespace, name);
    if (old === undefined) throw notFound(type, name);
    rules.decode?.(object);
    // A uid in the object is a precondition of the update (rest.DefaultUpdatedObjectInfo.Preconditions).
    if (typeof meta.uid === 'string' && meta.uid !== '' && meta.uid !== old.metadata.uid) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${old.metadata.uid ?? ''}`,
      );
    }
    const requested = meta.resourceVersion;
    if (requested !== undefined && requested !== '' && requested !== old.metadata.resourceVersion)
      throw staleConflict(type, name);
    if ((requested === undefined || requested === '') && !rules.allowUnconditionalUpdate) {
      throw invalid(type, name, [
        causes.invalid('metadata.resourceVersion', new GoValue('0x0'), 'must be specified for an update'),
      ]);
    }
    rules.applyDefaults?.(object, this.ruleContext());
    const statusUpdate = options.subresource === 'status';
    if (statusUpdate) {
      if (rules.prepareForStatusUpdate !== undefined) rules.prepareForStatusUpdate(object, clone(old));
      else keepOnlyStatus(object, old);
    } else {
      if (type.hasStatus) {
        if (old.status === undefined) delete object.status;
        else object.status = clone(old.status);
      }
      rules.prepareForUpdate?.(object, clone(old), this.ruleContext());
    }
    keepServerOwnedMetadata(metaOf(object), old.metadata);
    if (
      rules.tracksGeneration &&
      !statusUpdate &&
      (rules.specChanged?.(object, old) ?? !deepEqual(object.spec, old.spec))
    ) {
      metaOf(object).generation = (old.metadata.generation ?? 0) + 1;
    }
    const problems = [
      ...validateObjectMeta(metaOf(object), rules.nameRule),
      ...validateObjectMetaUpdate(metaOf(object), old.metadata),
      ...(statusUpdate
        ? (rules.validateStatusUpdate?.(object, old, this.ruleContext()) ?? [])
        : [
            ...(rules.validate?.(object, this.ruleContext()) ?? []),
            ...(rules.validateUpdate?.(object, old, this.ruleContext()) ?? []),
          ]),
    ];
    this.throwIfInvalid(type, name, problems);
    options.validate?.(this.present(type, object), this.present(type, old));
    const unchanged = deepEqual(
      { ...object, metadata: { ...object.metadata, resourceVersion: undefined } },
      { ...old, metadata: { ...old.metadata, resourceVersion: undefined } },
    );
    // etcd skips a write that changes nothing: no new resourceVersion, no watch event.
    if (unchanged || options.dryRun === true) return this.present(type, unchanged ? old : object);
    this.write(type, object, 'MODIFIED', old);
    const stored = this.present(type, object);
    this.hooks.afterUpdate(type, stored);
    const finished =
      stored.metadata.deletionTimestamp !== undefined &&
      (stored.metadata.finalizers ?? []).length === 0 &&
      (stored.metadata.deletionGracePeriodSeconds ?? 0) === 0 &&
      !this.hooks.holds(type, stored);
    if (finished) this.removeNow(type, stored);
    return stored;
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): KubeObject {
    return this.deleteWithOutcome(type, namespace, name, options).object;
  }

  deleteWithOutcome(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): DeletionOutcome {
    const stored = this.stored(type, namespace, name);
    if (stored === undefined) throw notFound(type, name);
    const rules = this.rulesFor(type);
    const refusal = rules.refuseDelete?.(stored);
    if (refusal !== undefined) throw forbidden(type, name, refusal);
    return runDeletion(
      {
        type,
        rules,
        now: this.now,
        markDeleting: (object) => {
          const updated = this.normalize(type, clone(object));
          this.write(type, updated, 'MODIFIED', stored);
          return this.present(type, updated);
        },
        remove: (object) => this.removeNow(type, object),
        hooks: this.hooks,
      },
      this.present(type, stored),
      options,
    );
  }

  bindPod(namespace: string, name: string, nodeName: string): KubeObject {
    return bindPodToNode(this, namespace, name, nodeName, this.now());
  }

  watch(type: ResourceType, options: WatchOptions, onEvent: (event: WatchEvent) => void): { stop(): void } {
    const matches = this.matcher(type, options);
    let from: number | undefined;
    if (options.resourceVersion !== undefined && options.resourceVersion !== '' && options.resourceVersion !== '0') {
      from = Number(options.resourceVersion);
      if (!Number.isSafeInteger(from) || from < 0)
        throw badRequest(
          `invalid resource version: strconv.ParseUint: parsing ${JSON.stringify(options.resourceVersion)}: invalid syntax`,
        );
    }
    const initial = from === undefined ? this.list(type, options).items : [];
    const version = type.version;
    const subscription = this.hub.subscribe(
      {
        key: storageKey(type),
        matches,
        present: (object) => this.present({ ...type, version }, object),
        deliver: onEvent,
        ...(options.allowWatchBookmarks === true
          ? {
              bookmark: () => ({
                type: 'BOOKMARK' as const,
                object: {
                  apiVersion: apiVersionOf(type),
                  kind: type.kind,
                  metadata: { resourceVersion: this.currentResourceVersion() },
                },
              }),
            }
          : {}),
      },
      from,
      initial,
    );
    const stop = (): void => {
      subscription.stop();
      this.watchStops.delete(stop);
    };
    this.watchStops.add(stop);
    return { stop };
  }

  setWatchHistory(size: number): void {
    this.hub.setLimit(size, this.storage.revision());
  }

  watchHistory(): number {
    return this.hub.historyLimit();
  }

  setBookmarkInterval(ms: number): void {
    this.hub.setBookmarkInterval(ms);
  }

  isCompacted(resourceVersion: number): boolean {
    return this.hub.isCompacted(resourceVersion);
  }

  close(): void {
    for (const stop of [...this.watchStops]) stop();
  }

  private write(type: ResourceType, object: KubeObject, change: 'ADDED' | 'MODIFIED', previous?: KubeObject): void {
    this.storage.put(type, object, change, previous);
  }

  /** Takes an object out of storage (a DELETED event), then lets the lifecycle controllers react. */
  private removeNow(type: ResourceType, object: KubeObject): KubeObject {
    const gone = this.storage.take(type, this.scopeNamespace(type, object.metadata.namespace), object.metadata.name!);
    if (gone === undefined) return object;
    const presented = this.present(type, gone);
    this.hooks.afterRemove(type, presented);
    return presented;
  }

  objectByUid(uid: string): { type: ResourceType; object: KubeObject } | undefined {
    const found = this.storage.byUidLookup(uid);
    return found === undefined ? undefined : { type: found.type, object: this.present(found.type, found.object) };
  }

  objectsInNamespace(namespace: string): Array<{ type: ResourceType; object: KubeObject }> {
    return this.storage
      .select((type, object) => type.namespaced && object.metadata.namespace === namespace)
      .map(({ type, object }) => ({ type, object: this.present(type, object) }));
  }

  dependentsOf(uid: string): Array<{ type: ResourceType; object: KubeObject }> {
    return this.storage
      .select((_type, object) => (object.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid))
      .map(({ type, object }) => ({ type, object: this.present(type, object) }));
  }

  /** Writes a server-side change (garbage collector, lifecycle controllers) without the update rules. */
  writeInternal(type: ResourceType, object: KubeObject): KubeObject {
    const previous = this.stored(type, object.metadata.namespace, object.metadata.name!);
    if (previous === undefined) throw notFound(type, object.metadata.name!);
    const updated = this.normalize(type, clone(object));
    this.write(type, updated, 'MODIFIED', previous);
    return this.present(type, updated);
  }

  removeInternal(type: ResourceType, object: KubeObject): KubeObject {
    return this.removeNow(type, object);
  }

  typeOf(group: string, plural: string): ResourceType {
    const type = this.registry.byPlural(group, plural);
    if (type === undefined) throw pathNotFound();
    return type;
  }

  private requireServed(type: ResourceType): void {
    if (this.registry.byPlural(type.group, type.plural) === undefined) throw pathNotFound();
  }

  private stored(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    this.requireServed(type);
    return this.storage.peek(type, this.scopeNamespace(type, namespace), name);
  }

  private scopeNamespace(type: ResourceType, namespace: string | undefined): string | undefined {
    return type.namespaced ? namespace : undefined;
  }

  /** Sets apiVersion/kind and the namespace scope the store keys by. */
  private normalize(type: ResourceType, object: KubeObject): KubeObject {
    if (object === null || typeof object !== 'object' || Array.isArray(object))
      throw badRequest('the object provided is not a JSON object');
    const meta = metaOf(object);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    if (type.namespaced) {
      if (typeof meta.namespace !== 'string' || meta.namespace === '')
        throw badRequest('the server could not find the requested resource (namespace is required)');
    } else {
      delete meta.namespace;
    }
    return object;
  }

  /** Output shape: a private copy, under the apiVersion of the version asked for. */
  private present(type: ResourceType, object: KubeObject): KubeObject {
    const copy = clone(object);
    copy.apiVersion = apiVersionOf(type);
    copy.kind = type.kind;
    return copy;
  }

  private matcher(type: ResourceType, options: ListOptions): (object: KubeObject) => boolean {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(type, options.fieldSelector);
    const namespace = type.namespaced ? options.namespace : undefined;
    return (object) =>
      (namespace === undefined || namespace === '' || object.metadata.namespace === namespace) &&
      labels(object.metadata.labels) &&
      fields(object);
  }

  requireLiveNamespace(type: ResourceType, namespace: string, name: string): void {
    const namespaces = this.typeOf('', 'namespaces');
    const ns = this.stored(namespaces, undefined, namespace);
    if (ns === undefined) throw notFound(namespaces, namespace);
    if (ns.metadata.deletionTimestamp !== undefined) {
      const error = forbidden(
        type,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
      error.status.details = {
        ...error.status.details,
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${namespace} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      };
      throw error;
    }
  }

  private throwIfInvalid(type: ResourceType, name: string, problems: FieldCause[]): void {
    if (problems.length > 0) throw invalid(type, name, problems);
  }
}

/** Custom resources are validated by the schema of the version they are written in. */
function rulesKey(type: ResourceType): string {
  return `${storageKey(type)}@${type.version}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

export type { DeletionOutcome } from './deletion.js';

/** The index of the first key above `bound` (with `strictlyAbove` false: at or above it): a binary search. */
function firstAfter(keys: readonly string[], bound: string, strictlyAbove: boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const key = keys[middle]!;
    if (key < bound || (strictlyAbove && key === bound)) low = middle + 1;
    else high = middle;
  }
  return low;
}

function hasSelector(options: ListOptions): boolean {
  return (
    (options.labelSelector !== undefined && options.labelSelector !== '') ||
    (options.fieldSelector !== undefined && options.fieldSelector !== '')
  );
}
