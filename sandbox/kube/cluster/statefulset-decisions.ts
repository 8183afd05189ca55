/**
 * The StatefulSet controller's decisions (stateful_set_control.go), pure: which ordinal to create, which pod
 * to delete (failed, beyond replicas, or of an old revision) and when to wait, under OrderedReady or
 * Parallel, RollingUpdate with a partition or OnDelete; and the status it reports.
 */
import { isRecord } from '../../../api/is-record.js';
import type { KubeObject } from '../types.js';
import {
  isRunningAndReady,
  isPodAvailable,
  isTerminating,
  numberField,
  specOf,
  statusOf,
  type Json,
} from './object-facts.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

export interface StatefulPod {
  ordinal: number;
  name: string;
  revision: string;
  terminating: boolean;
  /** Running and Ready, not terminating. */
  healthy: boolean;
  /** Succeeded or Failed and not yet being deleted: to be replaced. */
  finished: boolean;
}

export type StatefulSetAction =
  | { kind: 'create'; ordinal: number; revision: 'current' | 'update' }
  | { kind: 'delete'; name: string; why: 'failed' | 'condemned' | 'update' };

export interface StatefulSetPlanInput {
  replicas: number;
  /** OrderedReady: one pod at a time, each waiting for its predecessors. */
  ordered: boolean;
  rollingUpdate: boolean;
  partition: number;
  updateRevision: string;
  pods: StatefulPod[];
}

/** `<set>-<ordinal>` → ordinal; undefined for a name that is not one of the set's. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

export function statefulPodOf(setName: string, pod: KubeObject): StatefulPod | undefined {
  const ordinal = ordinalOf(setName, pod.metadata.name ?? '');
  if (ordinal === undefined) return undefined;
  const phase = statusOf(pod).phase;
  return {
    ordinal,
    name: pod.metadata.name!,
    revision: pod.metadata.labels?.[REVISION_LABEL] ?? '',
    terminating: isTerminating(pod),
    healthy: !isTerminating(pod) && isRunningAndReady(pod),
    finished: !isTerminating(pod) && (phase === 'Succeeded' || phase === 'Failed'),
  };
}

/** What to do in this sync; in OrderedReady at most one thing, and nothing while a predecessor is unhealthy. */
export function planStatefulSet(input: StatefulSetPlanInput): StatefulSetAction[] {
  const { replicas, ordered } = input;
  const actions: StatefulSetAction[] = [];
  const byOrdinal = new Map(input.pods.map((pod) => [pod.ordinal, pod]));

  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const pod = byOrdinal.get(ordinal);
    if (pod === undefined) {
      // Below the partition a pod is recreated at the revision it ran, not the one being rolled out.
      actions.push({
        kind: 'create',
        ordinal,
        revision: input.rollingUpdate && ordinal < input.partition ? 'current' : 'update',
      });
      if (ordered) return actions;
      continue;
    }
    if (pod.finished) {
      actions.push({ kind: 'delete', name: pod.name, why: 'failed' });
      if (ordered) return actions;
      continue;
    }
    if (!pod.healthy && ordered) return actions;
  }

  const condemned = input.pods.filter((pod) => pod.ordinal >= replicas).sort((a, b) => a.ordinal - b.ordinal);
  const firstUnhealthy = condemned.find((pod) => !pod.healthy);
  for (const pod of [...condemned].reverse()) {
    if (pod.terminating) {
      if (ordered) return actions;
      continue;
    }
    if (ordered && !pod.healthy && pod !== firstUnhealthy) return actions;
    actions.push({ kind: 'delete', name: pod.name, why: 'condemned' });
    if (ordered) return actions;
  }

  if (!input.rollingUpdate) return actions;
  // Highest ordinal first, one pod at a time, each replacement Running and Ready before the next goes.
  for (let ordinal = replicas - 1; ordinal >= Math.max(0, input.partition); ordinal--) {
    const pod = byOrdinal.get(ordinal);
    if (pod !== undefined && pod.revision !== input.updateRevision && !pod.terminating) {
      actions.push({ kind: 'delete', name: pod.name, why: 'update' });
      return actions;
    }
    if (pod === undefined || !pod.healthy) return actions;
  }
  return actions;
}

/** computeReplicaStatus and completeRollingUpdate. */
export function statefulSetStatus(
  set: KubeObject,
  pods: KubeObject[],
  currentRevision: string,
  updateRevision: string,
  now: number,
): Json {
  const spec = specOf(set);
  const minReadySeconds = numberField(spec, 'minReadySeconds', 0);
  const created = pods.filter((pod) => typeof statusOf(pod).phase === 'string');
  const live = created.filter((pod) => !isTerminating(pod));
  const status: Json = {
    observedGeneration: set.metadata.generation ?? 1,
    replicas: created.length,
    readyReplicas: pods.filter(isRunningAndReady).length,
    availableReplicas: pods.filter((pod) => isRunningAndReady(pod) && isPodAvailable(pod, minReadySeconds, now)).length,
    currentReplicas: live.filter((pod) => pod.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
    updatedReplicas: live.filter((pod) => pod.metadata.labels?.[REVISION_LABEL] === updateRevision).length,
    currentRevision,
    updateRevision,
    collisionCount: numberField(statusOf(set), 'collisionCount', 0),
  };
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
  const rolling = strategy.type !== 'OnDelete';
  if (rolling && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = updateRevision;
  }
  return status;
}
