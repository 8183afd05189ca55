/**
 * ClientTokens: the same inputs always give the same token (a restarted binder replays), anything that
 * changes the request changes the token, and every token fits the API (≤64 printable ASCII). Ownership
 * tags: the four keys, and values the API accepts for any Kubernetes name.
 */
import { describe, expect, it } from '@jest/globals';
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../../../../api/constants.js';
import {
  MAX_CLIENT_TOKEN_LENGTH,
  clientTokenFor,
  ownershipTagsFor,
  tagValueFor,
  type ClientTokenInput,
} from '../../../../binder/cloud/client-tokens.js';

const UID = '0b9b3f0e-4f3c-4c52-9d7e-1f2a3b4c5d6e';

describe('clientTokenFor', () => {
  it('is readable when it fits: podeip-alloc-<uid>', () => {
    expect(clientTokenFor({ operation: 'allocate', podUid: UID })).toBe(`podeip-alloc-${UID}`);
  });

  it('is the same for the same inputs, so a restart replays instead of acting again', () => {
    const input: ClientTokenInput = {
      operation: 'associate',
      podUid: UID,
      allocationId: 'eip-bp1abc',
      target: ['eni-1', '10.0.0.5'],
    };
    expect(clientTokenFor(input)).toBe(clientTokenFor({ ...input, target: ['eni-1', '10.0.0.5'] }));
  });

  it('differs whenever the operation, pod, EIP, target or generation differs', () => {
    const base: ClientTokenInput = {
      operation: 'associate',
      podUid: UID,
      allocationId: 'eip-bp1abc',
      target: ['eni-1', '10.0.0.5'],
    };
    const variants: ClientTokenInput[] = [
      base,
      { ...base, operation: 'unassociate' },
      { ...base, podUid: `${UID.slice(0, -1)}f` },
      { ...base, allocationId: 'eip-bp1abd' },
      { ...base, target: ['eni-2', '10.0.0.5'] },
      { ...base, target: ['eni-1', '10.0.0.6'] },
      { ...base, generation: 1 },
      { ...base, generation: 2 },
    ];
    expect(new Set(variants.map(clientTokenFor)).size).toBe(variants.length);
  });

  it.each([
    ['allocate', { operation: 'allocate', podUid: UID }],
    [
      'associate with long ids',
      {
        operation: 'associate',
        podUid: UID,
        allocationId: 'eip-bp1abcdefghijklmnopqrst',
        target: ['eni-bp1abcdefghijklmnop', '192.168.100.200'],
      },
    ],
    [
      'a later generation',
      {
        operation: 'remove-from-package',
        podUid: UID,
        allocationId: 'eip-bp1abcdefghijklmnopqrst',
        target: ['cbwp-bp1abcdefghijk'],
        generation: 12,
      },
    ],
    ['a 300-character uid', { operation: 'allocate', podUid: 'x'.repeat(300) }],
    ['a non-ASCII uid', { operation: 'allocate', podUid: 'üñí-çødé' }],
  ] satisfies Array<[string, ClientTokenInput]>)('fits the API (≤64 printable ASCII) for %s', (_label, input) => {
    const token = clientTokenFor(input);
    expect(token.length).toBeLessThanOrEqual(MAX_CLIENT_TOKEN_LENGTH);
    expect(token).toMatch(/^podeip-[a-z-]+-[\x21-\x7e]+$/);
  });

  it('refuses what cannot identify a pod', () => {
    expect(() => clientTokenFor({ operation: 'allocate', podUid: '' })).toThrow(/podUid/);
    expect(() => clientTokenFor({ operation: 'allocate', podUid: UID, generation: -1 })).toThrow(/generation/);
  });
});

describe('ownershipTagsFor', () => {
  it('names the cluster, namespace, pod and UID under podeip.io/', () => {
    expect(ownershipTagsFor({ clusterId: 'c-prod', namespace: 'shop', podName: 'web-0', podUid: UID })).toEqual({
      'podeip.io/cluster-id': 'c-prod',
      'podeip.io/namespace': 'shop',
      'podeip.io/pod-name': 'web-0',
      'podeip.io/pod-uid': UID,
    });
    for (const key of Object.values(PODEIP_OWNERSHIP_TAG_KEYS)) expect(key).not.toMatch(/^(aliyun|acs:)/);
  });

  it('escapes Kubernetes names the API would refuse as tag values, unambiguously', () => {
    expect(tagValueFor('aliyun-system')).toBe('_aliyun-system');
    expect(tagValueFor('web')).toBe('web');
    const long = `pod-${'a'.repeat(250)}`;
    const value = tagValueFor(long);
    expect(value.length).toBe(128);
    expect(value).not.toBe(tagValueFor(`pod-${'a'.repeat(249)}b`));
  });

  it('refuses a cluster id that cannot be a tag value', () => {
    for (const clusterId of ['', 'aliyun-cluster', 'acs:x', 'x'.repeat(129), 'see http://x']) {
      expect(() => ownershipTagsFor({ clusterId, namespace: 'a', podName: 'b', podUid: UID })).toThrow(/cluster id/);
    }
  });
});
