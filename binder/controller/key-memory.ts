/**
 * What the reconciler keeps about a pod key between passes, all in one record per key with one lifetime:
 * from the first pass that remembers something until `forget`, which the reconciler calls once the key's
 * pod and PodEIP are both gone. Each part saves a cloud call or a repeated write; none is needed for a
 * correct decision, so a restarted binder (which starts with nothing) only looks things up again.
 *
 * The PodEIPs the binder wrote (RecentPodEipWrites) are not kept here: that record is shared with the
 * PodEIP watch and lasts until the cache shows the write, which can be after the key is forgotten (a
 * deleted PodEIP stays in the cache until its watch event arrives).
 */
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../api/constants.js';
import type { EipState, NetworkInterfaceMatch } from '../cloud/eip-cloud.js';
import type { EipPodCondition, PodProjection } from '../kube/pod-projection.js';
import { withAddress } from './recent-writes.js';

/** The condition and address the binder last wrote on a pod, until the cache shows them. */
interface PodWrites {
  uid: string;
  condition?: EipPodCondition;
  /** null: removed. */
  address?: string | null;
  at: number;
}

interface KeyRecord {
  /**
   * A positive ENI lookup: a pod's IP stays on its ENI for the pod's life, so a bound pod's resync costs one
   * describe. "No ENI yet" is not kept: it can change (Terway may still be attaching one).
   */
  networkInterface?: { uid: string; ip: string; match: NetworkInterfaceMatch };
  /**
   * How often each cloud write was sent: a repeat gets a fresh ClientToken, the retries inside one call do
   * not.
   */
  tokenGenerations: Map<string, number>;
  /** The pod uid whose auto PodEIP this process created and has not tried to allocate for yet. */
  createdUnallocatedFor?: string;
  /** The EIP this process has just allocated (Available at that moment), for the first look after Allocate. */
  justAllocated?: EipState;
  podWrites?: PodWrites;
}

export class KeyMemory {
  private readonly records = new Map<string, KeyRecord>();

  /** Pod writes older than this are dropped: pod resourceVersions move with every kubelet write. */
  constructor(private readonly podWriteMaxAgeMs = 10_000) {}

  /** How many keys have something remembered. */
  get size(): number {
    return this.records.size;
  }

  /** Drops everything remembered for the key. */
  forget(key: string): void {
    this.records.delete(key);
  }

  /** The ENI found before for this pod and IP. */
  networkInterface(key: string, podUid: string, ip: string): NetworkInterfaceMatch | undefined {
    const known = this.records.get(key)?.networkInterface;
    return known !== undefined && known.uid === podUid && known.ip === ip ? known.match : undefined;
  }

  rememberNetworkInterface(key: string, podUid: string, ip: string, match: NetworkInterfaceMatch): void {
    this.recordFor(key).networkInterface = { uid: podUid, ip, match };
  }

  /** The key's pod is now `podUid`: an ENI found for an earlier pod of the name is dropped. */
  forgetNetworkInterfaceUnlessOf(key: string, podUid: string): void {
    const record = this.records.get(key);
    if (record !== undefined && record.networkInterface?.uid !== podUid) delete record.networkInterface;
  }

  /** A stale ENI would fail every association the same way: it is looked up again next time. */
  forgetNetworkInterface(key: string): void {
    const record = this.records.get(key);
    if (record !== undefined) delete record.networkInterface;
  }

  /** The generation of the next send of the cloud write `writeId` for the key: 0, then 1, 2, … */
  nextTokenGeneration(key: string, writeId: string): number {
    const generations = this.recordFor(key).tokenGenerations;
    const generation = generations.get(writeId) ?? 0;
    generations.set(writeId, generation + 1);
    return generation;
  }

  /** This process created the key's auto PodEIP for `podUid`: no EIP can carry that pod's tags yet. */
  rememberCreatedUnallocated(key: string, podUid: string): void {
    this.recordFor(key).createdUnallocatedFor = podUid;
  }

  /** True when this process created the key's auto PodEIP for `podUid` and has not called Allocate since. */
  provesNoAllocation(key: string, podUid: string): boolean {
    return this.records.get(key)?.createdUnallocatedFor === podUid;
  }

  /** An Allocate is about to be sent: from here an EIP may carry the pod's tags, even if the call fails. */
  allocating(key: string): void {
    const record = this.records.get(key);
    if (record !== undefined) delete record.createdUnallocatedFor;
  }

  rememberJustAllocated(key: string, eip: EipState): void {
    this.recordFor(key).justAllocated = eip;
  }

  /** The EIP this process just allocated for the key, once: the first look after Allocate. */
  takeJustAllocated(key: string, allocationId: string): EipState | undefined {
    const record = this.records.get(key);
    const eip = record?.justAllocated;
    if (record !== undefined) delete record.justAllocated;
    return eip?.allocationId === allocationId ? eip : undefined;
  }

  rememberCondition(key: string, podUid: string, condition: EipPodCondition, now: number): void {
    this.podWritesFor(key, podUid, now).condition = condition;
  }

  rememberAddress(key: string, podUid: string, address: string | null, now: number): void {
    this.podWritesFor(key, podUid, now).address = address;
  }

  /**
   * The cached pod with the condition and address written since laid over it, or the cached pod as it is.
   * Entries are matched by content (and expire), and go once the cache shows them.
   */
  withPodWrites(key: string, pod: PodProjection | undefined, now: number): PodProjection | undefined {
    const record = this.records.get(key);
    const writes = record?.podWrites;
    if (record === undefined || writes === undefined) return pod;
    if (pod === undefined || pod.uid !== writes.uid || now - writes.at > this.podWriteMaxAgeMs) {
      delete record.podWrites;
      return pod;
    }
    let result = pod;
    if (writes.condition !== undefined) {
      if (sameCondition(pod.eipCondition, writes.condition)) delete writes.condition;
      else result = { ...result, eipCondition: writes.condition };
    }
    if (writes.address !== undefined) {
      const cachedAddress = pod.eipAnnotations[ALLOCATED_EIP_ADDRESS_ANNOTATION] ?? null;
      if (cachedAddress === writes.address) delete writes.address;
      else result = { ...result, eipAnnotations: withAddress(pod.eipAnnotations, writes.address) };
    }
    if (writes.condition === undefined && writes.address === undefined) delete record.podWrites;
    return result;
  }

  private recordFor(key: string): KeyRecord {
    let record = this.records.get(key);
    if (record === undefined) this.records.set(key, (record = { tokenGenerations: new Map() }));
    return record;
  }

  private podWritesFor(key: string, podUid: string, now: number): PodWrites {
    const record = this.recordFor(key);
    if (record.podWrites === undefined || record.podWrites.uid !== podUid) record.podWrites = { uid: podUid, at: now };
    record.podWrites.at = now;
    return record.podWrites;
  }
}

function sameCondition(a: EipPodCondition | undefined, b: EipPodCondition): boolean {
  return (
    a !== undefined &&
    a.status === b.status &&
    (a.reason ?? '') === (b.reason ?? '') &&
    (a.message ?? '') === (b.message ?? '')
  );
}
