/**
 * The CNI plugin and its IPAM: node addresses from each node's Primary ENI, and pod addresses the way
 * Terway hands them out (a secondary IP of a Secondary ENI, or a whole ENI per pod), or from an overlay
 * range the cloud does not know. An address stays assigned until the pod object is gone (see release()).
 */
import type { Logger } from 'pino';
import type { CloudSandboxControls, NetworkInterfaceRecord } from '../../cloud/types.js';
import type { PodNetworkMode } from './options.js';

/** What a node's registration needs from the network. */
export interface NodeAddressing {
  nodeName: string;
  instanceId: string;
  internalIp: string;
  /** Zone of the node's vSwitch (cloud-backed nodes only). */
  zoneId?: string;
  /** The node's overlay range, in overlay mode. */
  podCidr?: string;
}

type Allocation =
  | { kind: 'secondary-ip'; ip: string; eniId: string }
  | { kind: 'exclusive-eni'; ip: string; eniId: string }
  | { kind: 'overlay'; ip: string; nodeName: string; host: number }
  | { kind: 'host-network'; ip: string }
  /** An address the pod already had when this network started (a restarted sandbox); not ours to free. */
  | { kind: 'inherited'; ip: string };

interface NodeState {
  addressing: NodeAddressing;
  index: number;
  secondaryEniIds: string[];
  overlayHostsInUse: Set<number>;
  /** Freed secondary IPs still on their ENIs (warm pool), the most recently freed last. */
  warmIps: { ip: string; eniId: string }[];
}

/** Overlay pod ranges: 172.20.<node>.0/24; the cloud's vSwitches never hand these out. */
const OVERLAY_PREFIX = '172.20';
/** Node addresses when there is no cloud to ask. */
const OFFLINE_NODE_PREFIX = '192.168.0';
const FIRST_OVERLAY_HOST = 2;
const LAST_OVERLAY_HOST = 254;

export interface PodNetworkOptions {
  mode: PodNetworkMode;
  cloud: CloudSandboxControls | undefined;
  ipsPerEni: number;
  /**
   * Terway's warm pool: a freed secondary IP stays on its ENI, with whatever is bound to it, and goes to the
   * node's next pod. On Alibaba Cloud this is how an EIP left on a freed IP reaches another workload.
   */
  warmPool?: boolean;
  logger: Logger;
}

export class PodNetwork {
  /** The mode in effect: ENI modes need the cloud, so without one every mode is overlay. */
  readonly mode: PodNetworkMode;
  private readonly cloud: CloudSandboxControls | undefined;
  private readonly nodes = new Map<string, NodeState>();
  private readonly allocations = new Map<string, Allocation>();

  constructor(private readonly options: PodNetworkOptions) {
    this.cloud = options.cloud;
    this.mode = options.cloud === undefined ? 'overlay' : options.mode;
    if (options.cloud === undefined && options.mode !== 'overlay') {
      options.logger.info({ requested: options.mode }, 'no cloud stand-in given: pods get overlay addresses');
    }
    if (!Number.isInteger(options.ipsPerEni) || options.ipsPerEni < 1)
      throw new RangeError(`ipsPerEni must be a whole number >= 1, not ${options.ipsPerEni}`);
  }

  /** Sets up a node's NICs (reusing the ones a previous run left in the cloud) and returns its addresses. */
  attachNode(nodeName: string, index: number): NodeAddressing {
    const instanceId = `i-sandboxnode${String(index).padStart(7, '0')}`;
    const addressing: NodeAddressing = { nodeName, instanceId, internalIp: `${OFFLINE_NODE_PREFIX}.${10 + index}` };
    const state: NodeState = { addressing, index, secondaryEniIds: [], overlayHostsInUse: new Set(), warmIps: [] };
    if (this.cloud !== undefined) {
      const own = this.cloud.networkInterfaces().filter((eni) => eni.instanceId === instanceId);
      const primary =
        own.find((eni) => eni.type === 'Primary') ?? this.cloud.createNetworkInterface({ type: 'Primary', instanceId });
      addressing.internalIp = primary.primaryIpAddress;
      addressing.zoneId = primary.zoneId;
      if (this.mode === 'shared-eni') {
        const secondaries = own.filter((eni) => eni.type === 'Secondary').map((eni) => eni.networkInterfaceId);
        state.secondaryEniIds =
          secondaries.length > 0
            ? secondaries
            : [this.cloud.createNetworkInterface({ type: 'Secondary', instanceId }).networkInterfaceId];
      }
    }
    if (this.mode === 'overlay') addressing.podCidr = `${OVERLAY_PREFIX}.${index}.0/24`;
    this.nodes.set(nodeName, state);
    return addressing;
  }

  hasNode(nodeName: string): boolean {
    return this.nodes.has(nodeName);
  }

  nodeAddressing(nodeName: string): NodeAddressing | undefined {
    return this.nodes.get(nodeName)?.addressing;
  }

  /** The pod's address, assigning one on first call (CNI ADD). Throws when the cloud refuses. */
  assign(podUid: string, nodeName: string, hostNetwork: boolean): string {
    const existing = this.allocations.get(podUid);
    if (existing !== undefined) return existing.ip;
    const node = this.nodes.get(nodeName);
    if (node === undefined) throw new Error(`node ${nodeName} is not part of this cluster`);
    const allocation = hostNetwork
      ? { kind: 'host-network' as const, ip: node.addressing.internalIp }
      : this.allocate(node);
    this.allocations.set(podUid, allocation);
    this.options.logger.debug({ podUid, node: nodeName, ...allocation }, 'pod address assigned');
    return allocation.ip;
  }

  /** Takes over an address a pod already carries (a cluster started again on the same store). */
  inherit(podUid: string, nodeName: string, ip: string, hostNetwork: boolean): void {
    if (this.allocations.has(podUid)) return;
    const node = this.nodes.get(nodeName);
    if (hostNetwork || node === undefined) {
      this.allocations.set(podUid, { kind: hostNetwork ? 'host-network' : 'inherited', ip });
      return;
    }
    const holder = this.cloud
      ?.networkInterfaces()
      .find((eni) => eni.instanceId === node.addressing.instanceId && eni.privateIpAddresses.includes(ip));
    if (holder !== undefined && holder.type === 'Secondary') {
      const kind = holder.primaryIpAddress === ip ? 'exclusive-eni' : 'secondary-ip';
      this.allocations.set(podUid, { kind, ip, eniId: holder.networkInterfaceId });
      return;
    }
    const host = overlayHost(node, ip);
    if (host !== undefined) {
      node.overlayHostsInUse.add(host);
      this.allocations.set(podUid, { kind: 'overlay', ip, nodeName, host });
      return;
    }
    this.allocations.set(podUid, { kind: 'inherited', ip });
  }

  holds(podUid: string): boolean {
    return this.allocations.has(podUid);
  }

  allocatedPods(): string[] {
    return [...this.allocations.keys()];
  }

  /**
   * Frees the pod's address (CNI DEL plus Terway's IP release). Called only once the pod object is gone: a
   * pod a finalizer holds may still have an EIP bound to its address, and handing that address to another
   * pod would send the old pod's public traffic to the new one.
   */
  release(podUid: string): void {
    const allocation = this.allocations.get(podUid);
    if (allocation === undefined) return;
    this.allocations.delete(podUid);
    try {
      switch (allocation.kind) {
        case 'secondary-ip': {
          const node = [...this.nodes.values()].find((n) => n.secondaryEniIds.includes(allocation.eniId));
          if (this.options.warmPool === true && node !== undefined) node.warmIps.push(allocation);
          else this.cloud?.unassignPrivateIpAddress(allocation.eniId, allocation.ip);
          break;
        }
        case 'exclusive-eni':
          this.cloud?.deleteNetworkInterface(allocation.eniId);
          break;
        case 'overlay':
          this.nodes.get(allocation.nodeName)?.overlayHostsInUse.delete(allocation.host);
          break;
        default:
          break;
      }
      this.options.logger.debug({ podUid, ...allocation }, 'pod address released');
    } catch (error) {
      // Someone (a test, the console) removed the IP or ENI first; it is free either way.
      this.options.logger.warn({ err: error, podUid, ...allocation }, 'pod address was already gone');
    }
  }

  private allocate(node: NodeState): Allocation {
    if (this.mode === 'overlay' || this.cloud === undefined) return this.allocateOverlay(node);
    const instanceId = node.addressing.instanceId;
    if (this.mode === 'exclusive-eni') {
      const eni = this.cloud.createNetworkInterface({ type: 'Secondary', instanceId });
      return { kind: 'exclusive-eni', ip: eni.primaryIpAddress, eniId: eni.networkInterfaceId };
    }
    const byId = new Map<string, NetworkInterfaceRecord>(
      this.cloud.networkInterfaces().map((eni) => [eni.networkInterfaceId, eni]),
    );
    node.secondaryEniIds = node.secondaryEniIds.filter((id) => byId.has(id));
    node.warmIps = node.warmIps.filter((warm) => byId.get(warm.eniId)?.privateIpAddresses.includes(warm.ip) === true);
    const warm = node.warmIps.pop();
    if (warm !== undefined) return { kind: 'secondary-ip', ...warm };
    const withRoom = node.secondaryEniIds.find(
      (id) => byId.get(id)!.privateIpAddresses.length - 1 < this.options.ipsPerEni,
    );
    let eniId = withRoom;
    if (eniId === undefined) {
      eniId = this.cloud.createNetworkInterface({ type: 'Secondary', instanceId }).networkInterfaceId;
      node.secondaryEniIds.push(eniId);
      this.options.logger.info(
        { node: node.addressing.nodeName, eniId },
        'every ENI of the node is full: attached another',
      );
    }
    return { kind: 'secondary-ip', ip: this.cloud.assignPrivateIpAddress(eniId), eniId };
  }

  private allocateOverlay(node: NodeState): Allocation {
    for (let host = FIRST_OVERLAY_HOST; host <= LAST_OVERLAY_HOST; host++) {
      if (node.overlayHostsInUse.has(host)) continue;
      node.overlayHostsInUse.add(host);
      return {
        kind: 'overlay',
        ip: `${OVERLAY_PREFIX}.${node.index}.${host}`,
        nodeName: node.addressing.nodeName,
        host,
      };
    }
    throw new Error(
      `node ${node.addressing.nodeName} has no free overlay address in ${OVERLAY_PREFIX}.${node.index}.0/24`,
    );
  }
}

function overlayHost(node: NodeState, ip: string): number | undefined {
  const prefix = `${OVERLAY_PREFIX}.${node.index}.`;
  if (!ip.startsWith(prefix)) return undefined;
  const host = Number(ip.slice(prefix.length));
  return Number.isInteger(host) ? host : undefined;
}
