/** The binder's whole configuration, after defaults. The ajv schema in schema.ts holds the defaults. */

export type CloudCredentialsConfig =
  /** @alicloud/credentials' default chain: environment keys, RRSA/OIDC, ECS RAM role, … */
  | { source: 'default-chain' }
  /**
   * A mounted JSON file with `accessKeyId` and `accessKeySecret` (and optionally `securityToken`); re-read on change.
   */
  | { source: 'key-file'; path: string };

export interface BinderCloudConfig {
  regionId: string;
  vpcId: string;
  /** host[:port] of the VPC API; absent: the SDK's endpoint for the region. */
  endpoint?: string;
  /** host[:port] of the ECS API; absent: `endpoint` if set, else the SDK's. */
  ecsEndpoint?: string;
  protocol: 'https' | 'http';
  credentials: CloudCredentialsConfig;
  readTimeoutMs: number;
  connectTimeoutMs: number;
  /** Per-API calls per window; unset APIs keep the published limits. */
  rateLimitsPerMinute: Record<string, number>;
  /** Length of the rate-limit window; 60 s in production, shorter only to scale a sandbox down. */
  rateLimitWindowSeconds: number;
}

export interface LeaderElectionConfig {
  enabled: boolean;
  namespace: string;
  leaseName: string;
  /** Defaults to the pod name (HOSTNAME) plus a random suffix. */
  identity?: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

export interface BinderConfig {
  /** Written into every EIP's ownership tags; must be unique per cluster sharing an account. */
  clusterId: string;
  /** Path of a kubeconfig; absent: KUBECONFIG, else in-cluster. */
  kubeconfig?: string;
  /** Namespaces to watch; empty: all. */
  namespaces: string[];
  workers: number;
  /** Bound pods are looked at again this often, to notice drift. */
  resyncSeconds: number;
  /**
   * Controller kinds whose pods keep their names (ACK's customStatefulWorkloadKinds): Never and TTL apply to
   * their pods and to pods with no controller, and fall back to Follow elsewhere.
   */
  statefulWorkloadKinds: string[];
  /**
   * Bound EIPs are checked against the cloud this often (batched describes, within a quarter of the Describe
   * rate limit), so one unbound or moved behind podeip's back takes its pod out of service within it.
   */
  verifySeconds: number;
  /** The sweep of EIPs with this cluster's tags that no PodEIP names. */
  gc: { periodSeconds: number; orphanGraceSeconds: number };
  watch: { inactivityTimeoutSeconds: number };
  cloud: BinderCloudConfig;
  leaderElection: LeaderElectionConfig;
  /** /healthz, /readyz, /metrics over plain HTTP (inside the pod network). */
  server: { host: string; port: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}
