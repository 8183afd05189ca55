/**
 * Which EIPs a record may bind, unbind or release, judged from the cloud's answer (the ownership tags) and
 * the records of other namespaces, never from fields of the record itself.
 */
import { describe, expect, it } from '@jest/globals';
import type { StaticEipRequest } from '../../../api/eip-request.js';
import { notThisRecordsToBind } from '../../../binder/controller/decide-bound.js';
import { refusalToUndo } from '../../../binder/controller/decide-release.js';
import { REASONS, type Action, type Decision } from '../../../binder/controller/decision.js';
import { allocatedForRecord } from '../../../binder/controller/ownership.js';
import { AUTO_REQUEST, CLUSTER, eip, observed, pod, podEip } from './decide-fixtures.js';

const STATIC: StaticEipRequest = { mode: 'static', allocationId: 'eip-static1', releaseStrategy: { type: 'Follow' } };
const untagged = eip({ tags: {} });
const otherRecordsTags = eip({ tags: { ...eip().tags, 'podeip.io/pod-name': 'other' } });
const actionsOf = (decision: Decision | undefined): Action[] =>
  decision !== undefined && decision.kind === 'act' ? decision.actions : [];

describe('allocatedForRecord', () => {
  it("holds for the tags podeip writes for the record's cluster, namespace and name, whatever the pod uid", () => {
    expect(allocatedForRecord(eip(), podEip(), CLUSTER)).toBe(true);
    // A later pod of the same name adopted the record (Never, TTL): the uid tag names the first one.
    expect(allocatedForRecord(eip(), podEip({ owner: 'uid-later' }), CLUSTER)).toBe(true);
    expect(allocatedForRecord(untagged, podEip(), CLUSTER)).toBe(false);
    expect(allocatedForRecord(otherRecordsTags, podEip(), CLUSTER)).toBe(false);
    expect(allocatedForRecord(eip(), podEip(), 'another-cluster')).toBe(false);
    expect(allocatedForRecord(eip(), podEip(), '')).toBe(false);
  });
});

describe('refusalToUndo', () => {
  it('lets a record undo the auto EIP tagged for it, and refuses any other with an Event on the PodEIP', () => {
    expect(refusalToUndo(observed({}), podEip(), eip())).toBeUndefined();
    const refused = actionsOf(refusalToUndo(observed({}), podEip(), untagged));
    expect(refused.map((a) => a.type)).toEqual(['event', 'finish-podeip']);
    expect(refused[0]).toMatchObject({ reason: REASONS.notPodeipsToUndo, onPodEip: true });
  });

  it('lets a static record undo its binding unless a record of another namespace had the EIP first', () => {
    const record = podEip({ type: 'Static', allocationID: 'eip-static1' });
    const bound = eip({ allocationId: 'eip-static1', tags: {} });
    expect(refusalToUndo(observed({ claims: undefined }), record, bound)).toEqual({ kind: 'observe', what: 'claims' });
    expect(refusalToUndo(observed({}), record, bound)).toBeUndefined();
    const refused = actionsOf(refusalToUndo(observed({ claims: { earlierInOtherNamespaces: 1 } }), record, bound));
    expect(refused.map((a) => a.type)).toEqual(['event', 'finish-podeip']);
  });
});

describe('notThisRecordsToBind', () => {
  it('binds an auto EIP only when it carries the tags podeip gave it for this record', () => {
    const binding = { observed: observed({}), pod: pod(), podEip: podEip(), request: AUTO_REQUEST };
    expect(notThisRecordsToBind(binding, eip())).toBeUndefined();
    const refused = actionsOf(notThisRecordsToBind(binding, untagged));
    expect(refused).toContainEqual(
      expect.objectContaining({ type: 'set-condition', condition: expect.objectContaining({ status: 'False' }) }),
    );
  });

  it('binds a static EIP unless a record of another namespace had it first, and then names nothing of it', () => {
    const record = podEip({ type: 'Static', allocationID: 'eip-static1' });
    const target = eip({ allocationId: 'eip-static1', tags: {} });
    const binding = (claims: number) => ({
      observed: observed({ claims: { earlierInOtherNamespaces: claims } }),
      pod: pod(),
      podEip: record,
      request: STATIC,
    });
    expect(notThisRecordsToBind(binding(0), target)).toBeUndefined();
    const refused = actionsOf(notThisRecordsToBind(binding(1), target));
    const condition = refused.find((a) => a.type === 'set-condition');
    expect(condition).toMatchObject({ condition: { status: 'False', reason: REASONS.claimedElsewhere } });
    expect(JSON.stringify(refused)).toContain('another namespace');
  });
});
