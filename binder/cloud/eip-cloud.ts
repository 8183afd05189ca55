/**
 * The binder's cloud port: what the reconciler may ask of the cloud, in plain data. The Alibaba adapter
 * (alibaba-eip-cloud.ts) implements it over the real SDKs; nothing SDK-shaped crosses this boundary.
 */
import type { AutoEipRequest } from '../../api/eip-request.js';

/** The OpenAPI actions the binder calls; metrics, rate limits and errors are keyed by them. */
export const CLOUD_API_NAMES = [
  'AllocateEipAddress',
  'AssociateEipAddress',
  'UnassociateEipAddress',
  'ReleaseEipAddress',
  'DescribeEipAddresses',
  'AddCommonBandwidthPackageIp',
  'RemoveCommonBandwidthPackageIp',
  'DescribeNetworkInterfaces',
] as const;
export type ApiName = (typeof CLOUD_API_NAMES)[number];

/** The ENI that holds a pod IP. */
export interface NetworkInterfaceMatch {
  networkInterfaceId: string;
  /** `Primary` is a node's main NIC (hostNetwork-like): the reconciler refuses to bind there. */
  type: 'Primary' | 'Secondary';
  /** The ECS instance the ENI is attached to; empty when it is detached. */
  instanceId: string;
  /** The pod owns the ENI's primary IP (Terway exclusive-ENI mode). */
  isPrimaryIp: boolean;
  privateIp: string;
}

/** `Unknown` stands for any status this code does not know yet; treat it as transitional. */
export type EipStatus = 'Available' | 'Associating' | 'InUse' | 'Unassociating' | 'Releasing' | 'Unknown';

/** One EIP as DescribeEipAddresses reports it. Text fields the cloud leaves out are `''`. */
export interface EipState {
  allocationId: string;
  ipAddress: string;
  status: EipStatus;
  /** The ENI (or other instance) it is bound to; `''` when unbound. */
  instanceId: string;
  /** `NetworkInterface` for the binder's bindings; `''` when unbound. */
  instanceType: string;
  /** `''` when unbound, and also when bound to an ENI's primary IP (the API reports it empty). */
  privateIpAddress: string;
  /** The Internet Shared Bandwidth instance it is in; `''` when none. */
  bandwidthPackageId: string;
  isp: string;
  internetChargeType: string;
  instanceChargeType: string;
  resourceGroupId: string;
  publicIpAddressPoolId: string;
  name: string;
  /** Mbit/s of the EIP itself (not of its bandwidth package); NaN if the cloud sent something else. */
  bandwidth: number;
  tags: Record<string, string>;
}

export interface EipQuery {
  /** Any number; the adapter chunks them (50 per call). An empty list matches nothing. */
  allocationIds?: string[];
  /** Every pair must match. */
  tags?: Record<string, string>;
  /** EIPs bound to this ENI (any of its IPs). */
  associatedNetworkInterfaceId?: string;
}

export interface AllocateEipOptions {
  /** Deterministic per pod (client-tokens.ts), so a restarted binder gets the same EIP back. */
  clientToken: string;
  /** Added after the user's tags, and winning over them on a shared key. */
  ownershipTags: Record<string, string>;
}

export interface AllocatedEip {
  allocationId: string;
  /** `''` only when the cloud has not assigned the address yet (a PrePaid order still being paid). */
  ipAddress: string;
}

export interface EipAssociationInput {
  allocationId: string;
  networkInterfaceId: string;
  /**
   * The pod IP. Terway omitted it for an ENI's primary IP, but the API reference (and the stand-in)
   * require it for `NetworkInterface`: pass it always, unless a cloud refuses it for a primary IP.
   * Omitted, it is not sent.
   */
  privateIp?: string;
  clientToken: string;
}

export interface BandwidthPackageMembershipInput {
  bandwidthPackageId: string;
  allocationId: string;
  clientToken: string;
}

/**
 * `released`: the release was accepted (the EIP goes Releasing, then disappears).
 * `already-gone`: the EIP did not exist any more (InvalidAllocationId.NotFound), which is just as done.
 */
export type ReleaseOutcome = 'released' | 'already-gone';

/** `not-in-package`: the EIP was not in that package (OperationUnsupported.IpNotInCbwp), which is just as done. */
export type BandwidthPackageRemoval = 'removed' | 'not-in-package';

/**
 * Whatever the cloud answers (or fails to) arrives as a CloudError; only a caller's own mistake (an empty
 * IP) is a plain Error. Writes are accepted asynchronously by the cloud: the caller polls describeEips
 * until the EIP shows the state it asked for.
 */
export interface EipCloud {
  findNetworkInterface(privateIp: string): Promise<NetworkInterfaceMatch | undefined>;
  describeEips(query: EipQuery): Promise<EipState[]>;
  allocateEip(request: AutoEipRequest, options: AllocateEipOptions): Promise<AllocatedEip>;
  associateEip(input: EipAssociationInput): Promise<void>;
  /** IncorrectEipStatus (not bound, or mid-transition) and NotFound are left to the caller to judge. */
  unassociateEip(input: EipAssociationInput): Promise<void>;
  releaseEip(allocationId: string): Promise<ReleaseOutcome>;
  addToBandwidthPackage(input: BandwidthPackageMembershipInput): Promise<void>;
  removeFromBandwidthPackage(input: BandwidthPackageMembershipInput): Promise<BandwidthPackageRemoval>;
}

export type CloudErrorKind =
  /** Flow control said no; come back after `retryAfterMs` or a backoff. */
  | 'throttled'
  /** 5xx, timeout, broken connection: the call may or may not have taken effect. */
  | 'transient'
  /** Another operation on the same resource, or the same ClientToken, is in flight. */
  | 'conflict'
  /** IncorrectEipStatus: the EIP is not in a state that allows this (mid-transition, or already there). */
  | 'incorrect-status'
  /** The account cannot hold more (QuotaExceeded.*, InsufficientBalance): a person must act. */
  | 'quota'
  /** Credentials missing or refused, or RAM denies the action: a person must act. */
  | 'permission'
  /** The EIP, ENI or bandwidth package named does not exist. */
  | 'not-found'
  /** The request itself is wrong for this resource; retrying unchanged will not help. */
  | 'invalid'
  | 'unknown';

const RETRYABLE_KINDS: ReadonlySet<CloudErrorKind> = new Set(['throttled', 'transient', 'conflict']);

export interface CloudErrorFields {
  kind: CloudErrorKind;
  /** The API's error code (`QuotaExceeded.Eip`), or a transport one (`ECONNRESET`, `ReadTimeout`). */
  code: string;
  api: ApiName;
  httpStatus?: number;
  requestId?: string;
  retryAfterMs?: number;
}

/**
 * A failed cloud call. `message` is safe to put in a pod Event and a log line: it never carries the
 * access key id, secret, security token, signature or the request URL.
 */
export class CloudError extends Error {
  readonly kind: CloudErrorKind;
  readonly code: string;
  readonly api: ApiName;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(fields: CloudErrorFields, message: string) {
    super(message);
    this.name = 'CloudError';
    this.kind = fields.kind;
    this.code = fields.code;
    this.api = fields.api;
    this.httpStatus = fields.httpStatus;
    this.requestId = fields.requestId;
    this.retryAfterMs = fields.retryAfterMs;
  }

  /** Worth trying again unchanged later: throttled, transient or conflict. */
  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }
}

export function isCloudError(error: unknown): error is CloudError {
  return error instanceof CloudError;
}
