/**
 * Each CloudError kind from a real answer of the stand-in through the real SDK, with messages safe for a
 * pod Event: no key id, secret, signature or URL.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { clientTokenFor } from '../../../../binder/cloud/client-tokens.js';
import type { EipCloud } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { OWNER_TAGS, autoRequest, callCount, cloudError, cloudFor, podNetwork, startFastSandbox } from './support.js';

let sandbox: CloudSandbox;
let cloud: EipCloud;
let sequence = 0;
const token = (label: string): string => `test-${label}-${(sequence += 1)}`;

beforeAll(async () => {
  sandbox = await startFastSandbox();
  cloud = cloudFor(sandbox);
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.controls.setFaults({});
  sandbox.controls.setEipQuota(100);
  sandbox.controls.setRateLimits({ scale: 1, windowMs: 60_000, perMinute: { DescribeEipAddresses: 600 } });
  sandbox.controls.resetCallCounts();
});

const allocate = (clientToken = token('alloc')) =>
  cloud.allocateEip(autoRequest(), { clientToken, ownershipTags: OWNER_TAGS });

describe('answers the reconciler must wait out or look into', () => {
  it('quota: QuotaExceeded.Eip, not retryable', async () => {
    sandbox.controls.setEipQuota(sandbox.controls.eips().length);
    const error = await cloudError(allocate());
    expect(error).toMatchObject({
      kind: 'quota',
      code: 'QuotaExceeded.Eip',
      api: 'AllocateEipAddress',
      httpStatus: 400,
      retryable: false,
    });
    expect(error.requestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(error.message).toMatch(/^AllocateEipAddress failed: QuotaExceeded\.Eip: Elastic IP address quota exceeded/);
  });

  it('not-found: an EIP that does not exist', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const error = await cloudError(
      cloud.associateEip({
        allocationId: 'eip-doesnotexist1',
        networkInterfaceId: eniId,
        privateIp: podIp,
        clientToken: token('assoc'),
      }),
    );
    expect(error).toMatchObject({
      kind: 'not-found',
      code: 'InvalidAllocationId.NotFound',
      httpStatus: 404,
      retryable: false,
    });
  });

  it('incorrect-status: a second associate while the EIP is Associating', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const other = podNetwork(sandbox);
    const { allocationId } = await allocate();
    sandbox.controls.setFaults({ stickTransitions: true });
    await cloud.associateEip({
      allocationId,
      networkInterfaceId: eniId,
      privateIp: podIp,
      clientToken: token('assoc'),
    });
    expect((await cloud.describeEips({ allocationIds: [allocationId] }))[0]?.status).toBe('Associating');
    const error = await cloudError(
      cloud.associateEip({
        allocationId,
        networkInterfaceId: other.eniId,
        privateIp: other.podIp,
        clientToken: token('assoc'),
      }),
    );
    expect(error).toMatchObject({ kind: 'incorrect-status', code: 'IncorrectEipStatus', retryable: false });
  });

  it('conflict: retried once in the adapter, then returned as retryable', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const { allocationId } = await allocate();
    sandbox.controls.setFaults({ failureRate: 1, codes: ['TaskConflict'], actions: ['AssociateEipAddress'] });
    const error = await cloudError(
      cloud.associateEip({ allocationId, networkInterfaceId: eniId, privateIp: podIp, clientToken: token('assoc') }),
    );
    expect(error).toMatchObject({ kind: 'conflict', code: 'TaskConflict', retryable: true });
    expect(callCount(sandbox, 'AssociateEipAddress')).toEqual({ ok: 0, failed: 2 });
  });

  it('invalid: a value the API refuses, and a ClientToken reused with other parameters', async () => {
    const refused = await cloudError(
      cloud.allocateEip(autoRequest({ bandwidth: 9999 }), { clientToken: token('alloc'), ownershipTags: OWNER_TAGS }),
    );
    expect(refused).toMatchObject({ kind: 'invalid', code: 'InvalidParameter', retryable: false });
    expect(refused.message).toContain('Bandwidth');

    const reused = token('alloc');
    await allocate(reused);
    const mismatch = await cloudError(
      cloud.allocateEip(autoRequest({ bandwidth: 6 }), { clientToken: reused, ownershipTags: OWNER_TAGS }),
    );
    expect(mismatch).toMatchObject({ kind: 'invalid', code: 'IdempotentParameterMismatch' });
  });
});

describe('throttling and transient failures', () => {
  it('throttled: Throttling.User from a tiny server limit, with the retry-after, without retrying', async () => {
    sandbox.controls.setRateLimits({ perMinute: { DescribeEipAddresses: 1 } });
    await cloud.describeEips({ tags: { team: 'a' } });
    const error = await cloudError(cloud.describeEips({ tags: { team: 'b' } }));
    expect(error).toMatchObject({ kind: 'throttled', code: 'Throttling.User', httpStatus: 400, retryable: true });
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(callCount(sandbox, 'DescribeEipAddresses')).toEqual({ ok: 1, failed: 1 });
  });

  it.each([
    ['ServiceUnavailable', 'ServiceUnavailable', 503],
    ['InternalError', 'InternalError', 500],
    ['ConnectionReset', 'ECONNRESET', undefined],
    ['BadGateway', 'BadResponse', undefined],
  ])('transient: %s is retried, then surfaces as %s without the request URL', async (injected, code, httpStatus) => {
    sandbox.controls.setFaults({ failureRate: 1, codes: [injected], actions: ['DescribeEipAddresses'] });
    const error = await cloudError(cloud.describeEips({ tags: { team: 'x' } }));
    expect(error).toMatchObject({ kind: 'transient', code, httpStatus, retryable: true });
    expect(error.message).not.toMatch(/https?:|RegionId=|127\.0\.0\.1/);
    expect(callCount(sandbox, 'DescribeEipAddresses').failed).toBe(3);
  });
});

describe('credentials the cloud refuses', () => {
  it('permission: a wrong secret, with no key id or secret in the message', async () => {
    const wrongSecret = 'WrongSecretValue0123456789abcdef';
    const refused = cloudFor(sandbox, {
      credentials: { kind: 'access-key', accessKeyId: sandbox.accessKeyId, accessKeySecret: wrongSecret },
    });
    const error = await cloudError(refused.describeEips({ tags: { team: 'x' } }));
    expect(error).toMatchObject({ kind: 'permission', code: 'SignatureDoesNotMatch', retryable: false });
    for (const secret of [wrongSecret, sandbox.accessKeyId, sandbox.accessKeySecret])
      expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(wrongSecret);
  });

  it('permission: an unknown key id, which the answer itself echoes, is scrubbed', async () => {
    const unknownKeyId = 'SANDBOXAKNOTAKEY00000001';
    const refused = cloudFor(sandbox, {
      credentials: { kind: 'access-key', accessKeyId: unknownKeyId, accessKeySecret: 'AnySecretValue00000000000000' },
    });
    const error = await cloudError(refused.findNetworkInterface('10.0.0.1'));
    expect(error).toMatchObject({
      kind: 'permission',
      code: 'InvalidAccessKeyId.NotFound',
      api: 'DescribeNetworkInterfaces',
    });
    expect(error.message).not.toContain(unknownKeyId);
    expect(error.message).toContain('***');
  });

  it('permission: a RAM user denied the action (Forbidden.RAM)', async () => {
    const ramUser = sandbox.controls.addAccessKey({ deniedActions: ['AllocateEipAddress'] });
    const denied = cloudFor(sandbox, {
      credentials: { kind: 'access-key', accessKeyId: ramUser.accessKeyId, accessKeySecret: ramUser.accessKeySecret },
    });
    const error = await cloudError(
      denied.allocateEip(autoRequest(), {
        clientToken: clientTokenFor({ operation: 'allocate', podUid: 'uid-ram-1' }),
        ownershipTags: OWNER_TAGS,
      }),
    );
    expect(error).toMatchObject({ kind: 'permission', code: 'Forbidden.RAM', httpStatus: 403 });
    expect(error.message).toContain('vpc:AllocateEipAddress');
    expect(error.message).not.toContain(ramUser.accessKeyId);
  });
});
