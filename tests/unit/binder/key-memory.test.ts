/**
 * KeyMemory, the one place the reconciler keeps anything about a key between passes: what it remembers
 * is read back, and after `forget` nothing of the key is left, whatever was remembered.
 */
import { describe, expect, it } from '@jest/globals';
import type { EipState, NetworkInterfaceMatch } from '../../../binder/cloud/eip-cloud.js';
import { KeyMemory } from '../../../binder/controller/key-memory.js';
import { IP, NOW, UID, pod } from './decide-fixtures.js';

const KEY = 'ns/web';
const OTHER_KEY = 'ns/api';
const ENI: NetworkInterfaceMatch = {
  networkInterfaceId: 'eni-1',
  type: 'Secondary',
  instanceId: 'i-1',
  isPrimaryIp: false,
  privateIp: IP,
};
const EIP = { allocationId: 'eip-1', ipAddress: '198.51.100.7', status: 'Available' } as EipState;
const BOUND = { status: 'True' as const, reason: 'Associate eip succeed', message: 'bound' };
const CACHED_POD = pod();

/** Remembers one of everything for `key`. */
function rememberEverything(memory: KeyMemory, key: string): void {
  memory.rememberNetworkInterface(key, UID, IP, ENI);
  memory.nextTokenGeneration(key, 'associate');
  memory.rememberCreatedUnallocated(key, UID);
  memory.rememberJustAllocated(key, EIP);
  memory.rememberCondition(key, UID, BOUND, NOW);
  memory.rememberAddress(key, UID, '198.51.100.7', NOW);
}

describe('KeyMemory', () => {
  it('reads back what it was told', () => {
    const memory = new KeyMemory();
    rememberEverything(memory, KEY);
    expect(memory.networkInterface(KEY, UID, IP)).toEqual(ENI);
    expect(memory.networkInterface(KEY, UID, '192.168.0.11')).toBeUndefined();
    expect(memory.nextTokenGeneration(KEY, 'associate')).toBe(1);
    expect(memory.provesNoAllocation(KEY, UID)).toBe(true);
    expect(memory.withPodWrites(KEY, CACHED_POD, NOW)).toEqual({
      ...CACHED_POD,
      eipCondition: BOUND,
      eipAnnotations: { ...CACHED_POD.eipAnnotations, 'k8s.aliyun.com/allocated-eipAddress': '198.51.100.7' },
    });
    expect(memory.takeJustAllocated(KEY, 'eip-1')).toEqual(EIP);
    expect(memory.takeJustAllocated(KEY, 'eip-1')).toBeUndefined();
    memory.allocating(KEY);
    expect(memory.provesNoAllocation(KEY, UID)).toBe(false);
  });

  it('keeps nothing of a forgotten key, and everything of the others', () => {
    const memory = new KeyMemory();
    rememberEverything(memory, KEY);
    rememberEverything(memory, OTHER_KEY);
    expect(memory.size).toBe(2);

    memory.forget(KEY);

    expect(memory.networkInterface(KEY, UID, IP)).toBeUndefined();
    expect(memory.provesNoAllocation(KEY, UID)).toBe(false);
    expect(memory.takeJustAllocated(KEY, 'eip-1')).toBeUndefined();
    expect(memory.withPodWrites(KEY, CACHED_POD, NOW)).toBe(CACHED_POD);
    expect(memory.size).toBe(1);
    // A ClientToken for the key starts over, as in a restarted binder.
    expect(memory.nextTokenGeneration(KEY, 'associate')).toBe(0);

    expect(memory.networkInterface(OTHER_KEY, UID, IP)).toEqual(ENI);
    expect(memory.provesNoAllocation(OTHER_KEY, UID)).toBe(true);
    expect(memory.takeJustAllocated(OTHER_KEY, 'eip-1')).toEqual(EIP);
  });

  it('drops an ENI found for an earlier pod of the name', () => {
    const memory = new KeyMemory();
    memory.rememberNetworkInterface(KEY, 'uid-before', IP, ENI);
    memory.forgetNetworkInterfaceUnlessOf(KEY, 'uid-before');
    expect(memory.networkInterface(KEY, 'uid-before', IP)).toEqual(ENI);
    memory.forgetNetworkInterfaceUnlessOf(KEY, UID);
    expect(memory.networkInterface(KEY, 'uid-before', IP)).toBeUndefined();
  });

  it('lays a pod write over the cache until the cache shows it, or it is too old', () => {
    const memory = new KeyMemory(10_000);
    memory.rememberCondition(KEY, UID, BOUND, NOW);
    expect(memory.withPodWrites(KEY, CACHED_POD, NOW + 10_000)?.eipCondition).toEqual(BOUND);
    expect(memory.withPodWrites(KEY, CACHED_POD, NOW + 10_001)).toBe(CACHED_POD);

    memory.rememberCondition(KEY, UID, BOUND, NOW);
    const caughtUp = { ...CACHED_POD, eipCondition: BOUND };
    expect(memory.withPodWrites(KEY, caughtUp, NOW)).toBe(caughtUp);
    // Gone once shown: an older cached pod is no longer overlaid.
    expect(memory.withPodWrites(KEY, CACHED_POD, NOW)).toBe(CACHED_POD);
  });
});
