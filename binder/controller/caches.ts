/**
 * The binder's view of the cluster: pods (projected; pods with no EIP business are not kept) and PodEIPs,
 * one list-watch of each per namespace watched (or one over all namespaces); EIPPolicies and namespaces'
 * labels, cluster-wide; an index of live pods by IP; and the mapping of every change to the key it
 * concerns (`namespace/name`, which a pod and its PodEIP share). The caches run on every replica, leader
 * or not, so a new leader starts from a warm cache.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../api/constants.js';
import type { PodEIP } from '../../api/podeip.js';
import { EipPolicyWatch } from '../../api/kube/eip-policy-watch.js';
import type { ListWatch } from '../../api/kube/list-watch.js';
import { podListWatch } from '../kube/pod-list-watch.js';
import { hasFinished, podKey, type PodProjection } from '../kube/pod-projection.js';
import { podEipListWatch } from '../kube/podeip-client.js';

export interface BinderCacheOptions {
  kubeConfig: KubeConfig;
  /** Empty: every namespace, through one watch of each kind. */
  namespaces: readonly string[];
  inactivityTimeoutMs: number;
  logger: Logger;
  /** Something about this key changed (or may have): reconcile it. */
  onChange(key: string): void;
  /**
   * A PodEIP watch event, before onChange: `deleted` is the object gone, if it went. Returning true (the
   * event echoes the binder's own write) skips onChange.
   */
  onPodEipEvent?(key: string, cached: PodEIP | undefined, deleted: PodEIP | undefined): boolean;
}

export interface BinderCaches {
  start(): void;
  stop(): Promise<void>;
  hasSynced(): boolean;
  waitForSync(): Promise<void>;
  pod(key: string): PodProjection | undefined;
  podEip(key: string): PodEIP | undefined;
  podEips(): PodEIP[];
  /** Every key either cache holds (the periodic resync and a new leader's first round). */
  keys(): string[];
  /** Keys of the cached pods only. */
  podKeys(): string[];
  ipHolder(ip: string, exceptKey: string): { namespace: string; name: string } | undefined;
  /** The cluster's EIPPolicies and namespaces' labels. */
  eipPolicies: EipPolicyWatch;
}

/** A pod that ran to completion has given its IP back; a terminating one still holds it. */
function holdsIp(pod: PodProjection): pod is PodProjection & { podIP: string } {
  return pod.podIP !== undefined && !hasFinished(pod);
}

/**
 * Equal for the binder's purposes: all the projection keeps but its version and what the binder itself
 * writes (the condition, the address). Reacting to its own writes would turn every slow retry (quota,
 * permissions) into an immediate one; a change someone else makes there is seen at the next resync.
 */
function sameForBinding(a: PodProjection, b: PodProjection): boolean {
  return JSON.stringify(ownFieldsOmitted(a)) === JSON.stringify(ownFieldsOmitted(b));
}

function ownFieldsOmitted(pod: PodProjection): Omit<PodProjection, 'resourceVersion' | 'eipCondition'> {
  const { resourceVersion: _version, eipCondition: _condition, ...rest } = pod;
  const { [ALLOCATED_EIP_ADDRESS_ANNOTATION]: _address, ...annotations } = pod.eipAnnotations;
  return { ...rest, eipAnnotations: annotations };
}

class PodIpIndex {
  private readonly byIp = new Map<string, Set<string>>();

  update(previous: PodProjection | undefined, next: PodProjection | undefined): void {
    if (previous !== undefined && holdsIp(previous)) this.remove(previous.podIP, podKey(previous));
    if (next !== undefined && holdsIp(next)) {
      let keys = this.byIp.get(next.podIP);
      if (keys === undefined) this.byIp.set(next.podIP, (keys = new Set()));
      keys.add(podKey(next));
    }
  }

  holder(ip: string, exceptKey: string): { namespace: string; name: string } | undefined {
    for (const key of this.byIp.get(ip) ?? []) {
      if (key === exceptKey) continue;
      const slash = key.indexOf('/');
      return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
    }
    return undefined;
  }

  private remove(ip: string, key: string): void {
    const keys = this.byIp.get(ip);
    keys?.delete(key);
    if (keys?.size === 0) this.byIp.delete(ip);
  }
}

export function createBinderCaches(options: BinderCacheOptions): BinderCaches {
  const { kubeConfig, logger, onChange } = options;
  const scopes: Array<string | undefined> =
    options.namespaces.length === 0 ? [undefined] : [...new Set(options.namespaces)];
  const index = new PodIpIndex();
  const watchOptions = { inactivityTimeoutMs: options.inactivityTimeoutMs, logger };

  const podWatches = new Map<string | undefined, ListWatch<PodProjection>>();
  const podEipWatches = new Map<string | undefined, ListWatch<PodEIP>>();
  for (const namespace of scopes) {
    const scope = namespace === undefined ? {} : { namespace };
    podWatches.set(
      namespace,
      podListWatch(kubeConfig, {
        ...watchOptions,
        ...scope,
        handlers: {
          onAdd: (pod) => {
            index.update(undefined, pod);
            onChange(podKey(pod));
          },
          onUpdate: (pod, previous) => {
            index.update(previous, pod);
            // The kubelet rewrites status often; only what the binder decides on is worth a pass.
            if (!sameForBinding(pod, previous)) onChange(podKey(pod));
          },
          onDelete: (pod) => {
            index.update(pod, undefined);
            onChange(podKey(pod));
          },
        },
      }),
    );
    const podEipKey = (podEip: PodEIP): string => `${podEip.metadata.namespace}/${podEip.metadata.name}`;
    const podEipChanged = (podEip: PodEIP, deleted: boolean): void => {
      const key = podEipKey(podEip);
      const echo = options.onPodEipEvent?.(key, deleted ? undefined : podEip, deleted ? podEip : undefined) ?? false;
      if (!echo) onChange(key);
    };
    podEipWatches.set(
      namespace,
      podEipListWatch(kubeConfig, {
        ...watchOptions,
        ...scope,
        handlers: {
          onAdd: (podEip) => podEipChanged(podEip, false),
          onUpdate: (podEip) => podEipChanged(podEip, false),
          onDelete: (podEip) => podEipChanged(podEip, true),
        },
      }),
    );
  }
  // A policy or a namespace's labels changed: pods still without a record are decided again.
  const eipPolicies = new EipPolicyWatch({
    ...watchOptions,
    kubeConfig,
    onChange: () => {
      if (!eipPolicies.hasSynced()) return;
      for (const watch of podWatches.values())
        for (const key of watch.keys()) if (watchFor(podEipWatches, key)?.get(key) === undefined) onChange(key);
    },
  });
  const all = (): Array<ListWatch<PodProjection> | ListWatch<PodEIP> | EipPolicyWatch> => [
    ...podWatches.values(),
    ...podEipWatches.values(),
    eipPolicies,
  ];
  const watchFor = <T>(watches: Map<string | undefined, ListWatch<T>>, key: string): ListWatch<T> | undefined =>
    watches.get(undefined) ?? watches.get(key.slice(0, key.indexOf('/')));

  return {
    start: () => all().forEach((watch) => watch.start()),
    stop: async () => {
      await Promise.all(all().map((watch) => watch.stop()));
    },
    hasSynced: () => all().every((watch) => watch.hasSynced()),
    waitForSync: async () => {
      await Promise.all(all().map((watch) => watch.waitForSync()));
    },
    pod: (key) => watchFor(podWatches, key)?.get(key),
    podEip: (key) => watchFor(podEipWatches, key)?.get(key),
    podEips: () => [...podEipWatches.values()].flatMap((watch) => watch.list()),
    keys: () => [...new Set([...podWatches.values(), ...podEipWatches.values()].flatMap((watch) => watch.keys()))],
    podKeys: () => [...podWatches.values()].flatMap((watch) => watch.keys()),
    ipHolder: (ip, exceptKey) => index.holder(ip, exceptKey),
    eipPolicies,
  };
}
