/**
 * Flow control and injected faults as the SDK classifies them: Throttling.User surfaces as a
 * ThrottlingError carrying retryAfter, server faults as ServerError, transport faults as the bare errors
 * the SDK lets through; a seed repeats the same faults.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { $Vpc, sdkError, startTestSandbox, vpcClient, type SdkError, type VpcClient } from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let regionId: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  vpc = vpcClient(sandbox);
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.setFaults({});
  sandbox.controls.setRateLimits({
    scale: 1,
    windowMs: 60_000,
    perMinute: { DescribeEipAddresses: 600, ListTagResources: 600 },
  });
});

const describeAll = (client = vpc) => client.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId }));

/** Calls until one fails (at most `limit` calls) and returns how many succeeded and the failure. */
async function callUntilRefused(
  call: () => Promise<unknown>,
  limit: number,
): Promise<{ succeeded: number; error: SdkError }> {
  for (let succeeded = 0; succeeded < limit; succeeded += 1) {
    try {
      await call();
    } catch (error) {
      return { succeeded, error: error as SdkError };
    }
  }
  throw new Error(`no call out of ${limit} was refused`);
}

describe('flow control', () => {
  it('throttles past the limit with Throttling.User, a ThrottlingError with retryAfter, per action', async () => {
    sandbox.controls.setRateLimits({ perMinute: { DescribeEipAddresses: 3 } });
    const { succeeded, error } = await callUntilRefused(() => describeAll(), 10);
    // A window boundary may fall inside the loop, so up to twice the limit can pass, never more (crossing two
    // would take these ten calls a minute).
    expect(succeeded).toBeGreaterThanOrEqual(3);
    expect(succeeded).toBeLessThanOrEqual(6);
    expect(error).toMatchObject({ name: 'ThrottlingError', code: 'Throttling.User', statusCode: 400 });
    expect(error.retryAfter).toBeGreaterThan(0);
    expect(error.retryAfter).toBeLessThanOrEqual(60_000);
    // Another API has its own budget.
    const listed = await vpc.listTagResources(
      new $Vpc.ListTagResourcesRequest({ regionId, resourceType: 'EIP', resourceId: ['eip-none'] }),
    );
    expect(listed.statusCode).toBe(200);
  });

  it('allows calls again once the window named by retryAfter has passed', async () => {
    // One call per 3 s: a refusal needs two of five calls inside one window, which even a busy machine manages.
    sandbox.controls.setRateLimits({ windowMs: 3000, perMinute: { DescribeEipAddresses: 1 } });
    const { error } = await callUntilRefused(() => describeAll(), 5);
    expect(error.retryAfter).toBeLessThanOrEqual(3000);
    await new Promise((resolve) => setTimeout(resolve, (error.retryAfter ?? 3000) + 5));
    expect((await describeAll()).statusCode).toBe(200);
  });

  it('scales the published limits (Allocate 120/min × 0.01 = 1)', async () => {
    const scaled = await startTestSandbox({ rateLimitScale: 0.01 });
    try {
      const client = vpcClient(scaled);
      const allocate = () => client.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId }));
      const { succeeded, error } = await callUntilRefused(allocate, 5);
      // 1, or 2 when the minute's boundary fell between the calls.
      expect(succeeded).toBeGreaterThanOrEqual(1);
      expect(succeeded).toBeLessThanOrEqual(2);
      expect(error.name).toBe('ThrottlingError');
    } finally {
      await scaled.close();
    }
  });
});

describe('fault injection', () => {
  async function failurePattern(target: CloudSandbox, calls: number): Promise<string> {
    const client = vpcClient(target);
    let pattern = '';
    for (let index = 0; index < calls; index += 1) {
      try {
        await client.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId: target.regionId }));
        pattern += '.';
      } catch (error) {
        const { name, code } = error as SdkError;
        pattern +=
          name === 'ServerError' && code === 'InternalError'
            ? 'I'
            : name === 'ServerError' && code === 'ServiceUnavailable'
              ? 'U'
              : '?';
      }
    }
    return pattern;
  }

  it('fails about the chosen fraction of calls, with server errors, only for the chosen actions', async () => {
    // A sandbox of its own: on the shared one the draws would depend on how many the tests before took.
    const own = await startTestSandbox();
    try {
      own.controls.setFaults({ failureRate: 0.3, actions: ['DescribeEipAddresses'] });
      const pattern = await failurePattern(own, 200);
      const failures = pattern.replace(/\./g, '').length;
      expect(pattern).not.toContain('?');
      expect(failures).toBeGreaterThanOrEqual(40);
      expect(failures).toBeLessThanOrEqual(80);
      expect(pattern).toContain('I');
      expect(pattern).toContain('U');
      expect(own.controls.callCounts().DescribeEipAddresses).toEqual({ ok: 200 - failures, failed: failures });
      const untouched = await vpcClient(own).allocateEipAddress(
        new $Vpc.AllocateEipAddressRequest({ regionId: own.regionId }),
      );
      expect(untouched.statusCode).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('repeats the same ids, addresses and faults for the same seed', async () => {
    const first = await startTestSandbox({ seed: 7 });
    const second = await startTestSandbox({ seed: 7 });
    try {
      expect(second.vpcId).toBe(first.vpcId);
      expect(second.controls.createEip()).toMatchObject({
        allocationId: first.controls.createEip().allocationId,
        ipAddress: first.controls.eips()[0]?.ipAddress,
      });
      for (const target of [first, second]) target.controls.setFaults({ failureRate: 0.5 });
      const pattern = await failurePattern(first, 30);
      expect(await failurePattern(second, 30)).toBe(pattern);
      expect(pattern).toMatch(/\./);
      expect(pattern).toMatch(/[IU]/);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('can answer with throttling, any other code, a non-JSON 502 or a dropped connection', async () => {
    sandbox.controls.setFaults({ failureRate: 1, codes: ['Throttling.User'] });
    expect(await sdkError(describeAll())).toMatchObject({
      name: 'ThrottlingError',
      code: 'Throttling.User',
      retryAfter: 1000,
    });
    sandbox.controls.setFaults({ failureRate: 1, codes: ['OperationConflict'] });
    expect(await sdkError(describeAll())).toMatchObject({
      name: 'ClientError',
      code: 'OperationConflict',
      statusCode: 409,
    });
    sandbox.controls.setFaults({ failureRate: 1, codes: ['BadGateway'] });
    expect((await sdkError(describeAll())).name).toBe('SyntaxError');
    sandbox.controls.setFaults({ failureRate: 1, codes: ['ConnectionReset'] });
    const reset = await sdkError(describeAll());
    expect(reset.message).toMatch(/socket hang up|ECONNRESET/);
  });

  it('delays answers by latencyMs', async () => {
    sandbox.controls.setFaults({ latencyMs: 120 });
    const started = Date.now();
    await describeAll();
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
  });
});
