/**
 * What a failed cloud call means for the pod. Some failures are the cloud being in the middle of something
 * (the EIP is still Associating, another task holds it): the pass looks again shortly and says nothing.
 * The rest set the condition False with a reason a person can search for, and a Warning Event; those a
 * person must fix (quota, permissions, a wrong id) come back in minutes, the others with backoff.
 */
import type { ApiName, CloudError } from '../cloud/eip-cloud.js';
import { WAIT_MS, type Action, type Observation } from './decision.js';

export const CLOUD_FAILURE_REASONS = {
  quota: 'EipQuotaExceeded',
  permission: 'CloudPermissionDenied',
  throttled: 'CloudThrottled',
  unavailable: 'CloudUnavailable',
  invalid: 'InvalidEipRequest',
  /** The pod's IP still carries another EIP (a previous holder of the IP whose binding is being undone). */
  ipTaken: 'PodIpHasAnotherEip',
  other: 'CloudError',
} as const;

/** Quota, permission and invalid requests wait for a person; asking every second would only burn the API budget. */
export const DEFAULT_SLOW_RETRY_MS = 2 * 60_000;

export type FailurePlan =
  /** The cloud is busy with this EIP: look again after `requeueAfterMs`, no condition, no Event. */
  | { kind: 'quiet'; requeueAfterMs: number }
  /** Tell the user; then `backoff` (the queue's per-key exponential backoff) or a fixed, long wait. */
  | { kind: 'loud'; reason: string; retry: 'backoff' | 'slow' };

type CloudWrite = Extract<
  Action['type'],
  | 'allocate-eip'
  | 'associate-eip'
  | 'unassociate-eip'
  | 'release-eip'
  | 'add-to-bandwidth-package'
  | 'remove-from-bandwidth-package'
>;

const CLOUD_WRITES: ReadonlySet<string> = new Set<CloudWrite>([
  'allocate-eip',
  'associate-eip',
  'unassociate-eip',
  'release-eip',
  'add-to-bandwidth-package',
  'remove-from-bandwidth-package',
]);

export function isCloudWrite(action: Action): boolean {
  return CLOUD_WRITES.has(action.type);
}

/** Writes on an existing EIP, where "wrong state" or "not there" means "look again", as Terway treats them. */
const STATE_SENSITIVE: ReadonlySet<string> = new Set([
  'associate-eip',
  'unassociate-eip',
  'release-eip',
  'add-to-bandwidth-package',
  'remove-from-bandwidth-package',
]);

/** @param during the action that failed; undefined for an observation (a describe). */
export function planForCloudFailure(error: CloudError, during: Action['type'] | undefined): FailurePlan {
  const stateSensitive = during !== undefined && STATE_SENSITIVE.has(during);
  // The CNI handed the pod an IP whose previous pod's EIP is still on it (Terway keeps freed IPs warm);
  // that binding is undone as its own record is reconciled, so this one is tried again with backoff, not
  // left for a person for minutes.
  if (during === 'associate-eip' && error.code === 'InvalidAssociation.Duplicated')
    return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.ipTaken, retry: 'backoff' };
  switch (error.kind) {
    case 'incorrect-status':
    case 'conflict':
      if (stateSensitive) return { kind: 'quiet', requeueAfterMs: WAIT_MS.transition };
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.other, retry: 'backoff' };
    case 'not-found':
      // The EIP or ENI went away under the call; the next observation shows what is left.
      if (during === 'associate-eip' || during === 'unassociate-eip' || during === 'release-eip')
        return { kind: 'quiet', requeueAfterMs: WAIT_MS.transition };
      // A bandwidth package, pool or resource group the annotations name does not exist.
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.invalid, retry: 'slow' };
    case 'quota':
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.quota, retry: 'slow' };
    case 'permission':
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.permission, retry: 'slow' };
    case 'invalid':
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.invalid, retry: 'slow' };
    case 'throttled':
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.throttled, retry: 'backoff' };
    case 'transient':
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.unavailable, retry: 'backoff' };
    default:
      return { kind: 'loud', reason: CLOUD_FAILURE_REASONS.other, retry: 'backoff' };
  }
}

/** The API an action or observation calls, for the throttle gate. */
export function apiOf(action: Action['type'] | Observation): ApiName | undefined {
  switch (action) {
    case 'allocate-eip':
      return 'AllocateEipAddress';
    case 'associate-eip':
      return 'AssociateEipAddress';
    case 'unassociate-eip':
      return 'UnassociateEipAddress';
    case 'release-eip':
      return 'ReleaseEipAddress';
    case 'add-to-bandwidth-package':
      return 'AddCommonBandwidthPackageIp';
    case 'remove-from-bandwidth-package':
      return 'RemoveCommonBandwidthPackageIp';
    case 'network-interface':
      return 'DescribeNetworkInterfaces';
    // 'policy' describes a static EIP a policy allows only by tag or pool.
    case 'eip':
    case 'tagged-eips':
    case 'policy':
      return 'DescribeEipAddresses';
    default:
      return undefined;
  }
}

/**
 * The cloud's "come back after" per API: until then no call to that API is sent, by any key. A key that
 * arrives early is put back until the gate opens, so the wait holds no worker.
 */
export class ThrottleGate {
  private readonly until = new Map<ApiName, number>();

  close(api: ApiName, retryAfterMs: number, now: number): void {
    const at = now + retryAfterMs;
    if ((this.until.get(api) ?? 0) < at) this.until.set(api, at);
  }

  /** Milliseconds until `api` may be called again; 0 when it may be now. */
  remainingMs(api: ApiName, now: number): number {
    const at = this.until.get(api);
    if (at === undefined) return 0;
    if (at <= now) {
      this.until.delete(api);
      return 0;
    }
    return at - now;
  }
}
