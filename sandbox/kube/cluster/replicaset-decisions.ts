/**
 * The ReplicaSet controller's decisions, pure: which pods it owns, adopts or lets go, which pods go first
 * when it has too many, how it creates (slow-start batches), and the status it reports.
 */
import { isRecord } from '../../../api/is-record.js';
import { rfc3339 } from '../object-meta.js';
import { matchesLabelSelectorObject } from '../selectors.js';
import type { KubeObject } from '../types.js';
import {
  controllerRefOf,
  isPodActive,
  isPodAvailable,
  isPodReady,
  isTerminating,
  numberField,
  ownerReferenceTo,
  podAvailableAt,
  podCondition,
  podPhase,
  selectsObject,
  specOf,
  statusOf,
  templateOf,
  timestampMs,
  jsonList,
  creationMs,
  type Json,
} from './object-facts.js';

export interface PodClaims {
  /** Pods the owner controls and still selects. */
  owned: KubeObject[];
  /** Orphans it selects: it takes them over (ownerReference added). */
  adopt: KubeObject[];
  /** Pods it controls but no longer selects: it lets them go (ownerReference removed). */
  release: KubeObject[];
}

/** ControllerRefManager.ClaimPods: selector and controllerRef together decide ownership. */
export function claimObjects(owner: KubeObject, candidates: KubeObject[]): PodClaims {
  const claims: PodClaims = { owned: [], adopt: [], release: [] };
  const uid = owner.metadata.uid;
  for (const object of candidates) {
    const ref = controllerRefOf(object);
    const selected = selectsObject(owner, object);
    if (ref !== undefined) {
      if (ref.uid !== uid) continue;
      if (selected) claims.owned.push(object);
      else if (!isTerminating(object)) claims.release.push(object);
      continue;
    }
    // An owner being deleted, or an orphan on its way out, is never adopted.
    if (selected && !isTerminating(owner) && !isTerminating(object)) claims.adopt.push(object);
  }
  return claims;
}

/** controller.GetPodFromTemplate: the template's labels, annotations, finalizers and spec, owned by `owner`. */
export function podFromTemplate(
  owner: KubeObject,
  template: Json,
  naming: { generateName: string } | { name: string },
): KubeObject {
  const meta = isRecord(template.metadata) ? template.metadata : {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...naming,
      namespace: owner.metadata.namespace,
      ...(isRecord(meta.labels) ? { labels: { ...(meta.labels as Record<string, string>) } } : {}),
      ...(isRecord(meta.annotations) ? { annotations: { ...(meta.annotations as Record<string, string>) } } : {}),
      ...(Array.isArray(meta.finalizers) ? { finalizers: [...(meta.finalizers as string[])] } : {}),
      ownerReferences: [ownerReferenceTo(owner)],
    },
    spec: structuredClone(isRecord(template.spec) ? template.spec : {}),
  };
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function maxRestarts(pod: KubeObject): number {
  return Math.max(
    0,
    ...jsonList(statusOf(pod).containerStatuses).map((s) => (typeof s.restartCount === 'number' ? s.restartCount : 0)),
  );
}

/**
 * controller.ActivePods ordering, the pods to delete first at the front: unscheduled, then pending, then
 * not ready, then ready for the shortest time, then most restarted, then newest.
 */
export function rankPodsForDeletion(pods: KubeObject[]): KubeObject[] {
  const assigned = (p: KubeObject): number =>
    typeof specOf(p).nodeName === 'string' && specOf(p).nodeName !== '' ? 1 : 0;
  const readySince = (p: KubeObject): number => timestampMs(podCondition(p, 'Ready')?.lastTransitionTime) ?? 0;
  return [...pods].sort((a, b) => {
    if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
    const phase = (PHASE_RANK[podPhase(a)] ?? 1) - (PHASE_RANK[podPhase(b)] ?? 1);
    if (phase !== 0) return phase;
    const ready = Number(isPodReady(a)) - Number(isPodReady(b));
    if (ready !== 0) return ready;
    if (isPodReady(a) && readySince(a) !== readySince(b)) return readySince(b) - readySince(a);
    if (maxRestarts(a) !== maxRestarts(b)) return maxRestarts(b) - maxRestarts(a);
    return creationMs(b) - creationMs(a);
  });
}

/** controller.slowStartBatch: 1, 2, 4, … creations at a time, so a failing create fails once, not n times. */
export function slowStartBatches(count: number): number[] {
  const batches: number[] = [];
  let remaining = count;
  for (let size = 1; remaining > 0; size *= 2) {
    const batch = Math.min(size, remaining);
    batches.push(batch);
    remaining -= batch;
  }
  return batches;
}

export interface ReplicaSetStatusResult {
  status: Json;
  /** When a Ready pod turns available (minReadySeconds), so the status can say so. */
  recheckAt?: number;
}

/** calculateStatus: counts over the active pods, plus ReplicaFailure while creating or deleting fails. */
export interface ReplicaFailure {
  reason: 'FailedCreate' | 'FailedDelete';
  message: string;
}

export function replicaSetStatus(
  rs: KubeObject,
  ownedPods: KubeObject[],
  failure: ReplicaFailure | undefined,
  now: number,
): ReplicaSetStatusResult {
  const spec = specOf(rs);
  const minReadySeconds = numberField(spec, 'minReadySeconds', 0);
  const templateLabels = (isRecord(templateOf(rs).metadata) ? (templateOf(rs).metadata as Json).labels : undefined) as
    Record<string, string> | undefined;
  const active = ownedPods.filter(isPodActive);
  const waits = active
    .map((p) => podAvailableAt(p, minReadySeconds, now))
    .filter((at): at is number => at !== undefined);
  const existing = jsonList(statusOf(rs).conditions).filter((c) => c.type !== 'ReplicaFailure');
  const previousFailure = jsonList(statusOf(rs).conditions).find((c) => c.type === 'ReplicaFailure');
  const conditions =
    failure === undefined
      ? existing
      : [
          ...existing,
          {
            type: 'ReplicaFailure',
            status: 'True',
            lastTransitionTime: previousFailure?.lastTransitionTime ?? rfc3339(now),
            reason: failure.reason,
            message: failure.message,
          },
        ];
  const status: Json = {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) =>
      matchesLabelSelectorObject({ matchLabels: templateLabels ?? {} }, p.metadata.labels),
    ).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReadySeconds, now)).length,
    observedGeneration: rs.metadata.generation ?? 1,
    ...(conditions.length > 0 ? { conditions } : {}),
  };
  return { status, ...(waits.length > 0 ? { recheckAt: Math.min(...waits) } : {}) };
}
