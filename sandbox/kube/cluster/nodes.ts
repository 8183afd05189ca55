/**
 * Node registration, as each kubelet does at start: a Node object named sandbox-node-N, Ready, with the
 * InternalIP of its Primary ENI, the labels ACK puts on ECS nodes, and the capacity the scheduler and
 * `kubectl describe node` read.
 */
import { isStatusError } from '../errors.js';
import { rfc3339 } from '../object-meta.js';
import type { ClusterStore, KubeObject } from '../types.js';
import type { ClusterTypes } from './cluster-writer.js';
import type { NodeAddressing } from './pod-network.js';

export const NODE_NAME_PREFIX = 'sandbox-node-';
/** The kubelet the nodes claim to run; matches the API stand-in's version. */
const KUBELET_VERSION = 'v1.33.1';
const INSTANCE_TYPE = 'ecs.g7.xlarge';

export function nodeName(index: number): string {
  return `${NODE_NAME_PREFIX}${index}`;
}

/** The Node object a kubelet on this machine registers. */
export function nodeObject(addressing: NodeAddressing, regionId: string | undefined, now: number): KubeObject {
  const at = rfc3339(now);
  const condition = (type: string, status: string, reason: string, message: string): Record<string, unknown> => ({
    type,
    status,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
    reason,
    message,
  });
  const name = addressing.nodeName;
  const resources = { cpu: '4', memory: '15986120Ki', pods: '110', 'ephemeral-storage': '123722704Ki' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': INSTANCE_TYPE,
        ...(regionId === undefined ? {} : { 'topology.kubernetes.io/region': regionId }),
        ...(addressing.zoneId === undefined ? {} : { 'topology.kubernetes.io/zone': addressing.zoneId }),
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      // ACK's providerID: <region>.<instance id>.
      ...(regionId === undefined ? {} : { providerID: `${regionId}.${addressing.instanceId}` }),
      ...(addressing.podCidr === undefined ? {} : { podCIDR: addressing.podCidr, podCIDRs: [addressing.podCidr] }),
    },
    status: {
      capacity: resources,
      allocatable: { ...resources, cpu: '3900m', memory: '13889992Ki' },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: addressing.internalIp },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: addressing.instanceId,
        systemUUID: addressing.instanceId,
        bootID: addressing.instanceId,
        kernelVersion: '5.10.134-18.al8.x86_64',
        osImage: 'Alibaba Cloud Linux 3.2104 U11 (OpenAnolis Edition)',
        containerRuntimeVersion: 'containerd://1.6.36',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** Creates the Node, or takes over one a previous run registered (refreshing its status and addresses). */
export function registerNode(store: ClusterStore, types: ClusterTypes, node: KubeObject): void {
  try {
    store.create(types.nodes, node);
  } catch (error) {
    if (!isStatusError(error) || error.status.reason !== 'AlreadyExists') throw error;
    const existing = store.get(types.nodes, undefined, node.metadata.name!)!;
    store.update(types.nodes, { ...existing, status: node.status }, { subresource: 'status' });
  }
}

export function isSchedulableNode(node: KubeObject): boolean {
  const spec = (node.spec ?? {}) as Record<string, unknown>;
  if (spec.unschedulable === true) return false;
  const conditions = ((node.status as Record<string, unknown> | undefined)?.conditions ?? []) as Array<
    Record<string, unknown>
  >;
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}
