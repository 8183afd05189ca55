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
}

export interface WebhookConfig {
  listen: { host: string; port: number };
  tls: {
    certFile: string;
    keyFile: string;
    minVersion: 'TLSv1.2' | 'TLSv1.3';
    /** How often the cert files are checked for changes, besides fs.watch (mounted Secrets swap symlinks). */
    reloadIntervalSeconds: number;
  };
  mutation: MutationPolicy;
  /** Request body cap; the API server never sends more than about 7 MiB... */
  bodyLimitBytes: number;
  /** How long in-flight requests may take to finish after SIGTERM. */
  shutdownTimeoutSeconds: number;
  log: { level: LogLevel };
}
