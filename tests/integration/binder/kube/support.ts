/** The binder's Kubernetes edge against the stand-in: one sandbox per test file, real client-node. */
import * as k8s from '@kubernetes/client-node';
import { startKubeSandbox, type KubeSandbox, type KubeSandboxOptions } from '../../../../sandbox/kube/index.js';
import { createApiClients, type KubeApiClients } from '../../../../api/kube/api-clients.js';

export interface KubeEdge extends KubeApiClients {
  sandbox: KubeSandbox;
  close(): Promise<void>;
}

export async function startKubeEdge(options: KubeSandboxOptions = {}): Promise<KubeEdge> {
  const sandbox = await startKubeSandbox(options);
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromString(sandbox.kubeconfig());
  const clients = createApiClients(kubeConfig, { requestTimeoutMs: 10_000 });
  return {
    sandbox,
    ...clients,
    close: async () => {
      clients.close();
      await sandbox.close();
    },
  };
}

export async function createNamespace(edge: KubeEdge, name: string): Promise<void> {
  await edge.core.createNamespace({ body: { metadata: { name } } });
}

export function podBody(
  name: string,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    gate?: boolean;
    nodeName?: string;
  } = {},
): k8s.V1Pod {
  return {
    metadata: {
      name,
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      ...(extra.gate ? { readinessGates: [{ conditionType: 'k8s.aliyun.com/eip' }] } : {}),
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export { eventually } from '../../poll.js';
