/**
 * The Deployment controller: one ReplicaSet per pod template (`<deployment>-<pod-template-hash>`, with a
 * revision), rolled out by RollingUpdate (surge first, old pods removed only as new ones become available, so
 * a pod whose readiness gate never turns True holds the rollout, as on a real cluster) or by Recreate (old
 * pods all gone before the new ReplicaSet starts), and a status with Available and Progressing.
 */
import { isRecord } from '../../../api/is-record.js';
import { deepEqual } from '../type-rules.js';
import type { KubeObject } from '../types.js';
import { IDENTITIES, isAlreadyExists } from './cluster-writer.js';
import type { EventSource } from './events.js';
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  fenceposts,
  isRollingUpdate,
  newReplicaSetTarget,
  nextRevision,
  oldReplicaSetTargets,
  revisionOf,
  runsTemplateOf,
  type ReplicaSetView,
} from './deployment-rollout.js';
import { deploymentStatus, type NewReplicaSetEvent } from './deployment-status.js';
import {
  controllerRefOf,
  creationMs,
  isPodActive,
  isPodAvailable,
  numberField,
  objectKey,
  specOf,
  splitObjectKey,
  statusOf,
  templateOf,
  type Json,
} from './object-facts.js';
import { applyClaims, type WorkloadControllerDependencies } from './replicaset-controller.js';
import { claimObjects } from './replicaset-decisions.js';
import { everyInterval, keepWatching } from './store-watch.js';
import { podTemplateHash } from './template-hash.js';
import { ReconcileQueue, type ReconcileOutcome } from './work-queue.js';

const COMPONENT = 'deployment-controller';
const IDENTITY = IDENTITIES.controller('deployment-controller');
const SOURCE: EventSource = { component: COMPONENT, identity: IDENTITY };
/** Annotations a Deployment does not pass on to its ReplicaSets (deploymentutil.skipCopyAnnotation). */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

export function startDeploymentController(deps: WorkloadControllerDependencies): { stop(): Promise<void> } {
  const { store, types, writer, logger } = deps;

  const replicasOf = (object: KubeObject): number => numberField(specOf(object), 'replicas', 1);

  const scale = async (deployment: KubeObject, rs: KubeObject, to: number, revision?: number): Promise<void> => {
    const from = replicasOf(rs);
    const fence = fenceposts(deployment);
    await writer.modify(
      types.replicaSets,
      rs.metadata.namespace,
      rs.metadata.name!,
      (current) => {
        const annotations = { ...(current.metadata.annotations ?? {}) };
        annotations[DESIRED_REPLICAS_ANNOTATION] = String(replicasOf(deployment));
        annotations[MAX_REPLICAS_ANNOTATION] = String(replicasOf(deployment) + fence.maxSurge);
        if (revision !== undefined) annotations[REVISION_ANNOTATION] = String(revision);
        if (replicasOf(current) === to && deepEqual(annotations, current.metadata.annotations ?? {})) return undefined;
        current.metadata.annotations = annotations;
        current.spec = { ...specOf(current), replicas: to };
        return current;
      },
      IDENTITY,
      COMPONENT,
      { uid: rs.metadata.uid! },
    );
    if (from === to) return;
    const direction = to > from ? 'up' : 'down';
    deps.events.normal(
      SOURCE,
      deployment,
      'ScalingReplicaSet',
      `Scaled ${direction} replica set ${rs.metadata.name} from ${from} to ${to}`,
    );
    logger.info(
      {
        namespace: deployment.metadata.namespace,
        deployment: deployment.metadata.name,
        replicaSet: rs.metadata.name,
        from,
        to,
      },
      'scaled replica set',
    );
  };

  /** getNewReplicaSet with createIfNotExisted: `<name>-<hash>`; a clash with another template bumps collisionCount. */
  const createNewReplicaSet = async (
    deployment: KubeObject,
    old: KubeObject[],
    replicas: number,
  ): Promise<KubeObject | undefined> => {
    const collisionCount = numberField(statusOf(deployment), 'collisionCount', 0);
    const template = structuredClone(templateOf(deployment));
    const hash = podTemplateHash(template, collisionCount);
    const meta = isRecord(template.metadata) ? template.metadata : {};
    const labels = { ...((meta.labels as Record<string, string> | undefined) ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    template.metadata = { ...meta, labels };
    const selector = structuredClone((specOf(deployment).selector ?? {}) as Json);
    selector.matchLabels = {
      ...((selector.matchLabels as Record<string, string> | undefined) ?? {}),
      [POD_TEMPLATE_HASH_LABEL]: hash,
    };
    const fence = fenceposts(deployment);
    const annotations = Object.fromEntries(
      Object.entries(deployment.metadata.annotations ?? {}).filter(([key]) => !NOT_COPIED.has(key)),
    );
    const name = `${deployment.metadata.name}-${hash}`;
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: deployment.metadata.namespace,
        labels,
        annotations: {
          ...annotations,
          [REVISION_ANNOTATION]: String(nextRevision(old)),
          [DESIRED_REPLICAS_ANNOTATION]: String(replicasOf(deployment)),
          [MAX_REPLICAS_ANNOTATION]: String(replicasOf(deployment) + fence.maxSurge),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: deployment.metadata.name!,
            uid: deployment.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { replicas, minReadySeconds: numberField(specOf(deployment), 'minReadySeconds', 0), selector, template },
    };
    try {
      const created = await writer.create(types.replicaSets, rs, IDENTITY, COMPONENT);
      if (replicas > 0)
        deps.events.normal(
          SOURCE,
          deployment,
          'ScalingReplicaSet',
          `Scaled up replica set ${name} from 0 to ${replicas}`,
        );
      logger.info(
        { namespace: deployment.metadata.namespace, deployment: deployment.metadata.name, replicaSet: name, replicas },
        'created replica set',
      );
      return created;
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = store.get(types.replicaSets, deployment.metadata.namespace, name);
      if (
        existing !== undefined &&
        controllerRefOf(existing)?.uid === deployment.metadata.uid &&
        runsTemplateOf(existing, deployment)
      )
        return existing;
      // Another template hashed to the same name: try the next hash.
      await writer.modify(
        types.deployments,
        deployment.metadata.namespace,
        deployment.metadata.name!,
        (current) => {
          current.status = { ...statusOf(current), collisionCount: collisionCount + 1 };
          return current;
        },
        IDENTITY,
        COMPONENT,
        { subresource: 'status', uid: deployment.metadata.uid! },
      );
      return undefined;
    }
  };

  const reconcile = async (key: string): Promise<ReconcileOutcome> => {
    const { namespace, name } = splitObjectKey(key);
    const deployment = store.get(types.deployments, namespace, name);
    if (deployment === undefined || deployment.metadata.deletionTimestamp !== undefined) return;
    const claims = claimObjects(deployment, store.list(types.replicaSets, { namespace }).items);
    const adopted = await applyClaims(
      writer,
      types.replicaSets,
      deployment,
      claims.adopt,
      claims.release,
      IDENTITY,
      COMPONENT,
    );
    const pods = store.list(types.pods, { namespace }).items;
    const replicas = replicasOf(deployment);
    const fence = fenceposts(deployment);
    let owned = [...claims.owned, ...adopted];
    let newRs = owned.filter((rs) => runsTemplateOf(rs, deployment)).sort((a, b) => creationMs(a) - creationMs(b))[0];
    let old = owned.filter((rs) => rs !== newRs);
    let event: NewReplicaSetEvent = newRs === undefined ? undefined : 'found';
    const podsOf = (rs: KubeObject): KubeObject[] =>
      pods.filter((pod) => controllerRefOf(pod)?.uid === rs.metadata.uid);
    const view = (rs: KubeObject): ReplicaSetView => {
      const minReady = numberField(specOf(rs), 'minReadySeconds', 0);
      const availablePods = podsOf(rs).filter(
        (pod) => isPodActive(pod) && isPodAvailable(pod, minReady, Date.now()),
      ).length;
      return {
        name: rs.metadata.name!,
        replicas: replicasOf(rs),
        available: Math.min(replicasOf(rs), availablePods),
        created: creationMs(rs),
      };
    };

    if (specOf(deployment).paused !== true) {
      if (newRs !== undefined && revisionOf(newRs) <= Math.max(0, ...old.map(revisionOf))) {
        // A rollback to an older template: that ReplicaSet becomes the newest revision.
        await scale(deployment, newRs, replicasOf(newRs), nextRevision(old));
      }
      if (isRollingUpdate(deployment)) {
        if (newRs === undefined) {
          const target = newReplicaSetTarget(replicas, fence, undefined, old.map(view));
          newRs = await createNewReplicaSet(deployment, old, target);
          event = newRs === undefined ? undefined : 'created';
        } else {
          const target = newReplicaSetTarget(replicas, fence, view(newRs), owned.map(view));
          if (target !== replicasOf(newRs)) await scale(deployment, newRs, target);
          else {
            const targets = oldReplicaSetTargets(replicas, fence, view(newRs), old.map(view));
            for (const rs of old)
              if (targets.has(rs.metadata.name!)) await scale(deployment, rs, targets.get(rs.metadata.name!)!);
          }
        }
      } else {
        const stillScaled = old.filter((rs) => replicasOf(rs) > 0);
        for (const rs of stillScaled) await scale(deployment, rs, 0);
        // Recreate waits for the old pods to be gone, not only stopped: a finalizer still holds their addresses.
        const oldPodsLeft = old.some((rs) => podsOf(rs).length > 0);
        if (stillScaled.length === 0 && !oldPodsLeft) {
          if (newRs === undefined) {
            newRs = await createNewReplicaSet(deployment, old, replicas);
            event = newRs === undefined ? undefined : 'created';
          } else if (replicasOf(newRs) !== replicas) {
            await scale(deployment, newRs, replicas);
          }
        }
      }
    }

    // Status from what the ReplicaSets report now, after this sync's writes.
    owned = owned
      .map((rs) => store.get(types.replicaSets, namespace, rs.metadata.name!))
      .filter((rs): rs is KubeObject => rs !== undefined);
    if (newRs !== undefined) newRs = store.get(types.replicaSets, namespace, newRs.metadata.name!) ?? newRs;
    if (newRs !== undefined && !owned.some((rs) => rs.metadata.uid === newRs!.metadata.uid)) owned.push(newRs);
    old = owned.filter((rs) => rs.metadata.uid !== newRs?.metadata.uid);
    let deadlineAt: number | undefined;
    await writer.modify(
      types.deployments,
      namespace,
      name,
      (current) => {
        const result = deploymentStatus(current, owned, newRs, fence, event, Date.now());
        deadlineAt = result.deadlineAt;
        if (deepEqual(result.status, current.status ?? {})) return undefined;
        current.status = result.status;
        return current;
      },
      IDENTITY,
      COMPONENT,
      { subresource: 'status', uid: deployment.metadata.uid! },
    );
    if (newRs !== undefined) await setRevision(deployment, newRs.metadata.annotations?.[REVISION_ANNOTATION]);
    await cleanUpHistory(deployment, old);
    return deadlineAt === undefined ? undefined : { requeueAfterMs: Math.max(0, deadlineAt - Date.now()) };
  };

  /** The Deployment carries its current revision in the same annotation as its new ReplicaSet. */
  const setRevision = async (deployment: KubeObject, revision: string | undefined): Promise<void> => {
    if (revision === undefined) return;
    await writer.modify(
      types.deployments,
      deployment.metadata.namespace,
      deployment.metadata.name!,
      (current) => {
        if (current.metadata.annotations?.[REVISION_ANNOTATION] === revision) return undefined;
        current.metadata.annotations = { ...(current.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision };
        return current;
      },
      IDENTITY,
      COMPONENT,
      { uid: deployment.metadata.uid! },
    );
  };

  /** cleanupDeployment: old ReplicaSets with no pods beyond revisionHistoryLimit go, oldest revision first. */
  const cleanUpHistory = async (deployment: KubeObject, old: KubeObject[]): Promise<void> => {
    const limit = numberField(specOf(deployment), 'revisionHistoryLimit', 10);
    const idle = old.filter(
      (rs) =>
        replicasOf(rs) === 0 &&
        numberField(statusOf(rs), 'replicas', 0) === 0 &&
        rs.metadata.deletionTimestamp === undefined,
    );
    const surplus = idle.length - limit;
    if (surplus <= 0) return;
    const oldest = [...idle].sort((a, b) => revisionOf(a) - revisionOf(b)).slice(0, surplus);
    for (const rs of oldest)
      await writer.delete(
        types.replicaSets,
        rs.metadata.namespace,
        rs.metadata.name!,
        { preconditions: { uid: rs.metadata.uid! } },
        IDENTITY,
      );
  };

  const queue = new ReconcileQueue(COMPONENT, reconcile, logger);
  const enqueueOwnerOf = (object: KubeObject): void => {
    const ref = controllerRefOf(object);
    if (ref?.kind === 'Deployment') queue.add(`${object.metadata.namespace}/${ref.name}`);
    else if (ref === undefined) {
      for (const deployment of store.list(types.deployments, { namespace: object.metadata.namespace! }).items)
        queue.add(objectKey(deployment));
    }
  };
  const watches = [
    keepWatching(
      store,
      types.deployments,
      ({ type, object }) => type !== 'DELETED' && queue.add(objectKey(object)),
      logger,
    ),
    keepWatching(store, types.replicaSets, ({ object }) => enqueueOwnerOf(object), logger),
    // Recreate waits on pods disappearing; their ReplicaSet leads to the Deployment.
    keepWatching(
      store,
      types.pods,
      ({ type, object }) => {
        const ref = controllerRefOf(object);
        if (type !== 'DELETED' || ref?.kind !== 'ReplicaSet') return;
        const rs = store.get(types.replicaSets, object.metadata.namespace, ref.name);
        if (rs !== undefined) enqueueOwnerOf(rs);
      },
      logger,
    ),
  ];
  const resync = everyInterval(
    deps.reconcileMs,
    () => store.list(types.deployments).items.forEach((d) => queue.add(objectKey(d))),
    logger,
    COMPONENT,
  );

  return {
    async stop() {
      resync.stop();
      for (const watch of watches) watch.stop();
      await queue.stop();
    },
  };
}
