/**
 * The in-process side of the Alibaba Cloud stand-in: what the sandbox's node agent and the tests use
 * directly (the binder only ever uses the real SDKs over HTTP).
 */
import type { Logger } from 'pino';

export type EipStatus = 'Available' | 'Associating' | 'InUse' | 'Unassociating' | 'Releasing';

export interface EipRecord {
  allocationId: string;
  ipAddress: string;
  status: EipStatus;
  regionId: string;
  bandwidth: string;
  internetChargeType: string;
  instanceChargeType: string;
  isp: string;
  name: string;
  description: string;
  resourceGroupId: string;
  publicIpAddressPoolId: string;
  bandwidthPackageId: string;
  /** ENI (or other instance) it is bound to, with the private IP, once InUse. */
  instanceId: string;
  instanceType: string;
  privateIpAddress: string;
  tags: Array<{ key: string; value: string }>;
  allocationTime: string;
  /** Association mode (`NAT`, `MULTI_BINDED`, `BINDED`); `NAT` until an association says otherwise. */
  mode: string;
  securityProtectionTypes: string[];
  /** When a PrePaid EIP's subscription ends; empty for PostPaid. */
  expiredTime: string;
}

export interface NetworkInterfaceRecord {
  networkInterfaceId: string;
  /** `Primary` is a node's main NIC; pods get IPs on `Secondary` ENIs (Terway). */
  type: 'Primary' | 'Secondary';
  status: 'Available' | 'InUse';
  vpcId: string;
  vSwitchId: string;
  zoneId: string;
  instanceId: string;
  macAddress: string;
  primaryIpAddress: string;
  /** Every private IP on the ENI, the primary one included. */
  privateIpAddresses: string[];
}

/** An Internet Shared Bandwidth instance (`cbwp-…`) and the EIPs added to it. */
export interface CommonBandwidthPackageRecord {
  bandwidthPackageId: string;
  name: string;
  bandwidth: string;
  isp: string;
  internetChargeType: string;
  resourceGroupId: string;
  creationTime: string;
  /** `BINDING` while AddCommonBandwidthPackageIp is in progress, `UNBINDING` while Remove is. */
  ips: Array<{ allocationId: string; ipAddress: string; status: 'BINDING' | 'BINDED' | 'UNBINDING' }>;
}

/**
 * Answers that are not an API error: `ConnectionReset` destroys the socket without a response,
 * `BadGateway` answers 502 with an HTML page (the SDK then throws a bare SyntaxError, as it does
 * behind a broken proxy).
 */
export type TransportFaultCode = 'ConnectionReset' | 'BadGateway';

/** Faults a test or the demo turns on; every field optional, all off by default. */
export interface CloudFaults {
  /** Fraction (0–1) of calls that fail, with a code drawn from `codes` (default InternalError, ServiceUnavailable). */
  failureRate?: number;
  /** API error codes (status and message as the real API gives them) or a TransportFaultCode. */
  codes?: string[];
  /** Only these actions are affected, by failures and by latency (default: all). */
  actions?: string[];
  /** Added to every response, in ms, after the call has taken effect (so a client timeout can hide a success). */
  latencyMs?: number;
  /**
   * Associations, unassociations and bandwidth-package additions and removals started while this is on
   * never finish (the EIP, or its membership, stays in its transitional state); turning it off lets them
   * finish, each after its usual delay.
   */
  stickTransitions?: boolean;
  /** Fraction (0–1) of associations and unassociations that end back where they started. */
  failedTransitionRate?: number;
  /** An injected failure is answered after the call has taken effect, as a 500 after commit would be. */
  failAfterEffect?: boolean;
}

/** A second credential for the same account: a RAM user's key, or an STS triple. */
export interface AccessKeyGrant {
  accessKeyId: string;
  accessKeySecret: string;
  /** Present for STS credentials; sent by the SDK as `x-acs-security-token`. */
  securityToken?: string;
  /** ISO time when STS credentials stop working. */
  expiration?: string;
}

export interface CloudSandboxControls {
  readonly regionId: string;
  readonly vpcId: string;
  /** Creates an ENI in the VPC (Terway would); its primary IP is allocated from the vSwitch's range. */
  createNetworkInterface(input: {
    type: 'Primary' | 'Secondary';
    instanceId: string;
    vSwitchId?: string;
  }): NetworkInterfaceRecord;
  /** Deletes an ENI; EIPs bound to any of its IPs are unbound, as the real cloud does. */
  deleteNetworkInterface(networkInterfaceId: string): void;
  /** Adds a secondary private IP to an ENI and returns it (a pod IP in Terway's shared-ENI mode). */
  assignPrivateIpAddress(networkInterfaceId: string): string;
  /** Removes it; an EIP bound to it is unbound, as the real cloud does when the IP goes. */
  unassignPrivateIpAddress(networkInterfaceId: string, ip: string): void;
  /** Unbinds an EIP at once, as someone in the console (or another tool) would behind podeip's back. */
  unbindEip(allocationId: string): void;
  /** An EIP that exists before anything runs (for static bindings). It counts against the quota. */
  createEip(
    input?: Partial<
      Pick<EipRecord, 'allocationId' | 'name' | 'bandwidth' | 'internetChargeType' | 'tags' | 'publicIpAddressPoolId'>
    >,
  ): EipRecord;
  /** Every EIP with its status, association and tags. */
  eips(): EipRecord[];
  networkInterfaces(): NetworkInterfaceRecord[];
  /** A package the EIPs can be added to; one exists from the start. */
  createCommonBandwidthPackage(input?: {
    bandwidthPackageId?: string;
    name?: string;
    bandwidth?: string;
    isp?: string;
  }): CommonBandwidthPackageRecord;
  commonBandwidthPackages(): CommonBandwidthPackageRecord[];
  /** Calls seen per action (successes and failures), for tests that count cloud calls. */
  callCounts(): Record<string, { ok: number; failed: number }>;
  resetCallCounts(): void;
  setFaults(faults: CloudFaults): void;
  /**
   * Limits by action per window (a minute unless `windowMs` says otherwise); `scale` multiplies the
   * published defaults (e.g. 0.1 for fast tests). Each call replaces only the fields it names.
   */
  setRateLimits(limits: { scale?: number; perMinute?: Record<string, number>; windowMs?: number }): void;
  /** Delays of the asynchronous transitions, in ms (default: a few hundred ms). */
  setTransitionDelays(delays: {
    associateMs?: number;
    unassociateMs?: number;
    releaseMs?: number;
    bandwidthPackageMs?: number;
  }): void;
  setEipQuota(quota: number): void;
  /**
   * Another credential of the same account (same quota, limits and resources). `deniedActions` are
   * refused with `Forbidden.RAM`; `sts` makes an STS triple valid for `ttlSeconds` (default 3600).
   */
  addAccessKey(input?: { deniedActions?: string[]; sts?: boolean; ttlSeconds?: number }): AccessKeyGrant;
}

export interface CloudSandboxOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  regionId?: string;
  vpcId?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  /** EIPs per account; default 20, as the real default quota. */
  eipQuota?: number;
  /** Multiplies every published rate limit; default 1. */
  rateLimitScale?: number;
  /** Length of a rate-limit window; default 60000 (the real limits are per minute). */
  rateLimitWindowMs?: number;
  transitionDelays?: { associateMs?: number; unassociateMs?: number; releaseMs?: number; bandwidthPackageMs?: number };
  /** Seeds the generator behind resource ids, addresses and fault draws, so runs repeat. */
  seed?: number;
  logger?: Logger;
}

export interface CloudSandbox {
  /** What the SDK's `Config.endpoint` takes: host and port, no scheme. */
  endpoint: string;
  protocol: 'http';
  port: number;
  regionId: string;
  vpcId: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** The seed in use (given or drawn), to repeat a run's ids, addresses and faults. */
  seed: number;
  /** `ALIBABA_CLOUD_CREDENTIALS_URI` for the SDK's credential chain: each GET hands out a fresh STS triple. */
  credentialsUri: string;
  /** JSON view of everything the stand-in holds, for humans and the demo. */
  inventoryUrl: string;
  controls: CloudSandboxControls;
  close(): Promise<void>;
}
