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
import { PodProcesses, type ProcessRuntimeOptions } from './processes/pod-processes.js';
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
  /** Run the pods whose images it names as local processes; every other pod is simulated. */
  processes?: ProcessRuntimeOptions;
}

export interface Kubelets {
  stop(): Promise<void>;
  /** The host socket of a container port of a pod run as processes. */
  socketFor(podUid: string, port: number): string | undefined;
}

const COMPONENT = 'kubelet';

function sourceFor(node: string): EventSource {
  return { component: COMPONENT, host: node, identity: IDENTITIES.kubelet(node) };
}

function fieldPathOf(container: Record<string, unknown>, init: boolean): string {
  return `spec.${init ? 'initContainers' : 'containers'}{${String(container.name)}}`;
}

export function startKubelet(deps: KubeletDependencies): Kubelets {
  const { store, types, network, timing, logger } = deps;
  const runtimes = new Map<string, PodRuntime>();
  const mountFailures = new Map<string, string>();
  const sourceOf = (pod: KubeObject): EventSource => sourceFor(String(specOf(pod).nodeName ?? ''));
  // The runtime reports process exits and readiness changes; the queue it reports to is made below.
  const later: { queue?: ReconcileQueue } = {};
  const processes =
    deps.processes === undefined
      ? undefined
      : new PodProcesses(
          deps.processes,
          store,
          types,
          {
            warning: (pod, reason, message, fieldPath) =>
              deps.events.warning(sourceOf(pod), pod, reason, message, fieldPath),
            normal: (pod, reason, message, fieldPath) =>
              deps.events.normal(sourceOf(pod), pod, reason, message, fieldPath),
            changed: (namespace, name) => later.queue?.add(`${namespace}/${name}`),
          },
          logger.child({ part: 'container-runtime' }),
        );

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
    const local = processes !== undefined && processes.runsLocally(pod);
    if (local && !isTerminating(pod) && runtime.podIp !== undefined) {
      try {
        await processes.ensureSandbox(pod, runtime.podIp, network.nodeAddressing(node)!.internalIp);
      } catch (error) {
        runtimes.set(uid, runtime);
        const message = `Failed to create pod sandbox: ${(error as Error).message}`;
        deps.events.warning(sourceFor(node), pod, 'FailedCreatePodSandBox', message);
        throw error;
      }
      // Containers start only once every volume is set up, as the kubelet's volume manager has them wait.
      const mountFailure = processes.syncVolumes(pod);
      if (mountFailure !== undefined) {
        if (mountFailures.get(uid) !== mountFailure)
          deps.events.warning(sourceFor(node), pod, 'FailedMount', mountFailure);
        mountFailures.set(uid, mountFailure);
        runtimes.set(uid, runtime);
        await writeStatus(pod, node);
        return { requeueAfterMs: 1000 };
      }
      mountFailures.delete(uid);
    }
    const step = stepPodRuntime(pod, runtime, now, timing);
    let requeueAfterMs = step.nextAt === undefined ? undefined : Math.max(0, step.nextAt - Date.now());
    if (local) {
      const synced = processes.sync(pod, step.runtime, now);
      step.runtime = synced.runtime;
      if (synced.requeueAfterMs !== undefined)
        requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, synced.requeueAfterMs);
      // A deleted pod's processes get their grace period: the deletion finishes once they are gone.
      if (synced.holdDeletion && step.finishDeletion) {
        step.finishDeletion = false;
        step.runtime.deletionFinished = false;
        requeueAfterMs = 100;
      }
    }
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
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  };

  const teardown = (uid: string): void =>
    void processes?.teardown(uid).catch((err: unknown) => logger.warn({ err, uid }, 'pod sandbox teardown failed'));

  const forget = (pod: KubeObject): void => {
    const uid = pod.metadata.uid ?? '';
    runtimes.delete(uid);
    mountFailures.delete(uid);
    teardown(uid);
    if (!network.holds(uid)) return;
    network.release(uid);
    logger.info({ namespace: pod.metadata.namespace, pod: pod.metadata.name, uid }, 'pod gone: address released');
  };

  const reconciles = new ReconcileQueue(COMPONENT, reconcile, logger);
  later.queue = reconciles;
  const watch = keepWatching(
    store,
    types.pods,
    ({ type, object }) => {
      if (type === 'DELETED') forget(object);
      else if (nodeOf(object) !== undefined) reconciles.add(objectKey(object));
    },
    logger,
  );
  const resync = everyInterval(
    timing.reconcileMs,
    () => {
      const live = new Set<string>();
      for (const pod of store.list(types.pods).items) {
        live.add(pod.metadata.uid ?? '');
        if (nodeOf(pod) !== undefined) reconciles.add(objectKey(pod));
      }
      // Deletions a watch restart skipped: their addresses would otherwise never come back.
      for (const uid of network.allocatedPods()) if (!live.has(uid)) network.release(uid);
      for (const uid of runtimes.keys()) if (!live.has(uid)) runtimes.delete(uid);
      for (const uid of processes?.podUids() ?? []) if (!live.has(uid)) teardown(uid);
    },
    logger,
    COMPONENT,
  );

  return {
    async stop() {
      resync.stop();
      watch.stop();
      await reconciles.stop();
      await processes?.close();
    },
    socketFor: (podUid, port) => processes?.socketFor(podUid, port),
  };
}
