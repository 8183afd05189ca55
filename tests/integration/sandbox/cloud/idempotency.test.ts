/**
 * ClientToken as a crash-safe binder relies on it: a retry with the same token never makes a second EIP
 * or a second association, even when the first answer was lost to a 500 or a client timeout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { pollUntil } from '../../poll.js';
import {
  $Vpc,
  eipStatus,
  podNetwork,
  sdkError,
  startTestSandbox,
  vpcClient,
  waitForEipStatus,
  type SdkError,
  type VpcClient,
} from './support.js';

let sandbox: CloudSandbox;
let vpc: VpcClient;
let regionId: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  vpc = vpcClient(sandbox);
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.controls.setFaults({}));

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  await pollUntil(
    condition,
    (met) => met,
    () => 'condition not met',
    timeoutMs,
    5,
  );
}

async function retryWhileProcessing<T>(call: () => Promise<T>, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if ((error as SdkError).code !== 'LastTokenProcessing' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const allocate = (clientToken: string, bandwidth = '5') =>
  vpc.allocateEipAddress(new $Vpc.AllocateEipAddressRequest({ regionId, clientToken, bandwidth }));

describe('ClientToken', () => {
  it('replays the first answer for the same token and parameters, with no second EIP', async () => {
    const before = sandbox.controls.eips().length;
    const first = await allocate('pod-uid-1/allocate/1');
    const again = await allocate('pod-uid-1/allocate/1');
    expect(first.body).toMatchObject({
      allocationId: expect.stringMatching(/^eip-/),
      eipAddress: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
      requestId: expect.any(String),
    });
    expect(again.body?.allocationId).toBe(first.body?.allocationId);
    expect(again.body?.eipAddress).toBe(first.body?.eipAddress);
    expect(again.body?.requestId).toBe(first.body?.requestId);
    expect(sandbox.controls.eips()).toHaveLength(before + 1);
  });

  it('refuses the same token with other parameters: IdempotentParameterMismatch', async () => {
    await allocate('pod-uid-2/allocate/1', '5');
    const error = await sdkError(allocate('pod-uid-2/allocate/1', '6'));
    expect(error).toMatchObject({ name: 'ClientError', code: 'IdempotentParameterMismatch', statusCode: 400 });
  });

  it('answers 403 LastTokenProcessing to a retry while the first call is still being answered', async () => {
    sandbox.controls.setFaults({ latencyMs: 200, actions: ['AllocateEipAddress'] });
    const before = sandbox.controls.eips().length;
    const first = allocate('pod-uid-3/allocate/1');
    // The EIP exists as soon as the first call has taken effect; its answer is still 200 ms away.
    await until(() => sandbox.controls.eips().length > before);
    expect(await sdkError(allocate('pod-uid-3/allocate/1'))).toMatchObject({
      name: 'ClientError',
      code: 'LastTokenProcessing',
      statusCode: 403,
    });
    const answered = await first;
    sandbox.controls.setFaults({});
    expect((await allocate('pod-uid-3/allocate/1')).body?.allocationId).toBe(answered.body?.allocationId);
  });

  it('keeps no token for a refused call, so the same token works once the cause is fixed', async () => {
    const used = sandbox.controls.eips().length;
    sandbox.controls.setEipQuota(used);
    expect(await sdkError(allocate('pod-uid-4/allocate/1'))).toMatchObject({ code: 'QuotaExceeded.Eip' });
    sandbox.controls.setEipQuota(100);
    expect((await allocate('pod-uid-4/allocate/1')).body?.allocationId).toMatch(/^eip-/);
  });

  it('makes a retry after a 500-after-commit a replay, not a second association', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = (await allocate('pod-uid-5/allocate/1')).body?.allocationId ?? '';
    const associate = () =>
      vpc.associateEipAddress(
        new $Vpc.AssociateEipAddressRequest({
          regionId,
          allocationId,
          instanceId: eniId,
          instanceType: 'NetworkInterface',
          privateIpAddress: podIp,
          clientToken: 'pod-uid-5/associate/1',
        }),
      );
    sandbox.controls.setFaults({
      failureRate: 1,
      codes: ['InternalError'],
      actions: ['AssociateEipAddress'],
      failAfterEffect: true,
    });
    expect(await sdkError(associate())).toMatchObject({ name: 'ServerError', code: 'InternalError', statusCode: 500 });
    expect(await eipStatus(vpc, regionId, allocationId)).toBe('Associating');
    sandbox.controls.setFaults({});
    expect((await associate()).statusCode).toBe(200);
    await waitForEipStatus(vpc, regionId, allocationId, 'InUse');
  });

  it('lets a client timeout hide a success that a retry with the token then finds', async () => {
    const { eniId, podIp } = podNetwork(sandbox);
    const allocationId = (await allocate('pod-uid-6/allocate/1')).body?.allocationId ?? '';
    const request = new $Vpc.AssociateEipAddressRequest({
      regionId,
      allocationId,
      instanceId: eniId,
      instanceType: 'NetworkInterface',
      privateIpAddress: podIp,
      clientToken: 'pod-uid-6/associate/1',
    });
    sandbox.controls.setFaults({ latencyMs: 250, actions: ['AssociateEipAddress'] });
    const impatient = vpcClient(sandbox, {}, { readTimeout: 80 });
    expect(await sdkError(impatient.associateEipAddress(request))).toMatchObject({ name: 'RequestTimeoutError' });
    // The call took effect although the client saw a timeout.
    expect(['Associating', 'InUse']).toContain(await eipStatus(vpc, regionId, allocationId));
    sandbox.controls.setFaults({});
    // As a binder would: retry with the same token, waiting out LastTokenProcessing until the first answer is in.
    const retried = await retryWhileProcessing(() => vpc.associateEipAddress(request));
    expect(retried.statusCode).toBe(200);
  });

  it('is not honoured by ReleaseEipAddress, which has no ClientToken', async () => {
    const allocationId = (await allocate('pod-uid-7/allocate/1')).body?.allocationId ?? '';
    await vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }));
    expect(
      await sdkError(vpc.releaseEipAddress(new $Vpc.ReleaseEipAddressRequest({ regionId, allocationId }))),
    ).toMatchObject({ code: 'IncorrectEipStatus' });
  });
});
