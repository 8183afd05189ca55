/**
 * The StatefulSet controller: pods with stable names `<set>-<ordinal>`, created and removed in order
 * (OrderedReady) or all at once (Parallel), rolled to a new template from the highest ordinal down to the
 * partition, one pod at a time, each replacement keeping its name. Revisions are `<set>-<hash>`.
 */
import { isRecord } from '../../../api/is-record.js';
import { deepEqual } from '../type-rules.js';
import type { KubeObject } from '../types.js';
import { IDENTITIES } from './cluster-writer.js';
import type { EventSource } from './events.js';
import {
  controllerRefOf,
  numberField,
  objectKey,
  specOf,
  splitObjectKey,
  statusOf,
  templateOf,
  type Json,
} from './object-facts.js';
import { applyClaims, type WorkloadControllerDependencies } from './replicaset-controller.js';
import { claimObjects, podFromTemplate } from './replicaset-decisions.js';
import {
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  REVISION_LABEL,
  ordinalOf,
  planStatefulSet,
  statefulPodOf,
  statefulSetStatus,
  type StatefulPod,
} from './statefulset-decisions.js';
import { everyInterval, keepWatching } from './store-watch.js';
import { podTemplateHash } from './template-hash.js';
import { ReconcileQueue, type ReconcileOutcome } from './work-queue.js';

const COMPONENT = 'statefulset-controller';
const IDENTITY = IDENTITIES.controller('statefulset-controller');
const SOURCE: EventSource = { component: COMPONENT, identity: IDENTITY };

export function startStatefulSetController(deps: WorkloadControllerDependencies): { stop(): Promise<void> } {
  const { store, types, writer, logger } = deps;
  /**
   * Templates by revision name, per set. The API stand-in serves no ControllerRevisions, so a pod recreated
   * below the partition gets its old template from here (or, after a restart, the current one).
   */
  const revisions = new Map<string, Map<string, Json>>();

  const revisionName = (set: KubeObject): string =>
    `${set.metadata.name}-${podTemplateHash(templateOf(set), numberField(statusOf(set), 'collisionCount', 0))}`;

  const podFor = (set: KubeObject, ordinal: number, revision: string, template: Json): KubeObject => {
    const name = `${set.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(set, template, { name });
    pod.metadata.labels = {
      ...(pod.metadata.labels ?? {}),
      [POD_NAME_LABEL]: name,
      [POD_INDEX_LABEL]: String(ordinal),
      [REVISION_LABEL]: revision,
    };
    const spec = pod.spec as Json;
    spec.hostname = name;
    const serviceName = specOf(set).serviceName;
    if (typeof serviceName === 'string' && serviceName !== '') spec.subdomain = serviceName;
    return pod;
  };

  const reconcile = async (key: string): Promise<ReconcileOutcome> => {
    const { namespace, name } = splitObjectKey(key);
    const set = store.get(types.statefulSets, namespace, name);
    if (set === undefined || set.metadata.deletionTimestamp !== undefined) return;
    const uid = set.metadata.uid!;
    const spec = specOf(set);
    const inNamespace = store
      .list(types.pods, { namespace })
      .items.filter(
        (pod) => ordinalOf(name, pod.metadata.name ?? '') !== undefined || controllerRefOf(pod)?.uid === uid,
      );
    const claims = claimObjects(set, inNamespace);
    const adopted = await applyClaims(writer, types.pods, set, claims.adopt, claims.release, IDENTITY, COMPONENT);
    const owned = [...claims.owned, ...adopted];

    const updateRevision = revisionName(set);
    const known = revisions.get(uid) ?? new Map<string, Json>();
    known.set(updateRevision, structuredClone(templateOf(set)));
    revisions.set(uid, known);
    const recorded = statusOf(set).currentRevision;
    const currentRevision = typeof recorded === 'string' && recorded !== '' ? recorded : updateRevision;

    const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
    const rollingUpdate = strategy.type !== 'OnDelete';
    const partition =
      rollingUpdate && isRecord(strategy.rollingUpdate) ? numberField(strategy.rollingUpdate, 'partition', 0) : 0;
    const actions = planStatefulSet({
      replicas: numberField(spec, 'replicas', 1),
      ordered: spec.podManagementPolicy !== 'Parallel',
      rollingUpdate,
      partition,
      updateRevision,
      pods: owned.map((pod) => statefulPodOf(name, pod)).filter((pod): pod is StatefulPod => pod !== undefined),
    });

    for (const action of actions) {
      if (action.kind === 'create') {
        const oldTemplate = action.revision === 'current' ? known.get(currentRevision) : undefined;
        const [revision, template] =
          oldTemplate === undefined ? [updateRevision, templateOf(set)] : [currentRevision, oldTemplate];
        const podName = `${name}-${action.ordinal}`;
        try {
          await writer.create(types.pods, podFor(set, action.ordinal, revision, template), IDENTITY, COMPONENT);
          deps.events.normal(
            SOURCE,
            set,
            'SuccessfulCreate',
            `create Pod ${podName} in StatefulSet ${name} successful`,
          );
        } catch (error) {
          deps.events.warning(
            SOURCE,
            set,
            'FailedCreate',
            `create Pod ${podName} in StatefulSet ${name} failed error: ${(error as Error).message}`,
          );
          throw error;
        }
        continue;
      }
      if (action.why === 'failed')
        deps.events.warning(
          SOURCE,
          set,
          'RecreatingFailedPod',
          `StatefulSet ${namespace}/${name} is recreating failed Pod ${action.name}`,
        );
      const pod = owned.find((p) => p.metadata.name === action.name)!;
      await writer.delete(types.pods, namespace, action.name, { preconditions: { uid: pod.metadata.uid! } }, IDENTITY);
      deps.events.normal(
        SOURCE,
        set,
        'SuccessfulDelete',
        `delete Pod ${action.name} in StatefulSet ${name} successful`,
      );
      logger.info({ namespace, statefulSet: name, pod: action.name, why: action.why }, 'stateful pod deleted');
    }

    await writer.modify(
      types.statefulSets,
      namespace,
      name,
      (current) => {
        const pods = store.list(types.pods, { namespace }).items.filter((pod) => controllerRefOf(pod)?.uid === uid);
        const status = statefulSetStatus(current, pods, currentRevision, updateRevision, Date.now());
        if (deepEqual(status, current.status ?? {})) return undefined;
        current.status = status;
        return current;
      },
      IDENTITY,
      COMPONENT,
      { subresource: 'status', uid },
    );
    return undefined;
  };

  const queue = new ReconcileQueue(COMPONENT, reconcile, logger);
  const watches = [
    keepWatching(
      store,
      types.statefulSets,
      ({ type, object }) => {
        if (type === 'DELETED') revisions.delete(object.metadata.uid ?? '');
        else queue.add(objectKey(object));
      },
      logger,
    ),
    keepWatching(
      store,
      types.pods,
      ({ object }) => {
        const ref = controllerRefOf(object);
        if (ref?.kind === 'StatefulSet') queue.add(`${object.metadata.namespace}/${ref.name}`);
      },
      logger,
    ),
  ];
  const resync = everyInterval(
    deps.reconcileMs,
    () => store.list(types.statefulSets).items.forEach((set) => queue.add(objectKey(set))),
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
