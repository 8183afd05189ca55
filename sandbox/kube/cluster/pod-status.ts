/**
 * The pod status a kubelet reports for a runtime state, and how it merges into what the API holds: the
 * kubelet's own conditions are replaced (their lastTransitionTime kept unless the status flips), every other
 * condition — a readiness gate's, set by its controller — is kept as it is. Ready is True only when every
 * container is ready and every readiness gate's condition is "True" (KEP-580; a missing one counts as False).
 */
import { createHash } from 'node:crypto';
import { isRecord } from '../../../api/is-record.js';
import { rfc3339 } from '../object-meta.js';
import { deepEqual } from '../type-rules.js';
import type { KubeObject } from '../types.js';
import { jsonList, podConditions, specOf, statusOf, type Json } from './object-facts.js';
import type { ClusterTiming } from './options.js';
import { hasSucceeded, isContainerReady, isRunning, type ContainerRun, type PodRuntime } from './pod-runtime.js';

/** kubetypes.PodConditionByKubelet, in the order the kubelet lists them. */
export const KUBELET_CONDITIONS = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
] as const;

interface ConditionState {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

/** docker.io/library/nginx:latest for `nginx`: the reference a runtime reports for an image. */
export function normalizedImage(image: string): string {
  const hasDigest = image.includes('@');
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const tagged = hasDigest || lastSegment.includes(':') ? image : `${image}:latest`;
  const first = tagged.split('/')[0]!;
  const hasRegistry = tagged.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return tagged;
  return tagged.includes('/') ? `docker.io/${tagged}` : `docker.io/library/${tagged}`;
}

function imageId(image: string): string {
  const reference = normalizedImage(image);
  const repository = reference.includes('@')
    ? reference.slice(0, reference.indexOf('@'))
    : reference.slice(0, reference.lastIndexOf(':'));
  return `${repository}@sha256:${createHash('sha256').update(reference).digest('hex')}`;
}

function terminatedState(run: ContainerRun): Json {
  const succeeded = run.exitCode === 0;
  return {
    terminated: {
      exitCode: run.exitCode ?? 0,
      reason: succeeded ? 'Completed' : 'Error',
      startedAt: rfc3339(run.startedAt),
      finishedAt: rfc3339(run.finishedAt ?? run.startedAt),
      containerID: run.containerId,
    },
  };
}

function containerStatus(container: Json, run: ContainerRun | undefined, ready: boolean, waitingReason: string): Json {
  const image = typeof container.image === 'string' ? container.image : '';
  const base = { name: container.name, image: normalizedImage(image) };
  if (run === undefined) {
    return {
      ...base,
      imageID: '',
      state: { waiting: { reason: waitingReason } },
      lastState: {},
      ready: false,
      restartCount: 0,
      started: false,
    };
  }
  if (run.restartAt !== undefined) {
    // Between a crash and its restart: the kubelet shows the wait, and the crash as the last state.
    return {
      ...base,
      imageID: imageId(image),
      containerID: run.containerId,
      state: {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.ceil((run.restartAt - (run.finishedAt ?? run.restartAt)) / 1000)}s restarting failed container=${String(container.name)}`,
        },
      },
      lastState: terminatedState(run),
      ready: false,
      restartCount: run.restartCount,
      started: false,
    };
  }
  const last = run.lastTermination;
  return {
    ...base,
    imageID: imageId(image),
    containerID: run.containerId,
    state: isRunning(run) ? { running: { startedAt: rfc3339(run.startedAt) } } : terminatedState(run),
    lastState:
      last === undefined
        ? {}
        : terminatedState({
            startedAt: last.startedAt,
            finishedAt: last.finishedAt,
            exitCode: last.exitCode,
            containerId: last.containerId,
            restartCount: 0,
          }),
    ready,
    restartCount: run.restartCount,
    started: isRunning(run),
  };
}

function names(containers: Json[]): string {
  return `[${containers.map((c) => String(c.name)).join(' ')}]`;
}

/** The kubelet-owned conditions for this pod and runtime, Ready evaluated against the pod's gate conditions. */
export function kubeletConditions(
  pod: KubeObject,
  runtime: PodRuntime,
  now: number,
  timing: ClusterTiming,
): ConditionState[] {
  const spec = specOf(pod);
  const inits = jsonList(spec.initContainers);
  const apps = jsonList(spec.containers);
  const incomplete = inits.filter((_, i) => !hasSucceeded(runtime.initRuns[i]));
  const unready = apps.filter((_, i) => !isContainerReady(runtime.appRuns[i], now, timing));
  const sandboxUp = runtime.sandboxAt !== undefined && runtime.stoppedAt === undefined && !runtime.failed;
  const containersReady: ConditionState =
    unready.length === 0
      ? { type: 'ContainersReady', status: 'True' }
      : {
          type: 'ContainersReady',
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: ${names(unready)}`,
        };

  let ready: ConditionState = { ...containersReady, type: 'Ready' };
  if (containersReady.status === 'True') {
    const present = new Map(podConditions(pod).map((c) => [String(c.type), c]));
    const gateProblems = jsonList(spec.readinessGates).flatMap((gate) => {
      const type = String(gate.conditionType);
      const condition = present.get(type);
      if (condition === undefined) return [`corresponding condition of pod readiness gate "${type}" does not exist.`];
      return condition.status === 'True'
        ? []
        : [`the status of pod readiness gate "${type}" is not "True", but ${String(condition.status)}`];
    });
    if (gateProblems.length > 0)
      ready = { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: gateProblems.join(', ') };
  }
  return [
    { type: 'PodReadyToStartContainers', status: sandboxUp ? 'True' : 'False' },
    incomplete.length === 0
      ? { type: 'Initialized', status: 'True' }
      : {
          type: 'Initialized',
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: ${names(incomplete)}`,
        },
    ready,
    containersReady,
    { type: 'PodScheduled', status: 'True' },
  ];
}

export function podPhaseFor(pod: KubeObject, runtime: PodRuntime): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  if (runtime.failed) return 'Failed';
  const inits = jsonList(specOf(pod).initContainers);
  if (runtime.stoppedAt !== undefined) {
    // Since 1.27 a deleted pod's phase turns terminal once its containers have stopped; one whose app
    // containers never ran counts as Failed (their status is unknown to the runtime).
    const apps = jsonList(specOf(pod).containers);
    const appsSucceeded = apps.every((_, i) => runtime.appRuns[i]?.exitCode === 0);
    const initsSucceeded = runtime.initRuns.every((run) => run === undefined || run.exitCode === 0);
    return appsSucceeded && initsSucceeded ? 'Succeeded' : 'Failed';
  }
  const initialized = inits.every((_, i) => hasSucceeded(runtime.initRuns[i]));
  return initialized && runtime.appRuns.length > 0 ? 'Running' : 'Pending';
}

/**
 * The status to write, or undefined when the API already holds it (no write, no watch event). Fields the
 * kubelet does not own (qosClass, nominatedNodeName, foreign conditions) come from `pod` unchanged.
 */
export function mergedPodStatus(
  pod: KubeObject,
  runtime: PodRuntime,
  hostIp: string,
  now: number,
  timing: ClusterTiming,
): Json | undefined {
  const current = statusOf(pod);
  const spec = specOf(pod);
  const inits = jsonList(spec.initContainers);
  const apps = jsonList(spec.containers);
  const hostNetwork = spec.hostNetwork === true;
  const podIp = hostNetwork ? hostIp : runtime.podIp;

  const existing = podConditions(pod);
  const owned = new Set<string>(KUBELET_CONDITIONS);
  const conditions: Json[] = [
    ...existing.filter((c) => !owned.has(String(c.type))),
    ...kubeletConditions(pod, runtime, now, timing).map((state) => {
      const before = existing.find((c) => c.type === state.type);
      const since =
        before !== undefined && before.status === state.status && typeof before.lastTransitionTime === 'string'
          ? before.lastTransitionTime
          : rfc3339(now);
      return {
        type: state.type,
        status: state.status,
        lastProbeTime: null,
        lastTransitionTime: since,
        ...(state.reason === undefined ? {} : { reason: state.reason, message: state.message }),
      };
    }),
  ];

  const appWaiting = inits.length > 0 ? 'PodInitializing' : 'ContainerCreating';
  const next: Json = {
    ...current,
    phase: podPhaseFor(pod, runtime),
    conditions,
    hostIP: hostIp,
    hostIPs: [{ ip: hostIp }],
    ...(podIp === undefined ? {} : { podIP: podIp, podIPs: [{ ip: podIp }] }),
    startTime: typeof current.startTime === 'string' ? current.startTime : rfc3339(runtime.startTime),
    ...(inits.length === 0
      ? {}
      : {
          initContainerStatuses: inits.map((c, i) =>
            containerStatus(c, runtime.initRuns[i], hasSucceeded(runtime.initRuns[i]), 'PodInitializing'),
          ),
        }),
    containerStatuses: apps.map((c, i) =>
      containerStatus(c, runtime.appRuns[i], isContainerReady(runtime.appRuns[i], now, timing), appWaiting),
    ),
  };
  if (isRecord(current) && deepEqual(next, current)) return undefined;
  return next;
}
