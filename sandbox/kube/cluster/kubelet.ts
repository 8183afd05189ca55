/**
 * The kubelets of every sandbox node: they take the pods bound to their node, give each its network
 * (CNI ADD), drive the pod runtime, report status through `pods/status` (re-reading and merging on a
 * conflict, never touching conditions they do not own), finish graceful deletions, and free a pod's
 * address once the pod object is gone.
 */
import type { Logger } from 'pino';
import type { ClusterStore, KubeObject } from '../types.js';
import { IDENTITIES, type ClusterTypes, type ClusterWriter } from './cluster-writer.js';
import type { EventRecorder, EventSource } from './events.js';
import { isTerminating, objectKey, specOf, splitObjectKey, statusOf } from './object-facts.js';
import type { ClusterTiming } from './options.js';
import type { PodNetwork } from './pod-network.js';
import { newPodRuntime, runtimeFromStatus, stepPodRuntime, type PodRuntime, type RuntimeEvent } from './pod-runtime.js';
import { mergedPodStatus } from './pod-status.js';
import { everyInterval, keepWatching } from './store-watch.js';
import { ReconcileQueue, type ReconcileOutcome } from './work-queue.js';

export interface KubeletDependencies {
  store: ClusterStore;
  types: ClusterTypes;
  writer: ClusterWriter;
  events: EventRecorder;
  network: PodNetwork;
  timing: ClusterTiming;
  logger: Logger;
}

const COMPONENT = 'kubelet';

function sourceFor(node: string): EventSource {
  return { component: COMPONENT, host: node, identity: IDENTITIES.kubelet(node) };
}

function fieldPathOf(container: Record<string, unknown>, init: boolean): string {
  return `spec.${init ? 'initContainers' : 'containers'}{${String(container.name)}}`;
}

export function startKubelet(deps: KubeletDependencies): { stop(): Promise<void> } {
  const { store, types, network, timing, logger } = deps;
  const runtimes = new Map<string, PodRuntime>();

  const nodeOf = (pod: KubeObject): string | undefined => {
    const node = specOf(pod).nodeName;
    return typeof node === 'string' && network.hasNode(node) ? node : undefined;
  };

  const recordRuntimeEvents = (pod: KubeObject, node: string, events: RuntimeEvent[]): void => {
    const source = sourceFor(node);
    for (const event of events) {
      const name = String(event.container.name);
      if (event.kind === 'started') {
        const fieldPath = fieldPathOf(event.container, event.init);
        deps.events.normal(
          source,
          pod,
          'Pulled',
          `Container image "${String(event.container.image)}" already present on machine`,
          fieldPath,
        );
        deps.events.normal(source, pod, 'Created', `Created container: ${name}`, fieldPath);
        deps.events.normal(source, pod, 'Started', `Started container ${name}`, fieldPath);
      } else if (event.kind === 'killed') {
        deps.events.normal(source, pod, 'Killing', `Stopping container ${name}`);
      } else {
        const message = `Back-off restarting failed container ${name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
        deps.events.warning(source, pod, 'BackOff', message, fieldPathOf(event.container, true));
      }
    }
  };

  /** The runtime for this pod: known, rebuilt from a status an earlier run wrote, or new. */
  const runtimeFor = (pod: KubeObject, node: string, now: number): PodRuntime => {
    const uid = pod.metadata.uid!;
    const known = runtimes.get(uid);
    if (known !== undefined) return known;
    const podIp = statusOf(pod).podIP;
    if (typeof podIp !== 'string' || podIp === '') return newPodRuntime(pod, node, now);
    network.inherit(uid, node, podIp, specOf(pod).hostNetwork === true);
    return runtimeFromStatus(pod, node, now);
  };

  const writeStatus = (pod: KubeObject, node: string): Promise<KubeObject | undefined> => {
    const uid = pod.metadata.uid!;
    const hostIp = network.nodeAddressing(node)!.internalIp;
    return deps.writer.modify(
      types.pods,
      pod.metadata.namespace,
      pod.metadata.name!,
      (current) => {
        const runtime = runtimes.get(uid);
        if (runtime === undefined) return undefined;
        const status = mergedPodStatus(current, runtime, hostIp, Date.now(), timing);
        if (status === undefined) return undefined;
        current.status = status;
        return current;
      },
      IDENTITIES.kubelet(node),
      COMPONENT,
      { subresource: 'status', uid },
    );
  };

  const reconcile = async (key: string): Promise<ReconcileOutcome> => {
    const { namespace, name } = splitObjectKey(key);
    const pod = store.get(types.pods, namespace, name);
    if (pod === undefined) return;
    const node = nodeOf(pod);
    if (node === undefined) return;
    const uid = pod.metadata.uid!;
    const now = Date.now();
    let runtime = runtimeFor(pod, node, now);
    if (!isTerminating(pod) && runtime.sandboxAt === undefined) {
      try {
        const podIp = network.assign(uid, node, specOf(pod).hostNetwork === true);
        runtime = { ...runtime, podIp, sandboxAt: now };
        logger.info({ namespace, pod: name, uid, node, podIp }, 'pod sandbox created');
      } catch (error) {
        runtimes.set(uid, runtime);
        const message = `Failed to create pod sandbox: plugin type="terway" failed (add): ${(error as Error).message}`;
        deps.events.warning(sourceFor(node), pod, 'FailedCreatePodSandBox', message);
        throw error;
      }
    }
    const step = stepPodRuntime(pod, runtime, now, timing);
    runtimes.set(uid, step.runtime);
    recordRuntimeEvents(pod, node, step.events);
    await writeStatus(pod, node);
    if (step.finishDeletion) {
      // The store removes the pod now, or keeps it Terminating while finalizers remain.
      await deps.writer.delete(
        types.pods,
        namespace,
        name,
        { gracePeriodSeconds: 0, preconditions: { uid } },
        IDENTITIES.kubelet(node),
      );
      logger.info({ namespace, pod: name, uid, node }, 'pod termination finished');
    }
    return step.nextAt === undefined ? undefined : { requeueAfterMs: Math.max(0, step.nextAt - Date.now()) };
  };

  const forget = (pod: KubeObject): void => {
    const uid = pod.metadata.uid ?? '';
    runtimes.delete(uid);
    if (!network.holds(uid)) return;
    network.release(uid);
    logger.info({ namespace: pod.metadata.namespace, pod: pod.metadata.name, uid }, 'pod gone: address released');
  };

  const queue = new ReconcileQueue(COMPONENT, reconcile, logger);
  const watch = keepWatching(
    store,
    types.pods,
    ({ type, object }) => {
      if (type === 'DELETED') forget(object);
      else if (nodeOf(object) !== undefined) queue.add(objectKey(object));
    },
    logger,
  );
  const resync = everyInterval(
    timing.reconcileMs,
    () => {
      const live = new Set<string>();
      for (const pod of store.list(types.pods).items) {
        live.add(pod.metadata.uid ?? '');
        if (nodeOf(pod) !== undefined) queue.add(objectKey(pod));
      }
      // Deletions a watch restart skipped: their addresses would otherwise never come back.
      for (const uid of network.allocatedPods()) if (!live.has(uid)) network.release(uid);
      for (const uid of runtimes.keys()) if (!live.has(uid)) runtimes.delete(uid);
    },
    logger,
    COMPONENT,
  );

  return {
    async stop() {
      resync.stop();
      watch.stop();
      await queue.stop();
    },
  };
}
