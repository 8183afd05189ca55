/**
 * Who else has to do with a pass's EIP, from the caches: the pod its IP is bound to, a newer pod of the same
 * workload asking for the same static EIP, and PodEIPs of other namespaces recording it. Which of two pods of
 * one workload is the newer is isNewer's call; for two pods of one Deployment it needs their ReplicaSets'
 * revisions, read here only when two such pods contend (docs/annotations.md#a-static-eip-in-a-rolling-update).
 */
import { parseEipAnnotations } from '../../api/parse-annotations.js';
import type { PodEIP } from '../../api/podeip.js';
import { isNewer, type PodProjection } from '../kube/pod-projection.js';
import type { Pass } from './binding-actions.js';
import type { EipClaims, Observed, OtherPod } from './decision.js';

export interface ContenderSources {
  cachedPod(key: string): PodProjection | undefined;
  /** Keys of the pods in the cache. */
  podKeys(): Iterable<string>;
  /** The live pod other than `exceptKey` whose IP is `ip`, if any. */
  ipHolder(ip: string, exceptKey: string): { namespace: string; name: string } | undefined;
  cachedPodEips(): Iterable<PodEIP>;
  /** The Deployment revision of a ReplicaSet; absent, or undefined: pods are ordered by creation. */
  replicaSetRevision?(namespace: string, name: string): Promise<number | undefined>;
}

/** A pod with what isNewer orders it by. */
type Ranked = PodProjection & { revision?: number };

/** A PodEIP as isNewer compares records: its creation, then (within a second) its namespace and name. */
function asRecorded(podEip: PodEIP): { createdAt?: string; name: string } {
  const { creationTimestamp, namespace = '', name = '' } = podEip.metadata;
  return { ...(creationTimestamp === undefined ? {} : { createdAt: creationTimestamp }), name: `${namespace}/${name}` };
}

/** What another key's decision needs of a pod: its name, workload and age, and its revision when read. */
function otherPod(namespace: string, name: string, pod: Ranked | undefined): OtherPod {
  return {
    namespace,
    name,
    ...(pod?.workload === undefined ? {} : { workload: pod.workload }),
    ...(pod?.createdAt === undefined ? {} : { createdAt: pod.createdAt }),
    ...(pod?.revision === undefined ? {} : { revision: pod.revision }),
  };
}

export class Contenders {
  constructor(private readonly sources: ContenderSources) {}

  /** The pod the EIP is bound to (`ip`), and, when it is of this pod's workload, both pods' revisions. */
  async ipHolder(pass: Pass, ip: string): Promise<Pick<Observed, 'ipHolder' | 'podRevision'>> {
    const found = ip === '' ? undefined : this.sources.ipHolder(ip, pass.key);
    if (found === undefined) return { ipHolder: null };
    const holder = this.sources.cachedPod(`${found.namespace}/${found.name}`);
    const pod = pass.pod;
    // Revisions are read only for what they decide: which of two pods of one workload is the newer.
    if (pod === undefined || holder?.workload === undefined || holder.workload !== pod.workload)
      return { ipHolder: otherPod(found.namespace, found.name, holder) };
    const rank = this.ranker();
    const [self, held] = await Promise.all([rank(pod), rank(holder)]);
    return {
      ipHolder: otherPod(found.namespace, found.name, held),
      ...(self.revision === undefined ? {} : { podRevision: self.revision }),
    };
  }

  /** The newest live pod of this pod's workload, newer than it, asking for the same static EIP; null when none. */
  async successor(pass: Pass): Promise<OtherPod | null> {
    const pod = pass.pod;
    const wanted = parseEipAnnotations(pod?.eipAnnotations ?? {});
    if (pod?.workload === undefined || wanted.kind !== 'request' || wanted.request.mode !== 'static') return null;
    const allocationId = wanted.request.allocationId;
    const contenders: PodProjection[] = [];
    for (const key of this.sources.podKeys()) {
      const other = key === pass.key ? undefined : this.sources.cachedPod(key);
      if (other === undefined || other.workload !== pod.workload || other.deletionTimestamp !== undefined) continue;
      const asks = parseEipAnnotations(other.eipAnnotations);
      if (asks.kind === 'request' && asks.request.mode === 'static' && asks.request.allocationId === allocationId)
        contenders.push(other);
    }
    if (contenders.length === 0) return null;
    const rank = this.ranker();
    const self = await rank(pod);
    let newest: Ranked | undefined;
    for (const other of contenders) {
      const candidate = await rank(other);
      if (isNewer(candidate, self) && (newest === undefined || isNewer(candidate, newest))) newest = candidate;
    }
    return newest === undefined ? null : otherPod(newest.namespace, newest.name, newest);
  }

  /**
   * PodEIPs of other namespaces that recorded the same EIP before this pass's own did (the first record
   * keeps it).
   */
  claimsOn(pass: Pass, allocationId: string): EipClaims {
    const claims: EipClaims = { earlierInOtherNamespaces: 0 };
    if (allocationId === '') return claims;
    const own = pass.podEip === undefined ? undefined : asRecorded(pass.podEip);
    for (const other of this.sources.cachedPodEips()) {
      if (other.spec.allocationID !== allocationId || other.metadata.namespace === pass.namespace) continue;
      if (own === undefined || isNewer(own, asRecorded(other))) claims.earlierInOtherNamespaces += 1;
    }
    return claims;
  }

  /**
   * Adds to a pod the revision of its Deployment's ReplicaSet, when it has one; one read per ReplicaSet for
   * the ranker's life (one look), since the pods of a workload share a few.
   */
  private ranker(): (pod: PodProjection) => Promise<Ranked> {
    const readings = new Map<string, Promise<number | undefined>>();
    return async (pod) => {
      const owner = pod.controller;
      if (owner?.kind !== 'ReplicaSet' || !pod.workload?.startsWith('Deployment/')) return pod;
      let reading = readings.get(owner.name);
      if (reading === undefined)
        readings.set(
          owner.name,
          (reading = this.sources.replicaSetRevision?.(pod.namespace, owner.name) ?? Promise.resolve(undefined)),
        );
      const revision = await reading;
      return revision === undefined ? pod : { ...pod, revision };
    };
  }
}
