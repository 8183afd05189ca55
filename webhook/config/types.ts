import type { LogLevel } from '../../api/settings.js';

/**
 * The webhook's whole configuration, after defaults. The ajv schema in schema.ts is the source of truth for defaults.
 */

export interface ResourceList {
  cpu?: string;
  memory?: string;
}

export interface InitContainerConfig {
  /** Container name; must not clash with the pod's containers (the planner adds a suffix if it would). */
  name: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** How long the init container waits for the address before it exits non-zero. */
  timeoutSeconds: number;
  /** How often it re-reads the annotations file. */
  pollIntervalSeconds: number;
  resources: { requests: ResourceList; limits: ResourceList };
  /** UID the container runs as (non-root). */
  runAsUser: number;
}

export interface InjectionConfig {
  readinessGate: boolean;
  initContainer: boolean;
}

export interface MutationPolicy {
  injection: InjectionConfig;
  initContainer: InitContainerConfig;
  /** Name of the downward-API volume; a suffix is added if the pod already uses the name for something else. */
  volumeName: string;
  /** Where the init container mounts the volume. */
  mountPath: string;
  /** Controller kinds whose pods keep their names, where Never and TTL apply (the binder's setting too). */
  statefulWorkloadKinds: string[];
}

/** Where the serving certificate comes from. */
export interface CertificatesConfig {
  /**
   * `files`: tls.certFile/keyFile (mounted by cert-manager or an admin); `self-managed`: a Secret podeip keeps.
   * Unset, it is `files` when either file is named and `self-managed` otherwise.
   */
  mode: 'files' | 'self-managed';
  /** The Service the API server calls; the certificate carries its DNS names. */
  service: { name: string; port: number };
  /** podeip's namespace; empty: the pod's own (read from its service account), required outside a pod. */
  namespace: string;
  secretName: string;
  leaseName: string;
  /** Lifetime of each CA and serving certificate; renewal starts at two thirds of it. */
  lifetimeSeconds: number;
  /** Time between the steps of a renewal (stage, promote, retire). */
  rotationStepSeconds: number;
  /** How often the Secret and the registration are checked besides the watches. */
  repairIntervalSeconds: number;
  /** The MutatingWebhookConfiguration podeip keeps. */
  registration: {
    failurePolicy: 'Fail' | 'Ignore';
    timeoutSeconds: number;
    /** Besides podeip's own namespace, which is always excluded. */
    excludedNamespaces: string[];
  };
  /** A kubeconfig file; empty: in-cluster configuration. */
  kubeconfig: string;
}

export interface ConnectionLimits {
  /** Longest a request may take to arrive, TLS handshake, headers and body included. */
  requestTimeoutSeconds: number;
  /** How long a kept-alive connection may wait for its next request. */
  idleTimeoutSeconds: number;
  /** Open connections at most; one more is closed as soon as it is accepted. */
  max: number;
}

export interface WebhookConfig {
  listen: { host: string; port: number };
  certificates: CertificatesConfig;
  tls: {
    /** Required when certificates.mode is files. */
    certFile: string;
    keyFile: string;
    minVersion: 'TLSv1.2' | 'TLSv1.3';
    /** How often the cert files are checked for changes, besides fs.watch (mounted Secrets swap symlinks). */
    reloadIntervalSeconds: number;
  };
  mutation: MutationPolicy;
  /** Request body cap; the API server never sends more than about 7 MiB... */
  bodyLimitBytes: number;
  /** Limits per connection and on their number, so slow or idle clients cannot hold sockets and memory. */
  connections: ConnectionLimits;
  /** How long in-flight requests may take to finish after SIGTERM. */
  shutdownTimeoutSeconds: number;
  /** EIPPolicies (docs/security.md): checked at admission when enabled, which needs the Kubernetes API. */
  eipPolicies: {
    enabled: boolean;
    /** A kubeconfig file; empty: certificates.kubeconfig, and when that is empty too, in-cluster configuration. */
    kubeconfig: string;
  };
  log: { level: LogLevel };
}
