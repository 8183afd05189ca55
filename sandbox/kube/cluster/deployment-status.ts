/**
 * A Deployment's status (calculateStatus and syncRolloutStatus), pure: replica counts summed over its
 * ReplicaSets, the Available condition against replicas - maxUnavailable, and the Progressing condition
 * with its progress deadline.
 */
import { rfc3339 } from '../object-meta.js';
import type { KubeObject } from '../types.js';
import { jsonList, numberField, specOf, statusOf, timestampMs, type Json } from './object-facts.js';
import type { Fenceposts } from './deployment-rollout.js';

/** What happened to the new ReplicaSet in this sync, for the Progressing condition's first reason. */
export type NewReplicaSetEvent = 'created' | 'found' | undefined;

export interface DeploymentStatusResult {
  status: Json;
  /** When the progress deadline runs out if nothing moves; the controller looks again then. */
  deadlineAt?: number;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * deploymentutil.SetDeploymentCondition: same status and reason is no change; same status keeps the transition time.
 */
function setCondition(conditions: Json[], next: Condition, now: number, touch = false): Json[] {
  const at = rfc3339(now);
  const existing = conditions.find((c) => c.type === next.type);
  if (existing !== undefined && existing.status === next.status && existing.reason === next.reason && !touch)
    return conditions;
  const since = existing !== undefined && existing.status === next.status ? existing.lastTransitionTime : at;
  const condition = { ...next, lastUpdateTime: at, lastTransitionTime: since };
  return [...conditions.filter((c) => c.type !== next.type), condition];
}

function count(rs: KubeObject, field: string): number {
  return numberField(statusOf(rs), field, 0);
}

export function deploymentStatus(
  deployment: KubeObject,
  all: KubeObject[],
  newRs: KubeObject | undefined,
  fence: Fenceposts,
  event: NewReplicaSetEvent,
  now: number,
): DeploymentStatusResult {
  const spec = specOf(deployment);
  const replicas = numberField(spec, 'replicas', 1);
  const previous = statusOf(deployment);
  const available = all.reduce((sum, rs) => sum + count(rs, 'availableReplicas'), 0);
  const specTotal = all.reduce((sum, rs) => sum + numberField(specOf(rs), 'replicas', 0), 0);
  const status: Json = {
    observedGeneration: deployment.metadata.generation ?? 1,
    replicas: all.reduce((sum, rs) => sum + count(rs, 'replicas'), 0),
    updatedReplicas: newRs === undefined ? 0 : count(newRs, 'replicas'),
    readyReplicas: all.reduce((sum, rs) => sum + count(rs, 'readyReplicas'), 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, specTotal - available),
    ...(typeof previous.collisionCount === 'number' ? { collisionCount: previous.collisionCount } : {}),
  };

  let conditions = jsonList(previous.conditions);
  conditions =
    available >= replicas - fence.maxUnavailable
      ? setCondition(
          conditions,
          {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          },
          now,
        )
      : setCondition(
          conditions,
          {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
          now,
        );

  const rsName = newRs?.metadata.name;
  const subject = rsName === undefined ? `Deployment "${deployment.metadata.name}"` : `ReplicaSet "${rsName}"`;
  const deadlineSeconds = typeof spec.progressDeadlineSeconds === 'number' ? spec.progressDeadlineSeconds : undefined;
  let deadlineAt: number | undefined;

  if (spec.paused === true) {
    conditions = setCondition(
      conditions,
      { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' },
      now,
    );
  } else if (deadlineSeconds === undefined) {
    conditions = conditions.filter((c) => c.type !== 'Progressing');
  } else {
    if (event === 'created' && rsName !== undefined) {
      conditions = setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetCreated',
          message: `Created new replica set "${rsName}"`,
        },
        now,
      );
    } else if (
      rsName !== undefined &&
      !conditions.some((c) => c.type === 'Progressing' && c.reason !== 'DeploymentPaused')
    ) {
      conditions = setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'True',
          reason: 'FoundNewReplicaSet',
          message: `Found new replica set "${rsName}"`,
        },
        now,
      );
    }
    const current = conditions.find((c) => c.type === 'Progressing');
    const completeAlready = status.replicas === status.updatedReplicas && current?.reason === 'NewReplicaSetAvailable';
    const complete = status.updatedReplicas === replicas && status.replicas === replicas && available === replicas;
    const oldBefore = numberField(previous, 'replicas', 0) - numberField(previous, 'updatedReplicas', 0);
    const oldNow = (status.replicas as number) - (status.updatedReplicas as number);
    const progressed =
      (status.updatedReplicas as number) > numberField(previous, 'updatedReplicas', 0) ||
      oldNow < oldBefore ||
      (status.readyReplicas as number) > numberField(previous, 'readyReplicas', 0) ||
      available > numberField(previous, 'availableReplicas', 0);
    if (!completeAlready) {
      if (complete) {
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `${subject} has successfully progressed.`,
          },
          now,
        );
      } else if (progressed) {
        conditions = setCondition(
          conditions,
          { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `${subject} is progressing.` },
          now,
          true,
        );
      } else if (current !== undefined && current.status === 'True') {
        const lastUpdate = timestampMs(current.lastUpdateTime) ?? now;
        const timeoutAt = lastUpdate + deadlineSeconds * 1000;
        if (now > timeoutAt) {
          conditions = setCondition(
            conditions,
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: `${subject} has timed out progressing.`,
            },
            now,
          );
        } else {
          deadlineAt = timeoutAt + 1;
        }
      }
    }
  }
  // Available first, then Progressing: the order kubectl describe lists them in.
  const order = ['Available', 'Progressing', 'ReplicaFailure'];
  conditions.sort((a, b) => order.indexOf(String(a.type)) - order.indexOf(String(b.type)));
  status.conditions = conditions;
  return { status, ...(deadlineAt === undefined ? {} : { deadlineAt }) };
}
