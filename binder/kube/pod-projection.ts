/**
 * The slim pod the binder keeps in its cache: only what deciding and writing an EIP binding needs, so a
 * cluster of 20,000 pods costs a few megabytes, and pods that never asked for an EIP cost nothing.
 */
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_HANDOVER_ANNOTATION, EIP_CONDITION_TYPE } from '../../api/constants.js';
import { EIP_ANNOTATION_KEYS } from '../../api/annotations.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface EipPodCondition {
  status: ConditionStatus;
  reason?: string;
  message?: string;
  /** RFC 3339, as on the wire. */
  lastTransitionTime?: string;
}

export interface PodProjection {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  podIP?: string;
  hostNetwork: boolean;
  nodeName?: string;
  /** spec.serviceAccountName, for the audit line of each binding decision. */
  serviceAccount?: string;
  phase?: string;
  deletionTimestamp?: string;
  finalizers?: readonly string[];
  /** The EIP annotations the user wrote, plus the allocated address the binder wrote; nothing else. */
  eipAnnotations: Readonly<Record<string, string>>;
  /** The webhook injected the `k8s.aliyun.com/eip` readiness gate at creation (gates are immutable after). */
  hasEipReadinessGate: boolean;
  eipCondition?: EipPodCondition;
  /** The owner with `controller: true` (StatefulSet, ReplicaSet, GameServerSet, …). */
  controller?: { kind: string; name: string; apiVersion?: string; uid?: string };
  /**
   * The workload the pod belongs to across its controller's revisions: `Deployment/web` for the pods of all
   * of web's ReplicaSets (named web-<pod-template-hash>), else the controller itself (`StatefulSet/db`).
   */
  workload?: string;
  /** metadata.creationTimestamp: which of two pods of a workload is the newer. */
  createdAt?: string;
}

/**
 * Which of two pods (or records) is the newer. Two pods of one Deployment are ordered by the revision of
 * their ReplicaSets when both are known and differ: a pod of an older revision can be created later (its
 * ReplicaSet replaces an evicted pod mid-rollout, or two rollouts fall within one second), and a rollback
 * makes an old ReplicaSet the newest revision. Otherwise the later creation is the newer; a pod without a
 * creation time is never the newer.
 */
export function isNewer(
  pod: { createdAt?: string; name: string; revision?: number },
  than: { createdAt?: string; name: string; revision?: number },
): boolean {
  if (pod.revision !== undefined && than.revision !== undefined && pod.revision !== than.revision)
    return pod.revision > than.revision;
  if (pod.createdAt === undefined || than.createdAt === undefined) return false;
  // Within one second (creationTimestamp's grain), the name decides, so exactly one of two is the newer.
  return pod.createdAt > than.createdAt || (pod.createdAt === than.createdAt && pod.name > than.name);
}

/** Succeeded or Failed: every container has stopped for good and the CNI has given the pod's IP back. */
export function hasFinished(pod: Pick<PodProjection, 'phase'>): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

/**
 * A pod as it arrives, from a watch (timestamps are strings) or a typed client-node call (timestamps are
 * Dates). Only the fields read here are declared.
 */
export interface PodLike {
  metadata?: {
    namespace?: string;
    name?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string | Date;
    creationTimestamp?: string | Date;
    finalizers?: string[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion?: string; kind?: string; name?: string; uid?: string; controller?: boolean }>;
  };
  spec?: {
    hostNetwork?: boolean;
    nodeName?: string;
    serviceAccountName?: string;
    readinessGates?: Array<{ conditionType?: string }>;
  };
  status?: {
    podIP?: string;
    phase?: string;
    conditions?: Array<{
      type?: string;
      status?: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: string | Date;
    }>;
  };
}

/** Kubernetes' metav1.Time is RFC 3339 to the second; a Date from client-node would carry milliseconds. */
export function toKubeTime(value: string | Date): string {
  return typeof value === 'string' ? value : value.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The EIP keys (both prefixes and the legacy forms), plus the binder's own. */
const KEPT_ANNOTATION_KEYS: ReadonlySet<string> = new Set([
  ...EIP_ANNOTATION_KEYS,
  ALLOCATED_EIP_ADDRESS_ANNOTATION,
  EIP_HANDOVER_ANNOTATION,
]);

function eipAnnotationsOf(annotations: Record<string, string> | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  if (annotations === undefined) return kept;
  for (const key in annotations)
    if (KEPT_ANNOTATION_KEYS.has(key) && Object.hasOwn(annotations, key)) kept[key] = annotations[key]!;
  return kept;
}

/**
 * The binder's view of a pod, or undefined for a pod the binder has no business with: no EIP annotation,
 * no EIP readiness gate, no EIP condition and no allocated address. A pod that ever had the gate keeps it
 * (gates are immutable), and the binder removes the address and condition last, so a pod that had an EIP
 * stays in the cache until it is deleted, and its deletion still reaches the binder.
 */
export function projectPod(pod: PodLike): PodProjection | undefined {
  const metadata = pod.metadata;
  if (metadata?.name === undefined || metadata.namespace === undefined) return undefined;
  const eipAnnotations = eipAnnotationsOf(metadata.annotations);
  const hasEipReadinessGate = pod.spec?.readinessGates?.some((g) => g.conditionType === EIP_CONDITION_TYPE) === true;
  const raw = pod.status?.conditions?.find((c) => c.type === EIP_CONDITION_TYPE);
  if (Object.keys(eipAnnotations).length === 0 && !hasEipReadinessGate && raw === undefined) return undefined;

  const projection: PodProjection = {
    namespace: metadata.namespace,
    name: metadata.name,
    uid: metadata.uid ?? '',
    resourceVersion: metadata.resourceVersion ?? '',
    hostNetwork: pod.spec?.hostNetwork === true,
    eipAnnotations,
    hasEipReadinessGate,
  };
  if (pod.status?.podIP) projection.podIP = pod.status.podIP;
  if (pod.spec?.nodeName) projection.nodeName = pod.spec.nodeName;
  if (pod.spec?.serviceAccountName) projection.serviceAccount = pod.spec.serviceAccountName;
  if (pod.status?.phase) projection.phase = pod.status.phase;
  if (metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null)
    projection.deletionTimestamp = toKubeTime(metadata.deletionTimestamp);
  if (metadata.finalizers !== undefined && metadata.finalizers.length > 0)
    projection.finalizers = [...metadata.finalizers];
  if (raw !== undefined) {
    const condition: EipPodCondition = { status: normalizeStatus(raw.status) };
    if (raw.reason) condition.reason = raw.reason;
    if (raw.message) condition.message = raw.message;
    if (raw.lastTransitionTime) condition.lastTransitionTime = toKubeTime(raw.lastTransitionTime);
    projection.eipCondition = condition;
  }
  if (metadata.creationTimestamp !== undefined && metadata.creationTimestamp !== null)
    projection.createdAt = toKubeTime(metadata.creationTimestamp);
  const owner = metadata.ownerReferences?.find((o) => o.controller === true);
  if (owner?.kind && owner.name) {
    // A Deployment names each ReplicaSet <deployment>-<pod-template-hash> and labels its pods with the hash.
    const hash = metadata.labels?.['pod-template-hash'];
    const revisioned = owner.kind === 'ReplicaSet' && hash !== undefined && owner.name.endsWith(`-${hash}`);
    projection.workload = revisioned
      ? `Deployment/${owner.name.slice(0, -hash.length - 1)}`
      : `${owner.kind}/${owner.name}`;
  }
  if (owner?.kind && owner.name)
    projection.controller = {
      kind: owner.kind,
      name: owner.name,
      ...(owner.apiVersion ? { apiVersion: owner.apiVersion } : {}),
      ...(owner.uid ? { uid: owner.uid } : {}),
    };
  return projection;
}

function normalizeStatus(status: string | undefined): ConditionStatus {
  return status === 'True' || status === 'False' ? status : 'Unknown';
}

/** The cache and queue key of a pod: `namespace/name`, as client-go's MetaNamespaceKeyFunc. */
export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/** The allocated address the binder wrote on the pod, if any. */
export function allocatedEipAddress(pod: PodProjection): string | undefined {
  return pod.eipAnnotations[ALLOCATED_EIP_ADDRESS_ANNOTATION];
}
