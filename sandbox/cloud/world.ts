/**
 * Everything the stand-in account holds in one region: EIPs, the VPC's vSwitches and ENIs, and the
 * Internet Shared Bandwidth packages, with the id and address allocation the real cloud would do.
 *
 * Public addresses come from the documentation ranges 203.0.113.0/24 (TEST-NET-3) and then
 * 198.51.100.0/24 (TEST-NET-2, RFC 5737), picked at random as the cloud does; once both are taken, from
 * the benchmarking block 198.18.0.0/15 (RFC 2544) in order, so that a bench can hold thousands of EIPs.
 * All of them look public, are never routed, and cannot be mistaken for a real customer's address.
 * Private addresses come from the VPC block 192.168.0.0/16.
 */
import { apiError } from './errors.js';
import type { Prng } from './prng.js';
import type { CommonBandwidthPackageRecord, EipRecord, NetworkInterfaceRecord } from './types.js';

export interface StoredEip extends EipRecord {
  createdAtMs: number;
  /** Creation order, for listings that must not depend on two EIPs sharing a millisecond. */
  sequence: number;
  /** The order a PrePaid allocation placed (AllocateEipAddress answers it instead of the address). */
  orderId?: number;
}

export interface StoredEni extends NetworkInterfaceRecord {
  creationTime: string;
  securityGroupId: string;
  deviceIndex: number;
}

export type StoredPackage = CommonBandwidthPackageRecord;

interface VSwitch {
  id: string;
  zoneId: string;
  /** First address of the block, as a 32-bit integer. */
  base: number;
  size: number;
  used: Set<number>;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PUBLIC_RANGES = ['203.0.113.', '198.51.100.'];
/** 198.18.0.0/15 without its first and last address. */
const OVERFLOW_BASE = ipToInt('198.18.0.0');
const OVERFLOW_SIZE = 2 * 65536;
/** /20 per vSwitch inside 192.168.0.0/16. */
const VSWITCH_SIZE = 4096;
const VPC_BASE = ipToInt('192.168.0.0');
const MAX_VSWITCHES = 16;

export interface WorldOptions {
  regionId: string;
  vpcId?: string;
  accountId: string;
  eipQuota: number;
  random: Prng;
  now: () => number;
}

export class CloudWorld {
  readonly regionId: string;
  readonly vpcId: string;
  readonly accountId: string;
  readonly defaultResourceGroupId: string;
  readonly securityGroupId: string;
  readonly defaultVSwitchId: string;
  eipQuota: number;
  readonly eips = new Map<string, StoredEip>();
  readonly enis = new Map<string, StoredEni>();
  readonly packages = new Map<string, StoredPackage>();
  private readonly vSwitches = new Map<string, VSwitch>();
  private eipSequence = 0;
  private readonly random: Prng;
  readonly now: () => number;

  constructor(options: WorldOptions) {
    this.random = options.random;
    this.now = options.now;
    this.regionId = options.regionId;
    this.accountId = options.accountId;
    this.eipQuota = options.eipQuota;
    this.vpcId = options.vpcId ?? this.newId('vpc');
    this.defaultResourceGroupId = `rg-acfm${this.random.chars(11, ID_ALPHABET)}`;
    this.securityGroupId = this.newId('sg');
    this.defaultVSwitchId = this.createVSwitch(undefined).id;
  }

  /** `eip-` plus 20 lower-case characters, the shape of real ids. */
  newId(prefix: string): string {
    let id: string;
    do id = `${prefix}-${this.random.chars(20, ID_ALPHABET)}`;
    while (this.eips.has(id) || this.enis.has(id) || this.packages.has(id));
    return id;
  }

  isoNow(): string {
    return isoSeconds(this.now());
  }

  /**
   * A free public address: the one asked for if it is free, else a random one of the documentation ranges,
   * else the next one of the overflow block.
   */
  takePublicAddress(requested?: string): string {
    const inUse = new Set([...this.eips.values()].map((eip) => eip.ipAddress));
    if (requested !== undefined) {
      if (inUse.has(requested) || !PUBLIC_RANGES.some((range) => requested.startsWith(range))) {
        throw apiError('ReserveIpFail', `Reserve eip failed: ${requested} is not free in this region.`);
      }
      return requested;
    }
    const free = PUBLIC_RANGES.flatMap((range) => range1to254().map((host) => `${range}${host}`)).filter(
      (ip) => !inUse.has(ip),
    );
    const picked = free[this.random.below(free.length)];
    if (picked !== undefined) return picked;
    for (let offset = 1; offset < OVERFLOW_SIZE - 1; offset += 1) {
      const ip = intToIp(OVERFLOW_BASE + offset);
      if (!inUse.has(ip)) return ip;
    }
    throw apiError('ReserveIpFail', 'Reserve eip failed: no public address is left in the pool.');
  }

  /** Records a new Available EIP; callers have validated the input (the API) or own it (the controls). */
  addEip(input: Partial<EipRecord> & { orderId?: number }): StoredEip {
    const now = this.now();
    const eip: StoredEip = {
      allocationId: input.allocationId ?? this.newId('eip'),
      ipAddress: input.ipAddress ?? this.takePublicAddress(),
      status: 'Available',
      regionId: this.regionId,
      bandwidth: input.bandwidth ?? '5',
      internetChargeType: input.internetChargeType ?? 'PayByBandwidth',
      instanceChargeType: input.instanceChargeType ?? 'PostPaid',
      isp: input.isp ?? 'BGP',
      name: input.name ?? '',
      description: input.description ?? '',
      resourceGroupId: input.resourceGroupId ?? this.defaultResourceGroupId,
      publicIpAddressPoolId: input.publicIpAddressPoolId ?? '',
      bandwidthPackageId: '',
      instanceId: '',
      instanceType: '',
      privateIpAddress: '',
      tags: input.tags ?? [],
      allocationTime: isoSeconds(now),
      mode: 'NAT',
      securityProtectionTypes: input.securityProtectionTypes ?? [],
      expiredTime: input.expiredTime ?? '',
      createdAtMs: now,
      sequence: (this.eipSequence += 1),
      ...(input.orderId !== undefined ? { orderId: input.orderId } : {}),
    };
    this.eips.set(eip.allocationId, eip);
    return eip;
  }

  /** Order numbers are 15 digits, well inside a JSON-safe integer. */
  newOrderId(): number {
    return 200000000000000 + this.random.below(99999999999999);
  }

  /**
   * The vSwitch of that id, created on first use (as if Terway's config named it); the default one when no id is given.
   */
  vSwitch(id: string | undefined): VSwitch {
    const wanted = id ?? this.defaultVSwitchId;
    return this.vSwitches.get(wanted) ?? this.createVSwitch(wanted);
  }

  private createVSwitch(id: string | undefined): VSwitch {
    const index = this.vSwitches.size;
    if (index >= MAX_VSWITCHES) throw new Error(`the sandbox VPC holds at most ${MAX_VSWITCHES} vSwitches`);
    const created: VSwitch = {
      id: id ?? this.newId('vsw'),
      zoneId: zoneName(this.regionId, index),
      base: VPC_BASE + index * VSWITCH_SIZE,
      size: VSWITCH_SIZE,
      used: new Set(),
    };
    this.vSwitches.set(created.id, created);
    return created;
  }

  /** The lowest free address, so a freed pod IP comes back soon, as it does on a busy node. */
  takePrivateAddress(vSwitchId: string): string {
    const vSwitch = this.vSwitch(vSwitchId);
    // The first and the last three addresses of a vSwitch block are reserved by the cloud.
    for (let offset = 1; offset < vSwitch.size - 3; offset += 1) {
      if (!vSwitch.used.has(offset)) {
        vSwitch.used.add(offset);
        return intToIp(vSwitch.base + offset);
      }
    }
    throw new Error(`vSwitch ${vSwitchId} has no free private address`);
  }

  releasePrivateAddress(vSwitchId: string, ip: string): void {
    const vSwitch = this.vSwitches.get(vSwitchId);
    vSwitch?.used.delete(ipToInt(ip) - vSwitch.base);
  }

  macAddress(): string {
    // 00:16:3e is the prefix Alibaba Cloud ENIs carry.
    const bytes = Array.from({ length: 3 }, () => this.random.below(256).toString(16).padStart(2, '0'));
    return `00:16:3e:${bytes.join(':')}`;
  }

  findEip(allocationId: string): StoredEip {
    const eip = this.eips.get(allocationId);
    if (!eip) throw apiError('InvalidAllocationId.NotFound', `Specified allocation ID is not found: ${allocationId}`);
    return eip;
  }

  /** EIPs bound, or being bound or unbound, to an ENI (optionally one of its IPs). */
  eipsOn(instanceId: string, privateIpAddress?: string): StoredEip[] {
    return [...this.eips.values()].filter(
      (eip) =>
        eip.instanceId === instanceId &&
        (privateIpAddress === undefined || eip.privateIpAddress === privateIpAddress) &&
        (eip.status === 'Associating' || eip.status === 'InUse' || eip.status === 'Unassociating'),
    );
  }

  /** The EIP InUse on that ENI IP, as ECS reports it in `AssociatedPublicIp`. */
  publicIpOf(eni: StoredEni, ip: string): StoredEip | undefined {
    return [...this.eips.values()].find(
      (eip) =>
        eip.status === 'InUse' &&
        eip.privateIpAddress === ip &&
        (eip.instanceId === eni.networkInterfaceId || eip.instanceId === eni.instanceId),
    );
  }

  /** ECS instance ids: those that have a primary ENI. */
  primaryEniOfInstance(instanceId: string): StoredEni | undefined {
    return [...this.enis.values()].find((eni) => eni.type === 'Primary' && eni.instanceId === instanceId);
  }

  /** Snapshots without the internal fields, so callers cannot change the world by accident. */
  eipRecord(eip: StoredEip): EipRecord {
    const { createdAtMs: _createdAtMs, sequence: _sequence, orderId: _orderId, ...record } = eip;
    return structuredClone(record);
  }

  eniRecord(eni: StoredEni): NetworkInterfaceRecord {
    const {
      creationTime: _creationTime,
      securityGroupId: _securityGroupId,
      deviceIndex: _deviceIndex,
      ...record
    } = eni;
    return structuredClone(record);
  }
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function range1to254(): number[] {
  return Array.from({ length: 254 }, (_, index) => index + 1);
}

/** `cn-hangzhou-h`, `cn-hangzhou-i`, … for Chinese regions; `ap-southeast-1a`, … elsewhere. */
function zoneName(regionId: string, index: number): string {
  const letter = String.fromCharCode('h'.charCodeAt(0) + (index % 8));
  return regionId.startsWith('cn-') ? `${regionId}-${letter}` : `${regionId}${String.fromCharCode(97 + (index % 8))}`;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
