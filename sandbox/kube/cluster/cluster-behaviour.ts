/**
 * startClusterBehaviour: what a cluster does around pods, run in-process on the store — nodes with their
 * NICs in the cloud stand-in, the scheduler, the kubelets (with the CNI), and the ReplicaSet, Deployment and
 * StatefulSet controllers. Each part watches the store and writes through the API like its real
 * counterpart, so clients and watches see exactly what they would on a cluster.
 */
import { pino } from 'pino';
import { clusterTypes, ClusterWriter } from './cluster-writer.js';
import { startDeploymentController } from './deployment-controller.js';
import { EventRecorder } from './events.js';
import { startKubelet } from './kubelet.js';
import { ServiceRouter } from './processes/service-routing.js';
import { nodeName, nodeObject, registerNode } from './nodes.js';
import { resolveTiming, type ClusterBehaviour, type ClusterBehaviourOptions } from './options.js';
import { PodNetwork } from './pod-network.js';
import { startReplicaSetController } from './replicaset-controller.js';
import { startScheduler } from './scheduler.js';
import { startStatefulSetController } from './statefulset-controller.js';

const DEFAULT_NODES = 2;
const DEFAULT_IPS_PER_ENI = 10;

export function startClusterBehaviour(options: ClusterBehaviourOptions): ClusterBehaviour {
  const { store, cloud } = options;
  const timing = resolveTiming(options.timing);
  const nodeCount = options.nodes ?? DEFAULT_NODES;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 200)
    throw new RangeError(`nodes must be a whole number from 1 to 200, not ${nodeCount}`);
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'sandbox-cluster' });
  const types = clusterTypes(store);
  const writer = new ClusterWriter(store, options.api);
  const events = new EventRecorder(writer, types, logger);
  const network = new PodNetwork({
    mode: options.network ?? 'shared-eni',
    cloud,
    ipsPerEni: options.ipsPerEni ?? DEFAULT_IPS_PER_ENI,
    warmPool: options.warmPool === true,
    logger: logger.child({ part: 'cni' }),
  });

  const names: string[] = [];
  for (let index = 1; index <= nodeCount; index++) {
    const addressing = network.attachNode(nodeName(index), index);
    registerNode(store, types, nodeObject(addressing, cloud?.regionId, Date.now()));
    names.push(addressing.nodeName);
  }
  logger.info({ nodes: names, network: network.mode }, 'sandbox cluster nodes registered');

  const workload = { store, types, writer, events, reconcileMs: timing.reconcileMs };
  const kubelets = startKubelet({
    store,
    types,
    writer,
    events,
    network,
    timing,
    logger: logger.child({ part: 'kubelet' }),
    ...(options.processes === undefined ? {} : { processes: options.processes }),
  });
  const router = new ServiceRouter(store, types, kubelets.socketFor);
  const parts = [
    startScheduler({ ...workload, network, logger: logger.child({ part: 'scheduler' }) }),
    kubelets,
    startReplicaSetController({ ...workload, logger: logger.child({ part: 'replicaset-controller' }) }),
    startDeploymentController({ ...workload, logger: logger.child({ part: 'deployment-controller' }) }),
    startStatefulSetController({ ...workload, logger: logger.child({ part: 'statefulset-controller' }) }),
  ];

  let stopping: Promise<void> | undefined;
  return {
    nodes: () => [...names],
    serviceAddress: (ref) => router.route(ref),
    stop() {
      stopping ??= (async () => {
        await Promise.all(parts.map((part) => part.stop()));
        await events.settle();
        logger.info('sandbox cluster stopped');
      })();
      return stopping;
    },
  };
}
