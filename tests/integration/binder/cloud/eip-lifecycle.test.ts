/**
 * An EIP's whole life through the port, checked against what the stand-in holds: allocate with every
 * option, associate until InUse, unassociate, bandwidth package in and out, release; and describes by
 * tag, by ENI, and over many pages and id chunks.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { clientTokenFor, ownershipTagsFor } from '../../../../binder/cloud/client-tokens.js';
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

/** A fresh pod UID per test, so deterministic tokens never collide across tests. */
const podUid = (): string => `5f0c6a52-0000-4000-8000-${String((sequence += 1)).padStart(12, '0')}`;

beforeAll(async () => {
  sandbox = await startFastSandbox({ eipQuota: 400 });
  cloud = cloudFor(sandbox);
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.controls.resetCallCounts());

describe('allocateEip', () => {
  it('maps every option of the request, with user and ownership tags', async () => {
    const uid = podUid();
    const request = autoRequest({
      bandwidth: 12,
      internetChargeType: 'PayByBandwidth',
      isp: 'BGP_PRO',
      publicIpAddressPoolId: 'pippool-test01',
      resourceGroupId: 'rg-test01',
      name: 'web-0 eip',
      description: 'for default/web-0',
      securityProtectionTypes: ['AntiDDoS_Enhanced'],
      // A user tag under the ownership key loses to the ownership tag.
      tags: { team: 'edge', 'podeip.io/pod-name': 'spoofed' },
    });
    const allocated = await cloud.allocateEip(request, {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: uid }),
      ownershipTags: OWNER_TAGS,
    });
    expect(allocated.allocationId).toMatch(/^eip-/);
    expect(allocated.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const record = sandbox.controls.eips().find((eip) => eip.allocationId === allocated.allocationId);
    expect(record).toMatchObject({
      status: 'Available',
      bandwidth: '12',
      internetChargeType: 'PayByBandwidth',
      instanceChargeType: 'PostPaid',
      isp: 'BGP_PRO',
      publicIpAddressPoolId: 'pippool-test01',
      resourceGroupId: 'rg-test01',
      name: 'web-0 eip',
      description: 'for default/web-0',
      securityProtectionTypes: ['AntiDDoS_Enhanced'],
    });
    expect(Object.fromEntries((record?.tags ?? []).map((tag) => [tag.key, tag.value]))).toEqual({
      team: 'edge',
      ...OWNER_TAGS,
    });

    const [described] = await cloud.describeEips({
      tags: { 'podeip.io/pod-uid': OWNER_TAGS['podeip.io/pod-uid'], team: 'edge' },
    });
    expect(described).toEqual({
      allocationId: allocated.allocationId,
      ipAddress: allocated.ipAddress,
      status: 'Available',
      instanceId: '',
      instanceType: '',
      privateIpAddress: '',
      bandwidthPackageId: '',
      isp: 'BGP_PRO',
      internetChargeType: 'PayByBandwidth',
      instanceChargeType: 'PostPaid',
      resourceGroupId: 'rg-test01',
      publicIpAddressPoolId: 'pippool-test01',
      name: 'web-0 eip',
      bandwidth: 12,
      tags: { team: 'edge', ...OWNER_TAGS },
    });
  });

  it('tags a pod whose names the API would refuse verbatim (an aliyun-… namespace, a 200-character name)', async () => {
    const uid = podUid();
    const ownershipTags = ownershipTagsFor({
      clusterId: 'c-test',
      namespace: 'aliyun-system',
      podName: `job-${'x'.repeat(196)}`,
      podUid: uid,
    });
    const { allocationId } = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: uid }),
      ownershipTags,
    });
    const [found] = await cloud.describeEips({ tags: { 'podeip.io/pod-uid': uid } });
    expect(found?.allocationId).toBe(allocationId);
    expect(found?.tags).toEqual(ownershipTags);
  });

  it('gets the same EIP back for the same ClientToken, as a restarted binder would', async () => {
    const token = clientTokenFor({ operation: 'allocate', podUid: podUid() });
    const before = sandbox.controls.eips().length;
    const first = await cloud.allocateEip(autoRequest(), { clientToken: token, ownershipTags: OWNER_TAGS });
    const second = await cloud.allocateEip(autoRequest(), { clientToken: token, ownershipTags: OWNER_TAGS });
    expect(second).toEqual(first);
    expect(sandbox.controls.eips()).toHaveLength(before + 1);
  });

  it('fills in the address of a PrePaid EIP, whose answer carries only the order', async () => {
    const allocated = await cloud.allocateEip(
      autoRequest({ instanceChargeType: 'PrePaid', internetChargeType: 'PayByBandwidth' }),
      {
        clientToken: clientTokenFor({ operation: 'allocate', podUid: podUid() }),
        ownershipTags: OWNER_TAGS,
      },
    );
    expect(allocated.ipAddress).toBe(
      sandbox.controls.eips().find((eip) => eip.allocationId === allocated.allocationId)?.ipAddress,
    );
    expect(callCount(sandbox, 'DescribeEipAddresses').ok).toBe(1);
  });
});

describe('association', () => {
  it('associates with a secondary IP, shows InUse, finds it by ENI, and unassociates', async () => {
    const uid = podUid();
    const { eniId, podIp } = podNetwork(sandbox);
    const { allocationId } = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: uid }),
      ownershipTags: OWNER_TAGS,
    });
    const association = { allocationId, networkInterfaceId: eniId, privateIp: podIp };

    await cloud.associateEip({
      ...association,
      clientToken: clientTokenFor({ operation: 'associate', podUid: uid, allocationId, target: [eniId, podIp] }),
    });
    const bound = await waitForEip(cloud, allocationId, (eip) => eip.status === 'InUse');
    expect(bound).toMatchObject({ instanceId: eniId, instanceType: 'NetworkInterface', privateIpAddress: podIp });
    expect((await cloud.describeEips({ associatedNetworkInterfaceId: eniId })).map((eip) => eip.allocationId)).toEqual([
      allocationId,
    ]);

    await cloud.unassociateEip({
      ...association,
      clientToken: clientTokenFor({ operation: 'unassociate', podUid: uid, allocationId, target: [eniId, podIp] }),
    });
    expect(await waitForEip(cloud, allocationId, (eip) => eip.status === 'Available')).toMatchObject({
      instanceId: '',
      privateIpAddress: '',
    });

    // Unbound already: the adapter reports it and leaves the verdict to the caller.
    const again = await cloudError(
      cloud.unassociateEip({
        ...association,
        clientToken: clientTokenFor({
          operation: 'unassociate',
          podUid: uid,
          allocationId,
          target: [eniId, podIp],
          generation: 1,
        }),
      }),
    );
    expect(again).toMatchObject({ kind: 'incorrect-status', code: 'IncorrectEipStatus', retryable: false });
  });

  it("associates with an exclusive ENI's primary IP, which DescribeEipAddresses then reports empty", async () => {
    const uid = podUid();
    const eni = sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId: 'i-exclusive01' });
    const match = await cloud.findNetworkInterface(eni.primaryIpAddress);
    expect(match?.isPrimaryIp).toBe(true);
    const { allocationId } = await cloud.allocateEip(autoRequest(), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: uid }),
      ownershipTags: OWNER_TAGS,
    });
    // Terway left PrivateIpAddress out for a primary IP; the API reference and the stand-in require it.
    const omitted = await cloudError(
      cloud.associateEip({
        allocationId,
        networkInterfaceId: eni.networkInterfaceId,
        clientToken: clientTokenFor({ operation: 'associate', podUid: uid, allocationId, generation: 9 }),
      }),
    );
    expect(omitted).toMatchObject({ kind: 'invalid', code: 'MissingPrivateIpAddress' });
    await cloud.associateEip({
      allocationId,
      networkInterfaceId: eni.networkInterfaceId,
      privateIp: eni.primaryIpAddress,
      clientToken: clientTokenFor({
        operation: 'associate',
        podUid: uid,
        allocationId,
        target: [eni.networkInterfaceId],
      }),
    });
    expect(await waitForEip(cloud, allocationId, (eip) => eip.status === 'InUse')).toMatchObject({
      instanceId: eni.networkInterfaceId,
      privateIpAddress: '',
    });
  });
});

describe('bandwidth package and release', () => {
  it('adds to and removes from a package, then releases; a second removal and release are already done', async () => {
    const uid = podUid();
    const [bandwidthPackage] = sandbox.controls.commonBandwidthPackages();
    const bandwidthPackageId = bandwidthPackage?.bandwidthPackageId ?? '';
    const { allocationId } = await cloud.allocateEip(autoRequest({ internetChargeType: 'PayByBandwidth' }), {
      clientToken: clientTokenFor({ operation: 'allocate', podUid: uid }),
      ownershipTags: OWNER_TAGS,
    });

    await cloud.addToBandwidthPackage({
      bandwidthPackageId,
      allocationId,
      clientToken: clientTokenFor({
        operation: 'add-to-package',
        podUid: uid,
        allocationId,
        target: [bandwidthPackageId],
      }),
    });
    expect((await cloud.describeEips({ allocationIds: [allocationId] }))[0]?.bandwidthPackageId).toBe(
      bandwidthPackageId,
    );
    await waitForEip(
      cloud,
      allocationId,
      () =>
        sandbox.controls
          .commonBandwidthPackages()[0]
          ?.ips.some((ip) => ip.allocationId === allocationId && ip.status === 'BINDED') === true,
    );

    const removalToken = (generation: number) =>
      clientTokenFor({
        operation: 'remove-from-package',
        podUid: uid,
        allocationId,
        target: [bandwidthPackageId],
        generation,
      });
    expect(
      await cloud.removeFromBandwidthPackage({ bandwidthPackageId, allocationId, clientToken: removalToken(0) }),
    ).toBe('removed');
    await waitForEip(cloud, allocationId, (eip) => eip.bandwidthPackageId === '');
    expect(
      await cloud.removeFromBandwidthPackage({ bandwidthPackageId, allocationId, clientToken: removalToken(1) }),
    ).toBe('not-in-package');

    expect(await cloud.releaseEip(allocationId)).toBe('released');
    await waitForEip(cloud, allocationId, 'gone');
    expect(await cloud.releaseEip(allocationId)).toBe('already-gone');
    expect(sandbox.controls.eips().some((eip) => eip.allocationId === allocationId)).toBe(false);
  });
});

describe('describeEips over many EIPs', () => {
  it('pages an unfiltered listing at 100 per call and chunks ids at 50 per call', async () => {
    const created = Array.from({ length: 130 }, () => sandbox.controls.createEip().allocationId);
    const total = sandbox.controls.eips().length;
    sandbox.controls.resetCallCounts();
    const everything = await cloud.describeEips({});
    expect(everything).toHaveLength(total);
    expect(new Set(everything.map((eip) => eip.allocationId)).size).toBe(total);
    expect(callCount(sandbox, 'DescribeEipAddresses').ok).toBe(Math.ceil(total / 100));

    sandbox.controls.resetCallCounts();
    const byId = await cloud.describeEips({ allocationIds: [...created, 'eip-doesnotexist0'] });
    expect(byId.map((eip) => eip.allocationId)).toEqual(created);
    expect(callCount(sandbox, 'DescribeEipAddresses').ok).toBe(Math.ceil(131 / 50));
    expect(await cloud.describeEips({ allocationIds: [] })).toEqual([]);
  });
});
