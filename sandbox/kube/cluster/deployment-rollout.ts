/**
 * The Deployment controller's rollout arithmetic (pkg/controller/deployment/rolling.go and util), pure:
 * maxSurge/maxUnavailable, how far the new ReplicaSet may grow, how far the old ones may shrink, and which
 * ReplicaSet is the new one. Availability is counted from the pods each ReplicaSet will keep, so old pods
 * go only as new ones become Ready and the floor of replicas - maxUnavailable holds at every step.
 */
import { isRecord } from '../../../api/is-record.js';
import { deepEqual } from '../type-rules.js';
import type { KubeObject } from '../types.js';
import { numberField, specOf, templateOf, type Json } from './object-facts.js';
import { withoutGoZeroValues } from './template-hash.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

export interface Fenceposts {
  maxSurge: number;
  maxUnavailable: number;
}

/** intstr.GetScaledValueFromIntOrPercent: `25%` of total, rounded up or down; a plain number as is. */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.max(0, Math.trunc(value));
  if (typeof value === 'string') {
    const match = /^(\d+)%$/.exec(value.trim());
    if (match !== null) {
      const scaled = (Number(match[1]) * total) / 100;
      return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
    }
  }
  return 0;
}

export function isRollingUpdate(deployment: KubeObject): boolean {
  const strategy = specOf(deployment).strategy;
  return !isRecord(strategy) || strategy.type !== 'Recreate';
}

/** deploymentutil.ResolveFenceposts, with MaxUnavailable's cap at replicas; Recreate allows neither. */
export function fenceposts(deployment: KubeObject): Fenceposts {
  const replicas = numberField(specOf(deployment), 'replicas', 1);
  if (!isRollingUpdate(deployment)) return { maxSurge: 0, maxUnavailable: 0 };
  const strategy = specOf(deployment).strategy as Json | undefined;
  const rolling = isRecord(strategy?.rollingUpdate) ? strategy.rollingUpdate : {};
  const maxSurge = scaledValue(rolling.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = scaledValue(rolling.maxUnavailable ?? '25%', replicas, false);
  // Both rounding to zero would stall the rollout; the controller then allows one unavailable pod.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

/** A ReplicaSet as the rollout sees it. */
export interface ReplicaSetView {
  name: string;
  /** spec.replicas: what it is converging to. */
  replicas: number;
  /** Pods it will keep that are available: min(spec.replicas, its available active pods). */
  available: number;
  /** Creation time, for "oldest first". */
  created: number;
}

/** NewRSNewReplicas for RollingUpdate: grow the new ReplicaSet as far as maxSurge allows. */
export function newReplicaSetTarget(
  replicas: number,
  fence: Fenceposts,
  newRs: ReplicaSetView | undefined,
  all: ReplicaSetView[],
): number {
  const current = newRs?.replicas ?? 0;
  if (current >= replicas) return replicas;
  const total = all.reduce((sum, rs) => sum + rs.replicas, 0);
  const maxTotal = replicas + fence.maxSurge;
  if (total >= maxTotal) return current;
  return current + Math.min(maxTotal - total, replicas - current);
}

/**
 * reconcileOldReplicaSets: first shrink old ReplicaSets by their unavailable pods (they help nobody), then by
 * what availability above the floor allows, oldest first. Returns the new spec.replicas of those that change.
 */
export function oldReplicaSetTargets(
  replicas: number,
  fence: Fenceposts,
  newRs: ReplicaSetView | undefined,
  old: ReplicaSetView[],
): Map<string, number> {
  const targets = new Map<string, number>();
  const oldCount = old.reduce((sum, rs) => sum + rs.replicas, 0);
  if (oldCount === 0) return targets;
  const minAvailable = replicas - fence.maxUnavailable;
  const allCount = oldCount + (newRs?.replicas ?? 0);
  const newUnavailable = newRs === undefined ? 0 : newRs.replicas - newRs.available;
  const maxScaledDown = allCount - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return targets;

  const byAge = [...old].sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  const working = new Map(byAge.map((rs) => [rs.name, { ...rs }]));
  let cleaned = 0;
  for (const rs of working.values()) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = rs.replicas - rs.available;
    if (rs.replicas === 0 || unhealthy <= 0) continue;
    const cut = Math.min(maxScaledDown - cleaned, unhealthy);
    rs.replicas -= cut;
    cleaned += cut;
    targets.set(rs.name, rs.replicas);
  }

  const available =
    [...working.values()].reduce((sum, rs) => sum + Math.min(rs.available, rs.replicas), 0) + (newRs?.available ?? 0);
  if (available <= minAvailable) return targets;
  let budget = available - minAvailable;
  for (const rs of working.values()) {
    if (budget <= 0) break;
    if (rs.replicas === 0) continue;
    const cut = Math.min(rs.replicas, budget);
    rs.replicas -= cut;
    budget -= cut;
    targets.set(rs.name, rs.replicas);
  }
  return targets;
}

/** The template without the label the controller adds, for comparing a ReplicaSet with its Deployment. */
function templateWithoutHash(template: Json): Json {
  const copy = withoutGoZeroValues(template) as Json;
  if (isRecord(copy.metadata) && isRecord(copy.metadata.labels)) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy;
}

/** deploymentutil.EqualIgnoreHash: the ReplicaSet runs the Deployment's current template. */
export function runsTemplateOf(rs: KubeObject, deployment: KubeObject): boolean {
  return deepEqual(templateWithoutHash(templateOf(rs)), templateWithoutHash(templateOf(deployment)));
}

export function revisionOf(object: KubeObject): number {
  const value = Number(object.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** The revision the new ReplicaSet gets: one past every old one (a rollback to an old template renumbers it). */
export function nextRevision(old: KubeObject[]): number {
  return Math.max(0, ...old.map(revisionOf)) + 1;
}
