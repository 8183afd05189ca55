/**
 * The ReplicaSet controller: keeps spec.replicas active pods from the template (adopting orphans its
 * selector matches, letting go of pods it no longer selects), deletes the surplus least useful first, and
 * reports counts in status. It reads pods straight from the store, so it needs no creation expectations.
 */
import type { Logger } from 'pino';
import { deepEqual } from '../type-rules.js';
import type { ClusterStore, KubeObject, ResourceType, UserInfo } from '../types.js';
import { IDENTITIES, type ClusterTypes, type ClusterWriter } from './cluster-writer.js';
import type { EventRecorder, EventSource } from './events.js';
import {
  controllerRefOf,
  isPodActive,
  isTerminating,
  numberField,
  objectKey,
  selectsObject,
  specOf,
  splitObjectKey,
  templateOf,
} from './object-facts.js';
import {
  claimObjects,
  podFromTemplate,
  rankPodsForDeletion,
  replicaSetStatus,
  slowStartBatches,
  type ReplicaFailure,
} from './replicaset-decisions.js';
import { everyInterval, keepWatching } from './store-watch.js';
import { ReconcileQueue, type ReconcileOutcome } from './work-queue.js';

export interface WorkloadControllerDependencies {
  store: ClusterStore;
  types: ClusterTypes;
  writer: ClusterWriter;
  events: EventRecorder;
  reconcileMs: number;
  logger: Logger;
}

const COMPONENT = 'replicaset-controller';
const IDENTITY = IDENTITIES.controller('replicaset-controller');
const SOURCE: EventSource = { component: COMPONENT, identity: IDENTITY };

/** Adds or removes the owner's controller reference on each object, as ClaimPods' patches do. */
export async function applyClaims(
  writer: ClusterWriter,
  type: ResourceType,
  owner: KubeObject,
  adopt: KubeObject[],
  release: KubeObject[],
  identity: UserInfo,
  component: string,
): Promise<KubeObject[]> {
  const adopted: KubeObject[] = [];
  const ownerUid = owner.metadata.uid;
  for (const object of adopt) {
    const updated = await writer.modify(
      type,
      object.metadata.namespace,
      object.metadata.name!,
      (current) => {
        if (controllerRefOf(current) !== undefined || isTerminating(current)) return undefined;
        const reference = {
          apiVersion: owner.apiVersion!,
          kind: owner.kind!,
          name: owner.metadata.name!,
          uid: ownerUid!,
          controller: true,
          blockOwnerDeletion: true,
        };
        current.metadata.ownerReferences = [...(current.metadata.ownerReferences ?? []), reference];
        return current;
      },
      identity,
      component,
      { uid: object.metadata.uid! },
    );
    if (updated !== undefined && controllerRefOf(updated)?.uid === ownerUid) adopted.push(updated);
  }
  for (const object of release) {
    await writer.modify(
      type,
      object.metadata.namespace,
      object.metadata.name!,
      (current) => {
        const kept = (current.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== ownerUid);
        if (kept.length === (current.metadata.ownerReferences ?? []).length) return undefined;
        current.metadata.ownerReferences = kept;
        return current;
      },
      identity,
      component,
      { uid: object.metadata.uid! },
    );
  }
  return adopted;
}

export function startReplicaSetController(deps: WorkloadControllerDependencies): { stop(): Promise<void> } {
  const { store, types, writer, logger } = deps;

  const createPods = async (rs: KubeObject, count: number): Promise<ReplicaFailure | undefined> => {
    const template = templateOf(rs);
    for (const batch of slowStartBatches(count)) {
      const results = await Promise.allSettled(
        Array.from({ length: batch }, () =>
          writer.create(
            types.pods,
            podFromTemplate(rs, template, { generateName: `${rs.metadata.name}-` }),
            IDENTITY,
            COMPONENT,
          ),
        ),
      );
      let failure: ReplicaFailure | undefined;
      for (const result of results) {
        if (result.status === 'fulfilled') {
          deps.events.normal(SOURCE, rs, 'SuccessfulCreate', `Created pod: ${result.value.metadata.name}`);
          continue;
        }
        const message = (result.reason as Error).message;
        deps.events.warning(SOURCE, rs, 'FailedCreate', `Error creating: ${message}`);
        failure = { reason: 'FailedCreate', message };
      }
      // A create that fails (a webhook denying the pod, a quota) would fail for the rest of the batch too.
      if (failure !== undefined) return failure;
    }
    return undefined;
  };

  const deletePods = async (rs: KubeObject, victims: KubeObject[]): Promise<ReplicaFailure | undefined> => {
    let failure: ReplicaFailure | undefined;
    for (const pod of victims) {
      try {
        await writer.delete(
          types.pods,
          pod.metadata.namespace,
          pod.metadata.name!,
          { preconditions: { uid: pod.metadata.uid! } },
          IDENTITY,
        );
        deps.events.normal(SOURCE, rs, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (error) {
        const message = (error as Error).message;
        deps.events.warning(SOURCE, rs, 'FailedDelete', `Error deleting: ${message}`);
        failure = { reason: 'FailedDelete', message };
      }
    }
    return failure;
  };

  const ownedPods = (rs: KubeObject): KubeObject[] =>
    store
      .list(types.pods, { namespace: rs.metadata.namespace! })
      .items.filter((pod) => controllerRefOf(pod)?.uid === rs.metadata.uid && selectsObject(rs, pod));

  const reconcile = async (key: string): Promise<ReconcileOutcome> => {
    const { namespace, name } = splitObjectKey(key);
    const rs = store.get(types.replicaSets, namespace, name);
    if (rs === undefined || isTerminating(rs)) return;
    const claims = claimObjects(rs, store.list(types.pods, { namespace }).items);
    const adopted = await applyClaims(writer, types.pods, rs, claims.adopt, claims.release, IDENTITY, COMPONENT);
    const active = [...claims.owned, ...adopted].filter(isPodActive);
    const desired = numberField(specOf(rs), 'replicas', 1);
    let failure: ReplicaFailure | undefined;
    if (active.length < desired) {
      failure = await createPods(rs, desired - active.length);
      logger.info({ namespace, replicaSet: name, from: active.length, to: desired }, 'replica set scaled up');
    } else if (active.length > desired) {
      failure = await deletePods(rs, rankPodsForDeletion(active).slice(0, active.length - desired));
      logger.info({ namespace, replicaSet: name, from: active.length, to: desired }, 'replica set scaled down');
    }
    let recheckAt: number | undefined;
    await writer.modify(
      types.replicaSets,
      namespace,
      name,
      (current) => {
        const result = replicaSetStatus(current, ownedPods(current), failure, Date.now());
        recheckAt = result.recheckAt;
        if (deepEqual(result.status, current.status ?? {})) return undefined;
        current.status = result.status;
        return current;
      },
      IDENTITY,
      COMPONENT,
      { subresource: 'status', uid: rs.metadata.uid! },
    );
    if (failure !== undefined) throw new Error(`replica set ${key}: ${failure.message}`);
    return recheckAt === undefined ? undefined : { requeueAfterMs: Math.max(0, recheckAt - Date.now()) };
  };

  const queue = new ReconcileQueue(COMPONENT, reconcile, logger);
  const enqueueOwnersOf = (pod: KubeObject): void => {
    const ref = controllerRefOf(pod);
    if (ref !== undefined) {
      if (ref.kind === 'ReplicaSet') queue.add(`${pod.metadata.namespace}/${ref.name}`);
      return;
    }
    for (const rs of store.list(types.replicaSets, { namespace: pod.metadata.namespace! }).items)
      if (selectsObject(rs, pod)) queue.add(objectKey(rs));
  };
  const watches = [
    keepWatching(
      store,
      types.replicaSets,
      ({ type, object }) => type !== 'DELETED' && queue.add(objectKey(object)),
      logger,
    ),
    keepWatching(store, types.pods, ({ object }) => enqueueOwnersOf(object), logger),
  ];
  const resync = everyInterval(
    deps.reconcileMs,
    () => store.list(types.replicaSets).items.forEach((rs) => queue.add(objectKey(rs))),
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
