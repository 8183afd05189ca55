/** The garbage collection's decisions: which of this cluster's tagged EIPs no PodEIP accounts for, and what to do. */
import { describe, expect, it } from '@jest/globals';
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../../../api/constants.js';
import { planSweep } from '../../../binder/controller/gc.js';
import { NOW, eip, inUse, podEip } from './decide-fixtures.js';

const GRACE = 60_000;
const tagged = (id: string, podUid: string, over: Parameters<typeof eip>[0] = {}) =>
  eip({ allocationId: id, tags: { [PODEIP_OWNERSHIP_TAG_KEYS.podUid]: podUid }, ...over });

describe('planSweep', () => {
  it('leaves an EIP a PodEIP names, and one a record without allocation may be recovering', () => {
    const plan = planSweep({
      tagged: [tagged('eip-auto1', 'uid-a'), tagged('eip-crash', 'uid-b')],
      podEips: [podEip({ allocationID: 'eip-auto1' }), podEip({ allocationID: '', owner: 'uid-b' })],
      firstSeen: new Map(),
      now: NOW,
      graceMs: GRACE,
    });
    expect(plan).toEqual({ steps: [], firstSeen: new Map(), vanished: [] });
  });

  it('waits out the grace period from the first sighting, then unbinds and releases', () => {
    const orphan = tagged('eip-orphan', 'uid-gone');
    const first = planSweep({ tagged: [orphan], podEips: [], firstSeen: new Map(), now: NOW, graceMs: GRACE });
    expect(first.steps).toEqual([{ kind: 'wait', eip: orphan }]);
    expect(first.firstSeen).toEqual(new Map([['eip-orphan', NOW]]));
    const later = { podEips: [], firstSeen: first.firstSeen, now: NOW + GRACE, graceMs: GRACE };
    const { status, instanceId, instanceType, privateIpAddress } = inUse();
    const bound = tagged('eip-orphan', 'uid-gone', { status, instanceId, instanceType, privateIpAddress });
    expect(planSweep({ ...later, tagged: [bound] }).steps).toEqual([{ kind: 'unassociate', eip: bound }]);
    expect(planSweep({ ...later, tagged: [orphan] }).steps).toEqual([{ kind: 'release', eip: orphan }]);
    const moving = tagged('eip-orphan', 'uid-gone', { status: 'Unassociating' });
    expect(planSweep({ ...later, tagged: [moving] }).steps).toEqual([{ kind: 'wait', eip: moving }]);
    const prepaid = tagged('eip-orphan', 'uid-gone', { instanceChargeType: 'PrePaid' });
    expect(planSweep({ ...later, tagged: [prepaid] }).steps).toEqual([{ kind: 'keep', eip: prepaid }]);
  });

  it('judges only EIPs of the namespaces this binder watches', () => {
    const elsewhere = eip({
      allocationId: 'eip-other-ns',
      tags: { [PODEIP_OWNERSHIP_TAG_KEYS.podUid]: 'uid-x', [PODEIP_OWNERSHIP_TAG_KEYS.namespace]: 'team-b' },
    });
    const input = { tagged: [elsewhere], podEips: [], firstSeen: new Map(), now: NOW, graceMs: 0 };
    expect(planSweep({ ...input, namespaces: ['team-a'] }).steps).toEqual([]);
    expect(planSweep({ ...input, namespaces: ['team-b'] }).steps).toEqual([{ kind: 'release', eip: elsewhere }]);
  });

  it('forgets an EIP that is accounted for again, and names PodEIPs whose EIP is gone', () => {
    const plan = planSweep({
      tagged: [tagged('eip-auto1', 'uid-a')],
      podEips: [
        podEip({ allocationID: 'eip-auto1' }),
        { ...podEip({ allocationID: 'eip-vanished' }), metadata: { ...podEip().metadata, name: 'other' } },
      ],
      firstSeen: new Map([['eip-auto1', NOW - GRACE]]),
      now: NOW,
      graceMs: GRACE,
    });
    expect(plan.firstSeen).toEqual(new Map());
    expect(plan.vanished).toEqual(['ns/other']);
  });
});
