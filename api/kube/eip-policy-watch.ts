/**
 * What both programs need to decide with EIPPolicies (api/eip-policy.ts): every EIPPolicy and every
 * namespace's labels, kept current by list-watches, and optionally how many PodEIPs each namespace holds
 * (the webhook's count; the binder counts from its own PodEIP cache).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { PODEIP_GROUP, PODEIP_PLURAL, PODEIP_VERSION } from '../constants.js';
import {
  EIP_POLICY_GROUP,
  EIP_POLICY_PLURAL,
  EIP_POLICY_VERSION,
  readEipPolicy,
  type EipPolicy,
  type NamespaceFacts,
} from '../eip-policy.js';
import { isRecord } from '../is-record.js';
import { ListWatch, type RawKubeObject } from './list-watch.js';

export interface EipPolicyWatchOptions {
  kubeConfig: KubeConfig;
  logger?: Logger;
  inactivityTimeoutMs?: number;
  /** Count PodEIPs per namespace (one more list-watch, of PodEIP names only). */
  countPodEips?: boolean;
  /** A policy or a namespace's labels changed: decisions made before may differ now. */
  onChange?(): void;
}

function namespaceFacts(object: RawKubeObject): NamespaceFacts | undefined {
  const name = object.metadata?.name;
  if (name === undefined) return undefined;
  const labels = isRecord(object.metadata?.labels) ? (object.metadata.labels as Record<string, string>) : {};
  return { name, labels: { ...labels } };
}

export class EipPolicyWatch {
  private readonly policies: ListWatch<EipPolicy>;
  private readonly namespaces: ListWatch<NamespaceFacts>;
  private readonly podEips: ListWatch<string> | undefined;
  private readonly held = new Map<string, number>();

  constructor(options: EipPolicyWatchOptions) {
    const { kubeConfig, logger } = options;
    const shared = {
      kubeConfig,
      ...(logger === undefined ? {} : { logger }),
      ...(options.inactivityTimeoutMs === undefined ? {} : { inactivityTimeoutMs: options.inactivityTimeoutMs }),
    };
    const changed = {
      onAdd: () => options.onChange?.(),
      onUpdate: () => options.onChange?.(),
      onDelete: () => options.onChange?.(),
    };
    this.policies = new ListWatch<EipPolicy>({
      ...shared,
      path: `/apis/${EIP_POLICY_GROUP}/${EIP_POLICY_VERSION}/${EIP_POLICY_PLURAL}`,
      project: (object) => readEipPolicy(object),
      handlers: changed,
    });
    this.namespaces = new ListWatch<NamespaceFacts>({
      ...shared,
      path: '/api/v1/namespaces',
      project: namespaceFacts,
      handlers: {
        ...changed,
        onUpdate: (next, previous) => {
          if (JSON.stringify(next.labels) !== JSON.stringify(previous.labels)) options.onChange?.();
        },
      },
    });
    if (options.countPodEips === true) {
      const add = (namespace: string, by: number): void => {
        const next = (this.held.get(namespace) ?? 0) + by;
        if (next <= 0) this.held.delete(namespace);
        else this.held.set(namespace, next);
      };
      this.podEips = new ListWatch<string>({
        ...shared,
        path: `/apis/${PODEIP_GROUP}/${PODEIP_VERSION}/${PODEIP_PLURAL}`,
        project: (object) => object.metadata?.namespace,
        handlers: { onAdd: (namespace) => add(namespace, 1), onDelete: (namespace) => add(namespace, -1) },
      });
    }
  }

  private all(): Array<ListWatch<unknown>> {
    return [this.policies, this.namespaces, ...(this.podEips === undefined ? [] : [this.podEips])] as Array<
      ListWatch<unknown>
    >;
  }

  start(): void {
    for (const watch of this.all()) watch.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((watch) => watch.stop()));
  }

  hasSynced(): boolean {
    return this.all().every((watch) => watch.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.all().map((watch) => watch.waitForSync()));
  }

  list(): EipPolicy[] {
    return this.policies.list();
  }

  /** The namespace's name and labels; a namespace not (yet) seen has only its name. */
  namespace(name: string): NamespaceFacts {
    return this.namespaces.get(name) ?? { name, labels: {} };
  }

  /** PodEIPs in the namespace, not counting one named `except` (a pod's own record); only with countPodEips. */
  podEipCount(namespace: string, except?: string): number {
    const own = except !== undefined && this.podEips?.get(`${namespace}/${except}`) !== undefined ? 1 : 0;
    return (this.held.get(namespace) ?? 0) - own;
  }
}
