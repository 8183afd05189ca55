/**
 * The parts of a v1 Pod that the mutation planner reads, as they arrive in an AdmissionReview. Every field is
 * optional and unknown fields are kept, because the planner must cope with whatever the API server sends (a
 * pod whose spec later fails validation still reaches the webhook first). @kubernetes/client-node's V1Pod is
 * not used: it would make the webhook load the whole client, and its Date-typed fields do not match raw JSON.
 */

export interface OwnerReferenceJson {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface PodMetadataJson {
  name?: string;
  generateName?: string;
  namespace?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReferenceJson[];
  [field: string]: unknown;
}

export interface ReadinessGateJson {
  conditionType?: string;
}

export interface VolumeMountJson {
  name?: string;
  mountPath?: string;
  readOnly?: boolean;
  [field: string]: unknown;
}

export interface ContainerJson {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  volumeMounts?: VolumeMountJson[];
  [field: string]: unknown;
}

export interface DownwardApiItemJson {
  path?: string;
  fieldRef?: { apiVersion?: string; fieldPath?: string };
  [field: string]: unknown;
}

export interface VolumeJson {
  name?: string;
  downwardAPI?: { items?: DownwardApiItemJson[]; defaultMode?: number };
  [field: string]: unknown;
}

export interface PodSpecJson {
  hostNetwork?: boolean;
  readinessGates?: ReadinessGateJson[];
  initContainers?: ContainerJson[];
  containers?: ContainerJson[];
  ephemeralContainers?: ContainerJson[];
  volumes?: VolumeJson[];
  [field: string]: unknown;
}

export interface PodJson {
  apiVersion?: string;
  kind?: string;
  metadata?: PodMetadataJson;
  spec?: PodSpecJson;
  [field: string]: unknown;
}
