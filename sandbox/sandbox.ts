/**
 * The whole local world the demo and the integration tests run podeip in: the Kubernetes API stand-in
 * (with admission, so webhooks registered in it are called), the cluster around pods (nodes, kubelets,
 * controllers) and the Alibaba Cloud stand-in whose ENIs hold the pods' IPs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { eipPolicyCustomResourceDefinition } from '../api/eip-policy.js';
import { podEipCustomResourceDefinition } from '../api/podeip.js';
import { startCloudSandbox, type CloudSandbox, type CloudSandboxOptions } from './cloud/index.js';
import {
  startClusterBehaviour,
  type ClusterBehaviour,
  type ClusterTiming,
  type PodNetworkMode,
  type ProcessRuntimeOptions,
} from './kube/cluster/index.js';
import { createWebhookAdmission, startKubeSandbox, type KubeSandbox, type ServiceAddress } from './kube/index.js';

export interface SandboxOptions {
  kube?: { port?: number; host?: string };
  cloud?: CloudSandboxOptions;
  cluster?: {
    nodes?: number;
    network?: PodNetworkMode;
    timing?: Partial<ClusterTiming>;
    ipsPerEni?: number;
    /** Keep freed secondary IPs (and what is bound to them) for the node's next pod, as Terway does. */
    warmPool?: boolean;
    /**
     * Run pods of these images as local processes (see processIsolationProblem for what that needs). The
     * pods reach the API server at 10.96.0.1:443 and the cloud stand-in at its loopback address, as binder
     * settings for the sandbox name it.
     */
    processes?: Pick<ProcessRuntimeOptions, 'images' | 'onOutput' | 'probePeriodCapMs'>;
  };
  /** Install podeip's CRDs (PodEIP, EIPPolicy), as `kubectl apply -k deploy/crds` would. Default true. */
  installPodEipCrd?: boolean;
  logger?: Logger;
}

/** What `cloud.json` holds: how the binder reaches the cloud stand-in. */
export interface CloudConnection {
  endpoint: string;
  protocol: 'http';
  regionId: string;
  vpcId: string;
  accessKeyId: string;
  accessKeySecret: string;
}

export interface Sandbox {
  kube: KubeSandbox;
  cloud: CloudSandbox;
  cluster: ClusterBehaviour;
  /** Where a Service reference in a webhook configuration leads (the stand-in has no cluster network). */
  mapService(service: { namespace: string; name: string; port?: number }, address: ServiceAddress): void;
  cloudConnection(): CloudConnection;
  /** Writes `kubeconfig` and `cloud.json` into `dir` (created if missing); returns their paths. */
  writeFiles(dir: string): { kubeconfig: string; cloudJson: string };
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const logger = options.logger;
  const cloud = await startCloudSandbox({
    ...options.cloud,
    ...(logger ? { logger: logger.child({ component: 'sandbox-cloud' }) } : {}),
  });
  let kube: KubeSandbox | undefined;
  try {
    kube = await startKubeSandbox({
      ...options.kube,
      ...(logger ? { logger: logger.child({ component: 'sandbox-kube' }) } : {}),
    });
    const services = new Map<string, ServiceAddress>();
    const serviceKey = (s: { namespace: string; name: string; port?: number }): string =>
      `${s.namespace}/${s.name}:${s.port ?? 443}`;
    // Admission is set up before the cluster that routes Services exists; it looks the cluster up when called.
    const routing: { cluster?: ClusterBehaviour } = {};
    const admission = createWebhookAdmission({
      store: kube.store,
      // A mapped Service first (a webhook the caller runs itself), then the pods behind it, as in a cluster.
      resolveService: (ref) => services.get(serviceKey(ref)) ?? routing.cluster?.serviceAddress(ref),
      ...(logger ? { logger: logger.child({ component: 'sandbox-admission' }) } : {}),
    });
    kube.setAdmission(admission);
    if (options.installPodEipCrd ?? true) {
      const crds = kube.store.resourceType('apiextensions.k8s.io', 'customresourcedefinitions')!;
      for (const crd of [podEipCustomResourceDefinition(), eipPolicyCustomResourceDefinition()])
        await kube.api.create(crds, undefined, crd);
    }
    const started = kube;
    const { processes, ...clusterOptions } = options.cluster ?? {};
    const apiUrl = new URL(kube.url);
    const runningCluster = startClusterBehaviour({
      store: kube.store,
      api: kube.api,
      cloud: cloud.controls,
      ...clusterOptions,
      ...(processes === undefined
        ? {}
        : {
            processes: {
              ...processes,
              apiServer: { host: apiUrl.hostname.replace(/^\[|\]$/g, ''), port: Number(apiUrl.port) },
              hostPorts: [Number(cloud.endpoint.split(':').pop())],
              issueToken: (subject, tokenOptions) => started.serviceAccountTokens.issue(subject, tokenOptions),
            },
          }),
      ...(logger ? { logger } : {}),
    });
    routing.cluster = runningCluster;
    const cloudConnection = (): CloudConnection => ({
      endpoint: cloud.endpoint,
      protocol: cloud.protocol,
      regionId: cloud.regionId,
      vpcId: cloud.vpcId,
      accessKeyId: cloud.accessKeyId,
      accessKeySecret: cloud.accessKeySecret,
    });
    return {
      kube: started,
      cloud,
      cluster: runningCluster,
      mapService: (service, address) => services.set(serviceKey(service), address),
      cloudConnection,
      writeFiles(dir) {
        mkdirSync(dir, { recursive: true });
        const kubeconfig = join(dir, 'kubeconfig');
        const cloudJson = join(dir, 'cloud.json');
        // Both hold credentials of the local stand-ins only; still, keep them private to the user.
        writeFileSync(kubeconfig, started.kubeconfig(), { mode: 0o600 });
        writeFileSync(cloudJson, `${JSON.stringify(cloudConnection(), null, 2)}\n`, { mode: 0o600 });
        return { kubeconfig, cloudJson };
      },
      async close() {
        await runningCluster.stop();
        admission.close();
        await started.close();
        await cloud.close();
      },
    };
  } catch (err) {
    await kube?.close();
    await cloud.close();
    throw err;
  }
}
