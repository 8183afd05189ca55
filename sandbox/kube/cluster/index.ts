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
