/**
 * What the binder's decision tables start from: a pod key's pod, its PodEIP, the ENI and the EIP, each a
 * plain object with the fields a row changes.
 */
import type { AutoEipRequest } from '../../../api/eip-request.js';
import type { PodEIP, PodEIPStatus } from '../../../api/podeip.js';
import type { EipState, NetworkInterfaceMatch } from '../../../binder/cloud/eip-cloud.js';
import {
  PODEIP_ALLOCATION_ATTEMPT_ANNOTATION,
  PODEIP_POD_UID_ANNOTATION,
  type Observed,
} from '../../../binder/controller/decision.js';
import type { PodProjection } from '../../../binder/kube/pod-projection.js';

export const NOW = Date.parse('2025-06-01T12:00:00Z');
export const NOW_ISO = new Date(NOW).toISOString();
export const UID = 'uid-now';
export const OLD_UID = 'uid-before';
export const IP = '192.168.0.10';
export const AUTO = { 'k8s.aliyun.com/pod-with-eip': 'true' };
export const STATIC = { 'k8s.aliyun.com/pod-eip-instanceid': 'eip-static1' };
export const ADDRESS = 'k8s.aliyun.com/allocated-eipAddress';
export const AUTO_REQUEST: AutoEipRequest = {
  mode: 'auto',
  bandwidth: 5,
  internetChargeType: 'PayByTraffic',
  instanceChargeType: 'PostPaid',
  releaseStrategy: { type: 'Follow' },
};
export const TRUE = { status: 'True' as const, reason: 'Associate eip succeed', message: 'bound' };

export function pod(over: Partial<PodProjection> = {}): PodProjection {
  return {
    namespace: 'ns',
    name: 'web',
    uid: UID,
    resourceVersion: '7',
    podIP: IP,
    hostNetwork: false,
    eipAnnotations: AUTO,
    hasEipReadinessGate: true,
    ...over,
  };
}

export interface PodEipShape {
  type?: 'Auto' | 'Static';
  strategy?: 'Follow' | 'TTL' | 'Never';
  releaseAfter?: string;
  allocationID?: string;
  bandwidthPackageID?: string;
  owner?: string | null;
  attempt?: string;
  status?: PodEIPStatus;
  deletionTimestamp?: string;
  /** Written by another controller (ACK's, Terway's): neither podeip's label nor its owner annotation. */
  foreign?: boolean;
}

export function podEip(shape: PodEipShape = {}): PodEIP {
  const annotations: Record<string, string> = {};
  if (shape.owner !== null && shape.foreign !== true) annotations[PODEIP_POD_UID_ANNOTATION] = shape.owner ?? UID;
  if (shape.attempt !== undefined) annotations[PODEIP_ALLOCATION_ATTEMPT_ANNOTATION] = shape.attempt;
  const allocationType = {
    type: shape.type ?? 'Auto',
    releaseStrategy: shape.strategy ?? 'Follow',
    ...(shape.releaseAfter ? { releaseAfter: shape.releaseAfter } : {}),
  };
  return {
    apiVersion: 'alibabacloud.com/v1beta1',
    kind: 'PodEIP',
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'podeip-uid',
      resourceVersion: '3',
      creationTimestamp: '2025-06-01T11:00:00Z',
      annotations,
      ...(shape.foreign === true ? {} : { labels: { 'app.kubernetes.io/managed-by': 'podeip' } }),
      ...(shape.deletionTimestamp ? { deletionTimestamp: shape.deletionTimestamp } : {}),
    },
    spec: {
      allocationID: shape.allocationID ?? 'eip-auto1',
      allocationType,
      ...(shape.bandwidthPackageID ? { bandwidthPackageID: shape.bandwidthPackageID } : {}),
    },
    ...(shape.status ? { status: shape.status } : {}),
  };
}

export const eni = (over: Partial<NetworkInterfaceMatch> = {}): NetworkInterfaceMatch => ({
  networkInterfaceId: 'eni-1',
  type: 'Secondary',
  instanceId: 'i-1',
  isPrimaryIp: false,
  privateIp: IP,
  ...over,
});

export function eip(over: Partial<EipState> = {}): EipState {
  return {
    allocationId: 'eip-auto1',
    ipAddress: '198.51.100.7',
    status: 'Available',
    instanceId: '',
    instanceType: '',
    privateIpAddress: '',
    bandwidthPackageId: '',
    isp: 'BGP',
    internetChargeType: 'PayByTraffic',
    instanceChargeType: 'PostPaid',
    resourceGroupId: 'rg-1',
    publicIpAddressPoolId: '',
    name: '',
    bandwidth: 5,
    // What podeip tags the EIPs it allocates for the fixture's record (ns/web) with.
    tags: {
      'podeip.io/cluster-id': CLUSTER,
      'podeip.io/namespace': 'ns',
      'podeip.io/pod-name': 'web',
      'podeip.io/pod-uid': UID,
    },
    ...over,
  };
}
export const inUse = (over: Partial<EipState> = {}): EipState =>
  eip({ status: 'InUse', instanceId: 'eni-1', instanceType: 'NetworkInterface', privateIpAddress: IP, ...over });
export const CLUSTER = 'c-unit';
export const observed = (over: Partial<Observed>): Observed => ({
  namespace: 'ns',
  name: 'web',
  now: NOW,
  clusterId: CLUSTER,
  claims: { earlierInOtherNamespaces: 0 },
  ...over,
});

export const boundStatus: PodEIPStatus = {
  eipAddress: '198.51.100.7',
  networkInterfaceID: 'eni-1',
  privateIPAddress: IP,
  status: 'InUse',
  isp: 'BGP',
  internetChargeType: 'PayByTraffic',
  resourceGroupID: 'rg-1',
  podLastSeen: '2025-06-01T11:30:00.000Z',
};
export const recordedOld: PodEIPStatus = {
  ...boundStatus,
  networkInterfaceID: 'eni-old',
  privateIPAddress: '192.168.0.99',
};
