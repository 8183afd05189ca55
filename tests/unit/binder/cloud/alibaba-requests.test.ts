/**
 * The port's data to SDK models and back: every AllocateEipAddress option, tag precedence, the readings
 * of an EIP, and the confirmation that an ENI really holds the pod IP.
 */
import { describe, expect, it } from '@jest/globals';
import {
  allocateEipRequest,
  describeEipsRequest,
  eipStateOf,
  networkInterfaceMatchOf,
} from '../../../../binder/cloud/alibaba-requests.js';
import { DEFAULT_RETRY_POLICY, backoffDelayMs } from '../../../../binder/cloud/cloud-call-runner.js';

describe('allocateEipRequest', () => {
  it('maps every option, RegionId and the token, with ownership tags winning over user tags', () => {
    const model = allocateEipRequest(
      'cn-shanghai',
      {
        mode: 'auto',
        bandwidth: 20,
        internetChargeType: 'PayByBandwidth',
        instanceChargeType: 'PostPaid',
        isp: 'BGP_PRO',
        publicIpAddressPoolId: 'pippool-1',
        resourceGroupId: 'rg-1',
        name: 'n',
        description: 'd',
        securityProtectionTypes: ['AntiDDoS_Enhanced'],
        tags: { team: 'edge', 'podeip.io/pod-uid': 'spoofed' },
        releaseStrategy: { type: 'Follow' },
      },
      { clientToken: 'podeip-alloc-uid', ownershipTags: { 'podeip.io/pod-uid': 'uid' } },
    );
    expect(model).toMatchObject({
      regionId: 'cn-shanghai',
      clientToken: 'podeip-alloc-uid',
      bandwidth: '20',
      internetChargeType: 'PayByBandwidth',
      instanceChargeType: 'PostPaid',
      ISP: 'BGP_PRO',
      publicIpAddressPoolId: 'pippool-1',
      resourceGroupId: 'rg-1',
      name: 'n',
      description: 'd',
      securityProtectionTypes: ['AntiDDoS_Enhanced'],
    });
    expect(model.autoPay).toBeUndefined();
    expect(model.tag?.map((tag) => [tag.key, tag.value])).toEqual([
      ['team', 'edge'],
      ['podeip.io/pod-uid', 'uid'],
    ]);
  });

  it('pays a PrePaid order automatically and leaves unset options out', () => {
    const model = allocateEipRequest(
      'cn-hangzhou',
      {
        mode: 'auto',
        bandwidth: 5,
        internetChargeType: 'PayByBandwidth',
        instanceChargeType: 'PrePaid',
        releaseStrategy: { type: 'Never' },
      },
      { clientToken: 't', ownershipTags: {} },
    );
    expect(model.autoPay).toBe(true);
    for (const field of [
      'ISP',
      'name',
      'description',
      'resourceGroupId',
      'publicIpAddressPoolId',
      'securityProtectionTypes',
    ] as const)
      expect(model[field]).toBeUndefined();
  });
});

describe('describeEipsRequest', () => {
  it('joins ids with commas, filters by ENI and tags, pages at 100', () => {
    expect(
      describeEipsRequest(
        'cn-hangzhou',
        { allocationIds: ['eip-a', 'eip-b'], associatedNetworkInterfaceId: 'eni-1', tags: { k: 'v' } },
        3,
      ),
    ).toMatchObject({
      regionId: 'cn-hangzhou',
      allocationId: 'eip-a,eip-b',
      associatedInstanceType: 'NetworkInterface',
      associatedInstanceId: 'eni-1',
      pageNumber: 3,
      pageSize: 100,
      tag: [{ key: 'k', value: 'v' }],
    });
  });
});

describe('eipStateOf', () => {
  it("reads the EIP's own bandwidth, not its package's, and marks statuses it does not know", () => {
    const state = eipStateOf({
      allocationId: 'eip-1',
      status: 'Frozen',
      bandwidth: '200',
      eipBandwidth: '5',
      chargeType: 'PostPaid',
      tags: { tag: [{ key: 'a', value: 'b' }] },
    });
    expect(state).toMatchObject({
      allocationId: 'eip-1',
      status: 'Unknown',
      bandwidth: 5,
      instanceChargeType: 'PostPaid',
      tags: { a: 'b' },
      instanceId: '',
      privateIpAddress: '',
    });
  });
});

describe('networkInterfaceMatchOf', () => {
  const eni = {
    networkInterfaceId: 'eni-1',
    type: 'Secondary',
    instanceId: 'i-1',
    privateIpAddress: '10.0.0.2',
    privateIpSets: {
      privateIpSet: [
        { privateIpAddress: '10.0.0.2', primary: true },
        { privateIpAddress: '10.0.0.3', primary: false },
      ],
    },
  };

  it('confirms secondary and primary IPs from the answer', () => {
    expect(networkInterfaceMatchOf(eni, '10.0.0.3')).toEqual({
      networkInterfaceId: 'eni-1',
      type: 'Secondary',
      instanceId: 'i-1',
      isPrimaryIp: false,
      privateIp: '10.0.0.3',
    });
    expect(networkInterfaceMatchOf(eni, '10.0.0.2')?.isPrimaryIp).toBe(true);
  });

  it('rejects an ENI the filter let through that does not hold the IP', () => {
    expect(networkInterfaceMatchOf(eni, '10.0.0.9')).toBeUndefined();
  });

  it('falls back to the attachment for the instance', () => {
    expect(
      networkInterfaceMatchOf({ ...eni, instanceId: '', attachment: { instanceId: 'i-2' } }, '10.0.0.3')?.instanceId,
    ).toBe('i-2');
  });
});

describe('backoffDelayMs', () => {
  it('grows from half the base to the cap, never zero', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelayMs(retry, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelayMs(retry, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
  });
});
