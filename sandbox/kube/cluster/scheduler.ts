/**
 * default-scheduler, reduced to what the sandbox needs: a pending pod goes to the least loaded Ready node
 * whose labels its nodeSelector matches (ties taken round robin) through `pods/binding`; a pod no node fits
 * gets PodScheduled=False (Unschedulable) and a FailedScheduling event, and is tried again later.
 */
import type { Logger } from 'pino';
import { isRecord } from '../../../api/is-record.js';
import { rfc3339 } from '../object-meta.js';
import type { KubeObject } from '../types.js';
import { IDENTITIES, type ClusterTypes, type ClusterWriter } from './cluster-writer.js';
import type { EventRecorder, EventSource } from './events.js';
import {
  isPodActive,
  isTerminating,
  objectKey,
  podConditions,
  specOf,
  splitObjectKey,
  type Json,
} from './object-facts.js';
import { isSchedulableNode } from './nodes.js';
import type { BindingClusterStore } from './options.js';
import type { PodNetwork } from './pod-network.js';
import { everyInterval, keepWatching } from './store-watch.js';
import { ReconcileQueue } from './work-queue.js';

export const SCHEDULER_NAME = 'default-scheduler';

export interface NodeCandidate {
  name: string;
  labels: Record<string, string>;
  schedulable: boolean;
  /** Pods assigned to it that still run (or will). */
  load: number;
}

export type SchedulingDecision = { node: string } | { unschedulable: string };

/** Filter (unschedulable, nodeSelector), then score (fewest pods), ties broken round robin after `previous`. */
export function chooseNode(
  pod: KubeObject,
  candidates: NodeCandidate[],
  previous: string | undefined,
): SchedulingDecision {
  const selector = isRecord(specOf(pod).nodeSelector) ? (specOf(pod).nodeSelector as Record<string, string>) : {};
  const cordoned = candidates.filter((n) => !n.schedulable);
  const mismatched = candidates.filter(
    (n) => n.schedulable && !Object.entries(selector).every(([k, v]) => n.labels[k] === v),
  );
  const feasible = candidates
    .filter((n) => n.schedulable && !mismatched.includes(n))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  if (feasible.length === 0) {
    const total = candidates.length;
    const reasons = [
      ...(mismatched.length > 0 ? [`${mismatched.length} node(s) didn't match Pod's node affinity/selector`] : []),
      ...(cordoned.length > 0 ? [`${cordoned.length} node(s) were unschedulable`] : []),
    ];
    const detail = reasons.length > 0 ? ` ${reasons.join(', ')}.` : '';
    return {
      unschedulable: `0/${total} nodes are available:${detail} preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`,
    };
  }
  const least = Math.min(...feasible.map((n) => n.load));
  const tied = feasible.filter((n) => n.load === least);
  const next =
    tied.find((n) => previous !== undefined && n.name.localeCompare(previous, 'en', { numeric: true }) > 0) ?? tied[0]!;
  return { node: next.name };
}

export interface SchedulerDependencies {
  store: BindingClusterStore;
  types: ClusterTypes;
  writer: ClusterWriter;
  events: EventRecorder;
  network: PodNetwork;
  reconcileMs: number;
  logger: Logger;
}

const SOURCE: EventSource = { component: SCHEDULER_NAME, identity: IDENTITIES.scheduler };

function wantsScheduling(pod: KubeObject): boolean {
  const spec = specOf(pod);
  const scheduler =
    typeof spec.schedulerName === 'string' && spec.schedulerName !== '' ? spec.schedulerName : SCHEDULER_NAME;
  return (
    (typeof spec.nodeName !== 'string' || spec.nodeName === '') && !isTerminating(pod) && scheduler === SCHEDULER_NAME
  );
}

export function startScheduler(deps: SchedulerDependencies): { stop(): Promise<void> } {
  const { store, types, logger } = deps;
  let previous: string | undefined;

  const candidates = (): NodeCandidate[] => {
    const load = new Map<string, number>();
    for (const pod of store.list(types.pods).items) {
      const node = specOf(pod).nodeName;
      if (typeof node === 'string' && isPodActive(pod)) load.set(node, (load.get(node) ?? 0) + 1);
    }
    return store
      .list(types.nodes)
      .items.filter((node) => deps.network.hasNode(node.metadata.name ?? ''))
      .map((node) => ({
        name: node.metadata.name!,
        labels: node.metadata.labels ?? {},
        schedulable: isSchedulableNode(node),
        load: load.get(node.metadata.name!) ?? 0,
      }));
  };

  const reconcile = async (key: string): Promise<{ requeueAfterMs: number } | void> => {
    const { namespace, name } = splitObjectKey(key);
    const pod = store.get(types.pods, namespace, name);
    if (pod === undefined || !wantsScheduling(pod)) return;
    const decision = chooseNode(pod, candidates(), previous);
    if ('node' in decision) {
      store.bindPod(namespace, name, decision.node);
      previous = decision.node;
      logger.info({ namespace, pod: name, node: decision.node }, 'pod scheduled');
      deps.events.normal(SOURCE, pod, 'Scheduled', `Successfully assigned ${namespace}/${name} to ${decision.node}`);
      return;
    }
    await markUnschedulable(pod, decision.unschedulable);
    deps.events.warning(SOURCE, pod, 'FailedScheduling', decision.unschedulable);
    return { requeueAfterMs: deps.reconcileMs };
  };

  const markUnschedulable = (pod: KubeObject, message: string): Promise<KubeObject | undefined> =>
    deps.writer.modify(
      types.pods,
      pod.metadata.namespace,
      pod.metadata.name!,
      (current) => {
        const conditions = podConditions(current);
        const existing = conditions.find((c) => c.type === 'PodScheduled');
        if (existing?.status === 'False' && existing.message === message) return undefined;
        const condition: Json = {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: existing?.status === 'False' ? existing.lastTransitionTime : rfc3339(Date.now()),
          reason: 'Unschedulable',
          message,
        };
        current.status = {
          ...(isRecord(current.status) ? current.status : {}),
          conditions: [...conditions.filter((c) => c !== existing), condition],
        };
        return current;
      },
      IDENTITIES.scheduler,
      SCHEDULER_NAME,
      { subresource: 'status', uid: pod.metadata.uid! },
    );

  const queue = new ReconcileQueue('scheduler', reconcile, logger);
  const enqueuePending = (): void => {
    for (const pod of store.list(types.pods).items) if (wantsScheduling(pod)) queue.add(objectKey(pod));
  };
  const podWatch = keepWatching(
    store,
    types.pods,
    ({ type, object }) => {
      if (type !== 'DELETED' && wantsScheduling(object)) queue.add(objectKey(object));
    },
    logger,
  );
  // A node turning Ready or schedulable may fit pods that waited.
  const nodeWatch = keepWatching(
    store,
    types.nodes,
    ({ type }) => {
      if (type !== 'DELETED') enqueuePending();
    },
    logger,
  );
  const resync = everyInterval(deps.reconcileMs, enqueuePending, logger, 'scheduler');

  return {
    async stop() {
      resync.stop();
      podWatch.stop();
      nodeWatch.stop();
      await queue.stop();
    },
  };
}
