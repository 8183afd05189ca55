/**
 * Failures after the cloud has acted: a retried write must not act twice (same ClientToken), a release
 * whose answer was lost must be recognised as done, and a slow answer must end as a transient error in
 * about the configured time, on a fresh socket and on a kept-alive one alike.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { clientTokenFor } from '../../../../binder/cloud/client-tokens.js';
import type { EipCloud } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  OWNER_TAGS,
  autoRequest,
  callCount,
  cloudError,
  cloudFor,
  podNetwork,
  startFastSandbox,
  waitForEip,
} from './support.js';

let sandbox: CloudSandbox;
let cloud: EipCloud;
let sequence = 0;
const podUid = (): string => `7e4d1c2b-0000-4000-8000-${String((sequence += 1)).padStart(12, '0')}`;

beforeAll(async () => {
  sandbox = await startFastSandbox({ eipQuota: 100 });
  cloud = cloudFor(sandbox);
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.setFaults({});
  sandbox.controls.resetCallCounts();
});

const eipCount = (): number => sandbox.controls.eips().length;

describe('writes that failed after taking effect', () => {
  it('Allocate: a 500 after the EIP exists is retried with the same token, and exactly one EIP exists', async () => {
    const before = eipCount();
    sandbox.controls.setFaults({ failureRate: 1, failAfterEffect: true, actions: ['AllocateEipAddress'] });
    const allocated = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: podUid() }),
      ownershipTags: OWNER_TAGS,
    });
    expect(callCount(sandbox, 'AllocateEipAddress')).toEqual({ ok: 1, failed: 1 });
    expect(eipCount()).toBe(before + 1);
    expect(sandbox.controls.eips().at(-1)?.allocationId).toBe(allocated.allocationId);
  });

  it('Associate: a 503 after the association started is replayed, and the EIP reaches InUse once', async () => {
    const uid = podUid();
    const { eniId, podIp } = podNetwork(sandbox);
    const { allocationId } = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: uid }),
      ownershipTags: OWNER_TAGS,
    });
    sandbox.controls.setFaults({
      failureRate: 1,
      failAfterEffect: true,
      codes: ['ServiceUnavailable'],
      actions: ['AssociateEipAddress'],
    });
    await cloud.associateEip({
      allocationId,
      networkInterfaceId: eniId,
      privateIp: podIp,
      clientToken: clientTokenFor({ operation: 'associate', podUid: uid, allocationId, target: [eniId, podIp] }),
    });
    expect(callCount(sandbox, 'AssociateEipAddress')).toEqual({ ok: 1, failed: 1 });
    expect(await waitForEip(cloud, allocationId, (eip) => eip.status === 'InUse')).toMatchObject({
      instanceId: eniId,
      privateIpAddress: podIp,
    });
  });

  it('Release: a 500 after the release took effect is recognised by a describe, not sent again', async () => {
    const { allocationId } = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: podUid() }),
      ownershipTags: OWNER_TAGS,
    });
    sandbox.controls.resetCallCounts();
    sandbox.controls.setFaults({ failureRate: 1, failAfterEffect: true, actions: ['ReleaseEipAddress'] });
    expect(await cloud.releaseEip(allocationId)).toBe('released');
    expect(callCount(sandbox, 'ReleaseEipAddress')).toEqual({ ok: 0, failed: 1 });
    expect(callCount(sandbox, 'DescribeEipAddresses').ok).toBe(1);
    sandbox.controls.setFaults({});
    await waitForEip(cloud, allocationId, 'gone');
  });

  it('Release: a failure before taking effect is sent again while the EIP is still Available, then surfaces', async () => {
    const { allocationId } = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: podUid() }),
      ownershipTags: OWNER_TAGS,
    });
    sandbox.controls.resetCallCounts();
    sandbox.controls.setFaults({ failureRate: 1, codes: ['InternalError'], actions: ['ReleaseEipAddress'] });
    expect(await cloudError(cloud.releaseEip(allocationId))).toMatchObject({
      kind: 'transient',
      code: 'InternalError',
    });
    expect(callCount(sandbox, 'ReleaseEipAddress')).toEqual({ ok: 0, failed: 3 });
    expect((await cloud.describeEips({ allocationIds: [allocationId] }))[0]?.status).toBe('Available');
  });
});

describe('timeouts', () => {
  it('a slow answer past the read timeout is transient, on a fresh and on a kept-alive socket', async () => {
    const impatient = cloudFor(sandbox, { readTimeoutMs: 150, connectTimeoutMs: 100, retry: { maxAttempts: 1 } });
    // Warm a connection first: the SDK's own read timer only starts on a fresh socket's connect.
    await impatient.describeEips({ tags: { warm: 'up' } });
    // Answers held back 3 s: an error sooner than that is the client's timeout, with a twentyfold margin over
    // its 150 ms for a busy machine.
    sandbox.controls.setFaults({ latencyMs: 3000, actions: ['DescribeEipAddresses'] });
    for (let round = 0; round < 2; round += 1) {
      const started = Date.now();
      const error = await cloudError(impatient.describeEips({ tags: { slow: String(round) } }));
      expect(error).toMatchObject({ kind: 'transient', retryable: true });
      expect(['ReadTimeout', 'ConnectTimeout', 'RequestTimeout']).toContain(error.code);
      expect(Date.now() - started).toBeLessThan(3000);
    }
  });

  it('an answer slower than the connect timeout but within the read timeout is waited for, on a kept-alive socket', async () => {
    const patient = cloudFor(sandbox, { readTimeoutMs: 1000, connectTimeoutMs: 100, retry: { maxAttempts: 1 } });
    await patient.describeEips({ tags: { warm: 'up' } });
    sandbox.controls.setFaults({ latencyMs: 300, actions: ['DescribeEipAddresses'] });
    expect(await patient.describeEips({ tags: { slow: 'but-fine' } })).toEqual([]);
  });

  it('a timed-out Allocate that took effect is found again by its token, never allocated twice', async () => {
    const before = eipCount();
    const clientToken = clientTokenFor({ operation: 'allocate', podUid: podUid() });
    const impatient = cloudFor(sandbox, { readTimeoutMs: 150, connectTimeoutMs: 100 });
    sandbox.controls.setFaults({ latencyMs: 400, actions: ['AllocateEipAddress'] });
    const error = await cloudError(impatient.allocateEip(autoRequest(), { clientToken, ownershipTags: OWNER_TAGS }));
    // Timeouts retried with the same token; an attempt that met the first still in flight was told LastTokenProcessing.
    expect(['transient', 'conflict']).toContain(error.kind);
    expect(eipCount()).toBe(before + 1);

    sandbox.controls.setFaults({});
    await new Promise((resolve) => setTimeout(resolve, 450));
    const allocated = await impatient.allocateEip(autoRequest(), { clientToken, ownershipTags: OWNER_TAGS });
    expect(eipCount()).toBe(before + 1);
    expect(allocated.allocationId).toBe(sandbox.controls.eips().at(-1)?.allocationId);
  });
});
