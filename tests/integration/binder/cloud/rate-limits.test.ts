/**
 * The client-side token bucket against the stand-in's flow control, both scaled down to two-second
 * windows: a burst of associations that would be throttled goes through with no Throttling answer when
 * the bucket is set to the server's limit, and the wait shows in the metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createPromCloudMetrics } from '../../../../binder/cloud/cloud-metrics.js';
import type { CloudError } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { callCount, cloudFor, startFastSandbox } from './support.js';

const WINDOW_MS = 2000;
// A small limit spaces the bucket's refills a second apart (1 + 2 in a window): a call delayed on a busy machine
// by up to that long still lands in a window with room for it, where 20 a second left only 55 ms.
const SERVER_LIMIT = 3;
const BURST = 2 * SERVER_LIMIT;

let sandbox: CloudSandbox;

beforeAll(async () => {
  sandbox = await startFastSandbox({ eipQuota: BURST, rateLimitWindowMs: WINDOW_MS });
  sandbox.controls.setRateLimits({ perMinute: { AssociateEipAddress: SERVER_LIMIT } });
});
afterAll(() => sandbox.close());

describe('client-side rate limit', () => {
  it(`keeps a burst of ${BURST} associations under a server limit of ${SERVER_LIMIT} per window, with no Throttling answer`, async () => {
    const eni = sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId: 'i-burst01' });
    const targets = Array.from({ length: BURST }, (_, index) => ({
      allocationId: sandbox.controls.createEip().allocationId,
      privateIp: sandbox.controls.assignPrivateIpAddress(eni.networkInterfaceId),
      clientToken: `burst-assoc-${index}`,
    }));
    const registry = new Registry();
    const cloud = cloudFor(sandbox, {
      rateLimitsPerMinute: { AssociateEipAddress: SERVER_LIMIT },
      rateLimitWindowMs: WINDOW_MS,
      metrics: createPromCloudMetrics(registry),
    });
    sandbox.controls.resetCallCounts();

    const started = Date.now();
    await Promise.all(
      targets.map((target) => cloud.associateEip({ ...target, networkInterfaceId: eni.networkInterfaceId })),
    );
    const elapsedMs = Date.now() - started;

    expect(callCount(sandbox, 'AssociateEipAddress')).toEqual({ ok: BURST, failed: 0 });
    // Twice the limit cannot all fit in fewer than two windows.
    expect(elapsedMs).toBeGreaterThan(WINDOW_MS);

    const metrics = await registry.getMetricsAsJSON();
    const calls = metrics.find((metric) => metric.name === 'podeip_binder_cloud_calls_total')?.values ?? [];
    expect(calls.find((value) => value.labels.api === 'AssociateEipAddress' && value.labels.code === 'OK')?.value).toBe(
      BURST,
    );
    const waits = (metrics.find((metric) => metric.name === 'podeip_binder_cloud_ratelimit_wait_seconds')?.values ??
      []) as Array<{ metricName?: string; labels: Record<string, unknown>; value: number }>;
    const waitCount = waits.find(
      (value) => value.labels.api === 'AssociateEipAddress' && value.metricName?.endsWith('_count'),
    )?.value;
    const waitSum =
      waits.find((value) => value.labels.api === 'AssociateEipAddress' && value.metricName?.endsWith('_sum'))?.value ??
      0;
    expect(waitCount).toBe(BURST);
    expect(waitSum).toBeGreaterThan(1);
  });

  it('without a matching bucket a burst meets Throttling.User (the control for the test above)', async () => {
    // A bucket that lets everything go at once, and more calls than two windows hold, so that a burst split by
    // a window boundary is throttled too.
    const loose = cloudFor(sandbox, {
      rateLimitsPerMinute: { AssociateEipAddress: SERVER_LIMIT * 100 },
      rateLimitWindowMs: WINDOW_MS,
    });
    const calls = 3 * SERVER_LIMIT + 1;
    sandbox.controls.resetCallCounts();
    // Unknown EIPs: each call is counted by flow control, then refused as NotFound, leaving nothing behind.
    const results = await Promise.allSettled(
      Array.from({ length: calls }, (_, index) =>
        loose.associateEip({
          allocationId: `eip-nosuch${index}`,
          networkInterfaceId: 'eni-nosuch',
          privateIp: '10.0.0.1',
          clientToken: `loose-${index}`,
        }),
      ),
    );
    const kinds = results.map((result) => (result.status === 'rejected' ? (result.reason as CloudError).kind : 'ok'));
    expect(kinds.filter((kind) => kind === 'throttled').length).toBeGreaterThan(0);
    expect(kinds.every((kind) => kind === 'throttled' || kind === 'not-found')).toBe(true);
  });
});
