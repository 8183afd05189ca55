/**
 * What startClusterBehaviour takes and gives back, and the timing defaults: short enough for a demo to feel
 * alive, long enough that every intermediate state (Init:0/1, ContainerCreating, Terminating) is observable.
 */
import type { Logger } from 'pino';
import type { CloudSandboxControls } from '../../cloud/types.js';
import type { ProcessRuntimeOptions } from './processes/pod-processes.js';
import type { RoutedAddress } from './processes/service-routing.js';
import type { RequestPipeline } from '../request-pipeline.js';
import type { ClusterStore, KubeObject } from '../types.js';

/**
 * How pods get their IPs. `shared-eni`: a secondary private IP on a Secondary ENI of the node (Terway's
 * ENI multi-IP mode, the one podeip binds EIPs to). `exclusive-eni`: a whole ENI per pod, its primary IP being
 * the pod IP. `overlay`: an address the cloud knows nothing of (Flannel), so no EIP can be bound to it.
 */
export type PodNetworkMode = 'shared-eni' | 'exclusive-eni' | 'overlay';

export interface ClusterTiming {
  /** How long an ordinary init container runs before it completes. */
  initContainerMs: number;
  /** From a container's start until it reports ready (its readiness probe passing). */
  containerStartMs: number;
  /** From a deletion until the containers are gone and the kubelet finishes it (capped by the grace period). */
  terminationMs: number;
  /** How often every controller re-reads the whole world, whatever the watches said (level-triggered safety net). */
  reconcileMs: number;
}

export const DEFAULT_TIMING: ClusterTiming = {
  initContainerMs: 100,
  containerStartMs: 100,
  terminationMs: 200,
  reconcileMs: 1000,
};

/** The scheduler's `pods/binding` is the only way to set spec.nodeName of an existing pod. */
export interface BindingClusterStore extends ClusterStore {
  bindPod(namespace: string, name: string, nodeName: string): KubeObject;
}

export interface ClusterBehaviourOptions {
  store: BindingClusterStore;
  /** The Alibaba Cloud stand-in's controls: ENIs and pod IPs come from it. Without it pods get overlay IPs. */
  cloud?: CloudSandboxControls;
  /** Default 2. */
  nodes?: number;
  /** Default `shared-eni`; anything but `overlay` needs `cloud`. */
  network?: PodNetworkMode;
  timing?: Partial<ClusterTiming>;
  logger?: Logger;
  /**
   * When given, the controllers' writes go through it as API requests do (admission and mutating webhooks
   * included), so a webhook sees the pods a ReplicaSet creates exactly as on a real cluster.
   */
  api?: RequestPipeline;
  /** Secondary IPs one ENI holds before the CNI attaches another to the node (shared-eni). Default 10. */
  ipsPerEni?: number;
  /** Keep freed secondary IPs on their ENIs for the node's next pod, as Terway's warm pool does. Default false. */
  warmPool?: boolean;
  /** The kubelets run pods of these images as local processes (root and Linux namespaces needed). */
  processes?: ProcessRuntimeOptions;
}

export interface ClusterBehaviour {
  /** Ends every watch, timer and queued reconcile, waiting for the ones under way. */
  stop(): Promise<void>;
  /** Names of the nodes this cluster runs pods on. */
  nodes(): string[];
  /** Where a Service's connection goes: a Ready pod run as processes, through its sandbox's socket. */
  serviceAddress(ref: { namespace: string; name: string; port: number }): RoutedAddress | undefined;
}

export function resolveTiming(timing: Partial<ClusterTiming> | undefined): ClusterTiming {
  const resolved = { ...DEFAULT_TIMING };
  for (const key of Object.keys(DEFAULT_TIMING) as Array<keyof ClusterTiming>) {
    const value = timing?.[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`timing.${key} must be a number of milliseconds >= 0, not ${value}`);
    resolved[key] = value;
  }
  if (resolved.reconcileMs < 10)
    throw new RangeError(`timing.reconcileMs must be at least 10 ms, not ${resolved.reconcileMs}`);
  return resolved;
}
