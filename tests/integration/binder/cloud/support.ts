/**
 * Shared by the binder cloud-edge tests: a fast cloud stand-in, the Alibaba adapter pointed at it the
 * way production points it at the real endpoint, and small helpers to wait for EIP states and to catch
 * CloudErrors.
 */
import type { AutoEipRequest } from '../../../../api/eip-request.js';
import { createAlibabaEipCloud, type AlibabaEipCloudOptions } from '../../../../binder/cloud/alibaba-eip-cloud.js';
import type { CloudMetrics } from '../../../../binder/cloud/cloud-metrics.js';
import { CloudError, type ApiName, type EipCloud, type EipState } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox, CloudSandboxOptions } from '../../../../sandbox/cloud/index.js';
import { pollUntil } from '../../poll.js';
import { startTestSandbox } from '../../sandbox/cloud/support.js';

export { podNetwork } from '../../sandbox/cloud/support.js';

/** Transitions of a few tens of ms, so an associate-to-InUse cycle takes well under a second. */
export function startFastSandbox(options: CloudSandboxOptions = {}): Promise<CloudSandbox> {
  return startTestSandbox(options);
}

/** Short backoffs and batch window so retries and batching cost milliseconds, not seconds. */
export function cloudFor(sandbox: CloudSandbox, overrides: Partial<AlibabaEipCloudOptions> = {}): EipCloud {
  return createAlibabaEipCloud({
    regionId: sandbox.regionId,
    vpcId: sandbox.vpcId,
    endpoint: sandbox.endpoint,
    protocol: 'http',
    credentials: { kind: 'access-key', accessKeyId: sandbox.accessKeyId, accessKeySecret: sandbox.accessKeySecret },
    describeBatchWindowMs: 10,
    retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 80, conflictDelayMs: 30 },
    ...overrides,
  });
}

/** An auto EIP request with the parser's defaults; tests override what they look at. */
export function autoRequest(overrides: Partial<AutoEipRequest> = {}): AutoEipRequest {
  return {
    mode: 'auto',
    bandwidth: 5,
    internetChargeType: 'PayByTraffic',
    instanceChargeType: 'PostPaid',
    releaseStrategy: { type: 'Follow' },
    ...overrides,
  };
}

export const OWNER_TAGS = {
  'podeip.io/cluster-id': 'c-test',
  'podeip.io/namespace': 'default',
  'podeip.io/pod-name': 'web-0',
  'podeip.io/pod-uid': '0b9b3f0e-4f3c-4c52-9d7e-1f2a3b4c5d6e',
};

/** The CloudError a call rejects with; fails the test if it resolves or rejects with anything else. */
export async function cloudError(call: Promise<unknown>): Promise<CloudError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof CloudError) return error;
    throw new Error(`expected a CloudError, got ${String(error)}`);
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** Polls describeEips as the reconciler will, until the EIP satisfies `done` (or is gone, for `gone`). */
export async function waitForEip(
  cloud: EipCloud,
  allocationId: string,
  done: ((eip: EipState) => boolean) | 'gone',
  timeoutMs = 3000,
): Promise<EipState | undefined> {
  return pollUntil(
    async () => (await cloud.describeEips({ allocationIds: [allocationId] }))[0],
    (last) => (done === 'gone' ? last === undefined : last !== undefined && done(last)),
    (last) => `${allocationId} did not settle (last seen ${JSON.stringify(last)})`,
    timeoutMs,
    20,
  );
}

/** A CloudMetrics that keeps what it is told, for assertions. */
export function recordingMetrics(): CloudMetrics & {
  calls: Array<{ api: ApiName; code: string }>;
  waits: Array<{ api: ApiName; seconds: number }>;
} {
  const calls: Array<{ api: ApiName; code: string }> = [];
  const waits: Array<{ api: ApiName; seconds: number }> = [];
  return {
    calls,
    waits,
    callDone: (api, code) => calls.push({ api, code }),
    bucketWait: (api, seconds) => waits.push({ api, seconds }),
  };
}

export function callCount(sandbox: CloudSandbox, action: string): { ok: number; failed: number } {
  return sandbox.controls.callCounts()[action] ?? { ok: 0, failed: 0 };
}
