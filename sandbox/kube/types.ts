/**
 * The contract inside the Kubernetes API stand-in: the object store that the HTTP layer, admission and the
 * in-process cluster controllers (deployments, statefulsets, the node agent) all share. Plain JSON objects,
 * shaped exactly as they travel on the wire.
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** What the store knows of one resource: built in, or registered by a CustomResourceDefinition. */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: `pods`, `podeips`. */
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  /** Has a `/status` subresource (writes to the object ignore status and vice versa). */
  hasStatus: boolean;
  shortNames: string[];
  verbs: string[];
  categories: string[];
}

/** A Kubernetes `Status` (kind Status, apiVersion v1), as the API answers failures. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
  };
  code: number;
}

/** Thrown by the store and admission; the HTTP layer answers it as is. */
export class StatusError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
    this.name = 'StatusError';
  }
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** One page of a list: objects after the key `after` (namespace/name, as a continue token has it), at most `limit`. */
export interface PageOptions {
  after?: string;
  limit?: number;
}

export interface WatchOptions extends ListOptions {
  /** Events strictly after this version; absent: synthetic ADDED for the current state first. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject | KubeStatus;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** `status` for the status subresource. */
  subresource?: string;
  fieldManager?: string;
  /**
   * Validating admission, as kube-apiserver runs it inside the registry: called with the object as it would
   * be stored (after the type's preparation and validation) and, on update, the stored one; it throws a
   * StatusError to refuse the write. Called on dry runs and on updates that change nothing too.
   */
  validate?: (object: KubeObject, old: KubeObject | undefined) => void;
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/**
 * The store every part of the stand-in shares. Objects going in and coming out are deep copies. Errors are
 * StatusError with the real API's code, reason and message.
 */
export interface ClusterStore {
  resourceTypes(): ResourceType[];
  /** By group and plural (any served version), e.g. (`apps`, `deployments`); undefined if unknown. */
  resourceType(group: string, plural: string): ResourceType | undefined;
  /** By group and kind, e.g. (``, `Pod`). */
  resourceTypeForKind(group: string, kind: string): ResourceType | undefined;

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  list(type: ResourceType, options?: ListOptions): { items: KubeObject[]; resourceVersion: string };
  /**
   * A page of list(): only the page's objects are copied, so paging through N objects costs O(N log N), not
   * a copy of all N per page. `remaining`: the matching objects after the page without a label or field
   * selector; with one, only whether there are more (0 or 1).
   */
  listPage(
    type: ResourceType,
    options: ListOptions & PageOptions,
  ): { items: KubeObject[]; resourceVersion: string; remaining: number };
  /**
   * Fills uid, resourceVersion, generation, creationTimestamp; a name from generateName; applies the type's create
   * rules.
   */
  create(type: ResourceType, object: KubeObject, options?: WriteOptions): KubeObject;
  /** A stale metadata.resourceVersion is a 409 Conflict; none means "the latest". */
  update(type: ResourceType, object: KubeObject, options?: WriteOptions): KubeObject;
  /** Finalizers and pod grace periods decide whether the object goes at once or turns Terminating. */
  delete(type: ResourceType, namespace: string | undefined, name: string, options?: DeleteOptions): KubeObject;
  /** Throws a 410 Expired StatusError for a resourceVersion older than the kept history. */
  watch(type: ResourceType, options: WatchOptions, onEvent: (event: WatchEvent) => void): { stop(): void };
  /** The newest resourceVersion of the whole store. */
  currentResourceVersion(): string;
}

/** What kube-apiserver's admission chain sees of one write. */
export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  type: ResourceType;
  subresource?: string;
  namespace?: string;
  name: string;
  object?: KubeObject;
  oldObject?: KubeObject;
  dryRun: boolean;
  userInfo: UserInfo;
  /** CreateOptions / UpdateOptions / DeleteOptions as sent in the AdmissionReview. */
  options: Record<string, unknown>;
}

export interface AdmissionResult {
  /** The object after every mutating webhook ran (unchanged if none matched). */
  object?: KubeObject;
  /** Webhook warnings, returned to the client as `Warning: 299 - "…"` headers. */
  warnings: string[];
}

/** Mutating admission. Throws StatusError on a denial or a failed call under failurePolicy Fail. */
export interface AdmissionChain {
  admit(attributes: AdmissionAttributes): Promise<AdmissionResult>;
}
