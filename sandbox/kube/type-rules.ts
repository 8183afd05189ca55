/**
 * What differs between resources: the per-type strategy kube-apiserver's registry applies around storage
 * (pkg/registry/<resource>/strategy.go). The store runs these hooks; it knows nothing of pods or CRDs.
 */
import { isRecord } from '../../api/is-record.js';
import type { FieldCause } from './errors.js';
import type { NameRule } from './object-meta.js';
import type { ClusterStore, DeleteOptions, KubeObject } from './types.js';

export interface RuleContext {
  now(): number;
  /** Read-only use: lookups another object's rules need (a service's allocated IPs, a namespace). */
  store: ClusterStore;
}

export interface TypeRules {
  nameRule: NameRule;
  /** metadata.generation starts at 1 and counts spec changes. */
  tracksGeneration: boolean;
  /** A PUT without metadata.resourceVersion is allowed (false for CRDs and custom resources). */
  allowUnconditionalUpdate: boolean;
  /** DELETE answers with the object rather than a Status (pods, services, custom resources). */
  returnsDeletedObject: boolean;
  /** Wire-format checks the real server makes while decoding (400, not 422): MicroTime precision. */
  decode?(object: KubeObject): void;
  /** Scheme defaulting: runs on decode, before admission, and again before storage (idempotent). */
  applyDefaults?(object: KubeObject, context: RuleContext): void;
  /** PrepareForCreate: reset status and other server-owned fields. */
  prepareForCreate?(object: KubeObject, context: RuleContext): void;
  /** PrepareForUpdate of the main resource; the store has already kept the old status for hasStatus types. */
  prepareForUpdate?(object: KubeObject, old: KubeObject, context: RuleContext): void;
  /** PrepareForUpdate of the status subresource; default keeps everything of the old object but status. */
  prepareForStatusUpdate?(object: KubeObject, old: KubeObject): void;
  validate?(object: KubeObject, context: RuleContext): FieldCause[];
  validateUpdate?(object: KubeObject, old: KubeObject, context: RuleContext): FieldCause[];
  validateStatusUpdate?(object: KubeObject, old: KubeObject, context: RuleContext): FieldCause[];
  /** Whether an update bumps metadata.generation; default: `spec` differs. */
  specChanged?(object: KubeObject, old: KubeObject): boolean;
  /**
   * Seconds a DELETE waits for someone (the kubelet) to finish the object; 0 removes it at once. Only pods
   * delete gracefully.
   */
  gracePeriodSeconds?(object: KubeObject, options: DeleteOptions): number;
  /** The 403 reason a DELETE is refused for (the initial namespaces), if it is. */
  refuseDelete?(object: KubeObject): string | undefined;
}

export const DEFAULT_RULES: TypeRules = {
  nameRule: 'subdomain',
  tracksGeneration: false,
  allowUnconditionalUpdate: true,
  returnsDeletedObject: false,
};

export function record(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  if (isRecord(value)) return value;
  const created: Record<string, unknown> = {};
  parent[key] = created;
  return created;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** Status-subresource default (custom resources): of the new object only `.status` counts. */
export function keepOnlyStatus(object: KubeObject, old: KubeObject): void {
  const status = object.status;
  const requestedVersion = object.metadata.resourceVersion;
  for (const key of Object.keys(object)) delete object[key];
  Object.assign(object, structuredClone(old));
  if (status === undefined) delete object.status;
  else object.status = status;
  if (requestedVersion !== undefined) object.metadata.resourceVersion = requestedVersion;
}
