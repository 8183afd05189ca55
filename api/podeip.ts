/**
 * The PodEIP custom resource with ACK's field names (docs/annotations.md#the-podeip-resource), so
 * ack-extend-network-controller, Terway's migration code and kruise-game all read what podeip writes, and the
 * other way round.
 */
import {
  PODEIP_API_VERSION,
  PODEIP_GROUP,
  PODEIP_KIND,
  PODEIP_PLURAL,
  PODEIP_SINGULAR,
  PODEIP_VERSION,
} from './constants.js';
import { formatGoDuration } from './duration.js';
import type { EipRequest } from './eip-request.js';

export type PodEIPAllocationKind = 'Auto' | 'Static';
export type PodEIPReleaseStrategy = 'Follow' | 'TTL' | 'Never';

export interface PodEIPAllocationType {
  type: PodEIPAllocationKind;
  releaseStrategy: PodEIPReleaseStrategy;
  /** Go `Duration.String()` form (`10m0s`); only with releaseStrategy TTL. */
  releaseAfter?: string;
}

export interface PodEIPSpec {
  allocationID: string;
  bandwidthPackageID?: string;
  allocationType: PodEIPAllocationType;
}

/** What the binder last observed of the EIP; every field is optional, as in ACK's CRD. */
export interface PodEIPStatus {
  eipAddress?: string;
  networkInterfaceID?: string;
  privateIPAddress?: string;
  /** The EIP's own state from DescribeEipAddresses: Associating, InUse, Unassociating, Available, Releasing. */
  status?: string;
  isp?: string;
  internetChargeType?: string;
  resourceGroupID?: string;
  publicIpAddressPoolID?: string;
  name?: string;
  bandwidthPackageID?: string;
  /** RFC 3339; with `releaseAfter` it decides when a TTL PodEIP whose pod is gone is released. */
  podLastSeen?: string;
  /** In Terway's copy of the CRD; kept so objects ACK wrote survive a round trip through podeip. */
  bandwidth?: string;
  period?: number;
}

/** The metadata podeip reads and writes; timestamps stay strings, as they are on the wire. */
export interface PodEIPMetadata {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PodEIP {
  apiVersion: typeof PODEIP_API_VERSION;
  kind: typeof PODEIP_KIND;
  metadata: PodEIPMetadata;
  spec: PodEIPSpec;
  status?: PodEIPStatus;
}

/**
 * The spec of the PodEIP that records `request` bound to `allocationId` (the EIP podeip allocated, or the static one).
 */
export function podEipSpecFor(request: EipRequest, allocationId: string): PodEIPSpec {
  const strategy = request.releaseStrategy;
  const allocationType: PodEIPAllocationType = {
    type: request.mode === 'auto' ? 'Auto' : 'Static',
    releaseStrategy: strategy.type,
  };
  // ACK's controller and Terway write releaseAfter through Go's Duration.String(), e.g. `10m` → `10m0s`.
  if (strategy.type === 'TTL') allocationType.releaseAfter = formatGoDuration(strategy.seconds);
  const spec: PodEIPSpec = { allocationID: allocationId, allocationType };
  if (request.mode === 'auto' && request.commonBandwidthPackageId) {
    spec.bandwidthPackageID = request.commonBandwidthPackageId;
  }
  return spec;
}

/** The subset of OpenAPI v3 that a structural CRD schema uses here. */
export interface CrdSchema {
  type: 'object' | 'string' | 'integer' | 'array' | 'boolean';
  description?: string;
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema;
  items?: CrdSchema;
  required?: string[];
  enum?: string[];
  default?: string;
  format?: string;
  minimum?: number;
}

export interface CrdPrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'boolean';
  jsonPath: string;
  description?: string;
}

/** An `apiextensions.k8s.io/v1` CustomResourceDefinition, as plain JSON (client-node's models rename `default`). */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status: Record<string, never> };
      additionalPrinterColumns: CrdPrinterColumn[];
      schema: { openAPIV3Schema: CrdSchema };
    }[];
  };
}

const text = (description?: string): CrdSchema => (description ? { type: 'string', description } : { type: 'string' });

const podEipSchema: CrdSchema = {
  type: 'object',
  description: 'PodEIP records the Elastic IP bound to the pod of the same name and namespace.',
  properties: {
    apiVersion: text(),
    kind: text(),
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['allocationID', 'allocationType'],
      properties: {
        allocationID: text('Id of the EIP (eip-…).'),
        bandwidthPackageID: text('Common bandwidth package the EIP was added to (cbwp-…).'),
        allocationType: {
          type: 'object',
          description: 'Where the EIP came from and when it is released.',
          required: ['type', 'releaseStrategy'],
          properties: {
            type: {
              type: 'string',
              description: 'Auto: allocated for the pod. Static: an existing EIP, never released.',
              enum: ['Auto', 'Static'],
              default: 'Auto',
            },
            releaseStrategy: {
              type: 'string',
              description:
                'Follow: released with the pod. TTL: released releaseAfter after the pod is gone. Never: kept.',
              enum: ['Follow', 'TTL', 'Never'],
            },
            releaseAfter: text('Go duration such as 10m0s; used with releaseStrategy TTL.'),
          },
        },
      },
    },
    status: {
      type: 'object',
      properties: {
        eipAddress: text('Public IP address of the EIP.'),
        networkInterfaceID: text('ENI the EIP is associated with.'),
        privateIPAddress: text('Private IP address of the pod on that ENI.'),
        status: text('State of the EIP as Alibaba Cloud reports it.'),
        isp: text(),
        internetChargeType: text(),
        resourceGroupID: text(),
        publicIpAddressPoolID: text(),
        name: text(),
        bandwidthPackageID: text(),
        bandwidth: text(),
        period: { type: 'integer' },
        podLastSeen: {
          type: 'string',
          format: 'date-time',
          description: 'When the pod was last seen; TTL release counts from here.',
        },
      },
    },
  },
};

const printerColumns: CrdPrinterColumn[] = [
  { name: 'EIP', type: 'string', jsonPath: '.spec.allocationID' },
  { name: 'Address', type: 'string', jsonPath: '.status.eipAddress' },
  { name: 'ENI', type: 'string', jsonPath: '.status.networkInterfaceID' },
  { name: 'Private IP', type: 'string', jsonPath: '.status.privateIPAddress' },
  { name: 'Status', type: 'string', jsonPath: '.status.status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The PodEIP CRD; deploy/crds/podeips.alibabacloud.com.yaml holds the same object. A fresh copy each call. */
export function podEipCustomResourceDefinition(): CustomResourceDefinition {
  const crd: CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PODEIP_PLURAL}.${PODEIP_GROUP}` },
    spec: {
      group: PODEIP_GROUP,
      names: { kind: PODEIP_KIND, listKind: `${PODEIP_KIND}List`, plural: PODEIP_PLURAL, singular: PODEIP_SINGULAR },
      scope: 'Namespaced',
      versions: [
        {
          name: PODEIP_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns,
          schema: { openAPIV3Schema: podEipSchema },
        },
      ],
    },
  };
  return structuredClone(crd);
}
