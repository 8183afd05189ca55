/** The in-process cluster around pods: nodes, scheduler, kubelets with the CNI, workload controllers. */
export { startClusterBehaviour } from './cluster-behaviour.js';
export {
  DEFAULT_TIMING,
  type BindingClusterStore,
  type ClusterBehaviour,
  type ClusterBehaviourOptions,
  type ClusterTiming,
  type PodNetworkMode,
} from './options.js';
export type { LocalImage, LocalImages } from './processes/container-launch.js';
export type { ProcessRuntimeOptions } from './processes/pod-processes.js';
export { processIsolationProblem } from './processes/isolation.js';
