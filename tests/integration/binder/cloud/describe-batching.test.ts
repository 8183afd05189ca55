/**
 * Describes by allocation id made close together share DescribeEipAddresses calls (≤50 ids each), and
 * each caller gets exactly its own EIPs back; a failed call fails the callers it served.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { EipCloud } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { callCount, cloudError, cloudFor, startFastSandbox } from './support.js';

let sandbox: CloudSandbox;
let cloud: EipCloud;
let ids: string[];

beforeAll(async () => {
  sandbox = await startFastSandbox();
  ids = Array.from({ length: 120 }, () => sandbox.controls.createEip().allocationId);
  cloud = cloudFor(sandbox, { describeBatchWindowMs: 50 });
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.setFaults({});
  sandbox.controls.resetCallCounts();
});

describe('describe batching', () => {
  it.each([1, 49, 50, 51, 120])(
    '%i concurrent single-id describes cost ⌈N/50⌉ calls, each caller getting its own EIP',
    async (count) => {
      const wanted = ids.slice(0, count);
      const answers = await Promise.all(wanted.map((id) => cloud.describeEips({ allocationIds: [id] })));
      expect(answers.map((answer) => answer.map((eip) => eip.allocationId))).toEqual(wanted.map((id) => [id]));
      expect(callCount(sandbox, 'DescribeEipAddresses')).toEqual({ ok: Math.ceil(count / 50), failed: 0 });
    },
  );

  it('shares a call between overlapping asks and leaves out ids that do not exist', async () => {
    const [a, b, c] = [ids[0] ?? '', ids[1] ?? '', ids[2] ?? ''];
    const [first, second, third] = await Promise.all([
      cloud.describeEips({ allocationIds: [a, b] }),
      cloud.describeEips({ allocationIds: [b, 'eip-gone000001', c] }),
      cloud.describeEips({ allocationIds: ['eip-gone000002'] }),
    ]);
    expect(first.map((eip) => eip.allocationId)).toEqual([a, b]);
    expect(second.map((eip) => eip.allocationId)).toEqual([b, c]);
    expect(third).toEqual([]);
    expect(callCount(sandbox, 'DescribeEipAddresses').ok).toBe(1);
  });

  it('describes asked after the window has closed go in a call of their own', async () => {
    await cloud.describeEips({ allocationIds: [ids[0] ?? ''] });
    await cloud.describeEips({ allocationIds: [ids[1] ?? ''] });
    expect(callCount(sandbox, 'DescribeEipAddresses').ok).toBe(2);
  });

  it('a failed call fails every caller it served, with the same CloudError', async () => {
    const failing = cloudFor(sandbox, { describeBatchWindowMs: 50, retry: { maxAttempts: 1 } });
    sandbox.controls.setFaults({ failureRate: 1, codes: ['ServiceUnavailable'], actions: ['DescribeEipAddresses'] });
    const errors = await Promise.all(
      ids.slice(0, 3).map((id) => cloudError(failing.describeEips({ allocationIds: [id] }))),
    );
    expect(errors.map((error) => [error.kind, error.code])).toEqual(
      Array.from({ length: 3 }, () => ['transient', 'ServiceUnavailable']),
    );
    expect(callCount(sandbox, 'DescribeEipAddresses')).toEqual({ ok: 0, failed: 1 });
  });
});
