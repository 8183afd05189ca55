/**
 * The container runtime a kubelet drives, as a pure state machine over time: the sandbox (its IP), init
 * containers one after another, then the app containers, then termination. Nothing runs: an ordinary init
 * container "completes" after a delay, and podeip's wait-for-EIP init container completes when the address
 * it waits for is in the pod's annotations, exactly when its script would.
 */
import { createHash } from 'node:crypto';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../../api/constants.js';
import { isRecord } from '../../../api/is-record.js';
import { isIpv4Address, isWaitForEipContainer, waitTimeoutSeconds } from '../../../api/wait-container.js';
import type { KubeObject } from '../types.js';
import { isTerminating, jsonList, specOf, statusOf, timestampMs, type Json } from './object-facts.js';
import type { ClusterTiming } from './options.js';

export interface Termination {
  exitCode: number;
  startedAt: number;
  finishedAt: number;
  containerId: string;
}

export interface ContainerRun {
  startedAt: number;
  containerId: string;
  restartCount: number;
  finishedAt?: number;
  exitCode?: number;
  /** The run before the latest restart. */
  lastTermination?: Termination;
  /** What its readiness probe says, for a container that runs as a process; by the clock otherwise. */
  ready?: boolean;
  /** A process that exited and restarts at this time (the kubelet's CrashLoopBackOff until then). */
  restartAt?: number;
}

export interface PodRuntime {
  uid: string;
  nodeName: string;
  /** When the kubelet first took the pod on (status.startTime). */
  startTime: number;
  /** When the sandbox got its network; nothing starts before. */
  sandboxAt?: number;
  podIp?: string;
  /** Index-aligned with spec.initContainers; only the ones started so far. */
  initRuns: ContainerRun[];
  /** Index-aligned with spec.containers, once the init containers are done. */
  appRuns: ContainerRun[];
  /** When the containers were stopped for the pod's deletion. */
  stoppedAt?: number;
  /** An init container failed under restartPolicy Never: the pod is over. */
  failed: boolean;
  /** The final delete (grace period 0) has been sent. */
  deletionFinished: boolean;
}

export type RuntimeEvent =
  | { kind: 'started'; container: Json; init: boolean }
  | { kind: 'killed'; container: Json }
  | { kind: 'initTimedOut'; container: Json; exitCode: number };

export interface RuntimeStep {
  runtime: PodRuntime;
  events: RuntimeEvent[];
  /** When something is next due to happen by the clock alone. */
  nextAt?: number;
  /** Send the deletion with grace period 0 now. */
  finishDeletion: boolean;
}

/** Exit code of the wait script when SIGTERM reaches it (`trap 'exit 143' TERM`) and of a killed init container. */
const KILLED_EXIT_CODE = 143;

export function newPodRuntime(pod: KubeObject, nodeName: string, now: number): PodRuntime {
  return {
    uid: pod.metadata.uid ?? '',
    nodeName,
    startTime: now,
    initRuns: [],
    appRuns: [],
    failed: false,
    deletionFinished: false,
  };
}

/** The runtime state a pod's status already shows (the cluster started again over an existing store). */
export function runtimeFromStatus(pod: KubeObject, nodeName: string, now: number): PodRuntime {
  const status = statusOf(pod);
  const runtime = newPodRuntime(pod, nodeName, timestampMs(status.startTime) ?? now);
  if (typeof status.podIP !== 'string' || status.podIP === '') return runtime;
  runtime.podIp = status.podIP;
  runtime.sandboxAt = runtime.startTime;
  const runOf = (entry: Json): ContainerRun | undefined => {
    const state = isRecord(entry.state) ? entry.state : {};
    const id = typeof entry.containerID === 'string' ? entry.containerID : '';
    const restartCount = typeof entry.restartCount === 'number' ? entry.restartCount : 0;
    if (isRecord(state.running))
      return { startedAt: timestampMs(state.running.startedAt) ?? now, containerId: id, restartCount };
    if (isRecord(state.terminated) && state.terminated.exitCode === 0) {
      return {
        startedAt: timestampMs(state.terminated.startedAt) ?? now,
        finishedAt: timestampMs(state.terminated.finishedAt) ?? now,
        exitCode: 0,
        containerId: id,
        restartCount,
      };
    }
    return undefined;
  };
  for (const entry of jsonList(status.initContainerStatuses)) {
    const run = runOf(entry);
    if (run === undefined) break;
    runtime.initRuns.push(run);
  }
  const apps = jsonList(status.containerStatuses).map(runOf);
  if (apps.length > 0 && apps.every((run) => run !== undefined)) runtime.appRuns = apps as ContainerRun[];
  return runtime;
}

export function allocatedEipAddress(pod: KubeObject): string | undefined {
  return pod.metadata.annotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION];
}

export function containerId(uid: string, name: string, restartCount: number): string {
  return `containerd://${createHash('sha256').update(`${uid}/${name}/${restartCount}`).digest('hex')}`;
}

function startRun(uid: string, container: Json, now: number, restartCount = 0): ContainerRun {
  return { startedAt: now, containerId: containerId(uid, String(container.name), restartCount), restartCount };
}

export function isRunning(run: ContainerRun | undefined): run is ContainerRun {
  return run !== undefined && run.finishedAt === undefined;
}

export function hasSucceeded(run: ContainerRun | undefined): boolean {
  return run !== undefined && run.finishedAt !== undefined && run.exitCode === 0;
}

/** A started app container passes its readiness probe this long after it starts. */
export function isContainerReady(
  run: ContainerRun | undefined,
  now: number,
  timing: Pick<ClusterTiming, 'containerStartMs'>,
): boolean {
  if (!isRunning(run)) return false;
  return run.ready ?? now >= run.startedAt + timing.containerStartMs;
}

/** Advances the runtime to `now`: what starts, finishes, is killed, and when to look again. */
export function stepPodRuntime(pod: KubeObject, current: PodRuntime, now: number, timing: ClusterTiming): RuntimeStep {
  const runtime = structuredClone(current);
  const events: RuntimeEvent[] = [];
  const spec = specOf(pod);
  const inits = jsonList(spec.initContainers);
  const apps = jsonList(spec.containers);

  if (isTerminating(pod)) {
    if (runtime.stoppedAt === undefined) {
      runtime.stoppedAt = now;
      inits.forEach((container, i) => {
        const run = runtime.initRuns[i];
        if (!isRunning(run)) return;
        Object.assign(run, { finishedAt: now, exitCode: KILLED_EXIT_CODE });
        events.push({ kind: 'killed', container });
      });
      apps.forEach((container, i) => {
        const run = runtime.appRuns[i];
        if (!isRunning(run)) return;
        Object.assign(run, { finishedAt: now, exitCode: 0 });
        events.push({ kind: 'killed', container });
      });
    }
    // The grace period is the upper bound: the kubelet kills whatever still runs when it ends.
    const deadline = Math.min(
      runtime.stoppedAt + timing.terminationMs,
      timestampMs(pod.metadata.deletionTimestamp) ?? Number.POSITIVE_INFINITY,
    );
    if (now < deadline) return { runtime, events, nextAt: deadline, finishDeletion: false };
    const finishDeletion = !runtime.deletionFinished;
    runtime.deletionFinished = true;
    return { runtime, events, finishDeletion };
  }

  if (runtime.failed || runtime.sandboxAt === undefined) return { runtime, events, finishDeletion: false };

  for (let i = 0; i < inits.length; i++) {
    const container = inits[i]!;
    let run = runtime.initRuns[i];
    if (hasSucceeded(run)) continue;
    if (run === undefined) {
      run = startRun(runtime.uid, container, now);
      runtime.initRuns[i] = run;
      events.push({ kind: 'started', container, init: true });
    }
    if (!isWaitForEipContainer(container)) {
      const doneAt = run.startedAt + timing.initContainerMs;
      if (now < doneAt) return { runtime, events, nextAt: doneAt, finishDeletion: false };
      Object.assign(run, { finishedAt: doneAt, exitCode: 0 });
      continue;
    }
    if (isIpv4Address(allocatedEipAddress(pod))) {
      Object.assign(run, { finishedAt: now, exitCode: 0 });
      continue;
    }
    const timeout = waitTimeoutSeconds(container);
    if (timeout === undefined) return { runtime, events, finishDeletion: false };
    const giveUpAt = run.startedAt + timeout * 1000;
    if (now < giveUpAt) return { runtime, events, nextAt: giveUpAt, finishDeletion: false };
    // The script gives up with exit 1; the kubelet restarts it unless the pod may never restart.
    const termination: Termination = {
      exitCode: 1,
      startedAt: run.startedAt,
      finishedAt: giveUpAt,
      containerId: run.containerId,
    };
    events.push({ kind: 'initTimedOut', container, exitCode: 1 });
    if (spec.restartPolicy === 'Never') {
      Object.assign(run, { finishedAt: giveUpAt, exitCode: 1 });
      runtime.failed = true;
      return { runtime, events, finishDeletion: false };
    }
    runtime.initRuns[i] = {
      ...startRun(runtime.uid, container, now, run.restartCount + 1),
      lastTermination: termination,
    };
    events.push({ kind: 'started', container, init: true });
    return { runtime, events, nextAt: now + timeout * 1000, finishDeletion: false };
  }

  if (runtime.appRuns.length === 0) {
    runtime.appRuns = apps.map((container) => startRun(runtime.uid, container, now));
    for (const container of apps) events.push({ kind: 'started', container, init: false });
  }
  const readyAt = Math.max(...runtime.appRuns.map((run) => run.startedAt + timing.containerStartMs));
  return { runtime, events, ...(now < readyAt ? { nextAt: readyAt } : {}), finishDeletion: false };
}
