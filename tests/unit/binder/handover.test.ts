/** Which pods count as one workload across a Deployment's revisions, and which of two is the newer. */
import { describe, expect, it } from '@jest/globals';
import { isNewer, projectPod } from '../../../binder/kube/pod-projection.js';

const pod = (owner: { kind: string; name: string } | undefined, labels: Record<string, string> = {}) =>
  projectPod({
    metadata: {
      namespace: 'ns',
      name: 'p',
      creationTimestamp: '2026-12-04T03:00:00Z',
      labels,
      annotations: { 'k8s.aliyun.com/pod-eip-instanceid': 'eip-static1' },
      ...(owner === undefined ? {} : { ownerReferences: [{ ...owner, controller: true }] }),
    },
  })!;

describe('the workload of a pod', () => {
  it('is the Deployment for the pods of all its ReplicaSets, the controller otherwise, none without one', () => {
    expect(pod({ kind: 'ReplicaSet', name: 'web-7d4b9c' }, { 'pod-template-hash': '7d4b9c' }).workload).toBe(
      'Deployment/web',
    );
    expect(pod({ kind: 'ReplicaSet', name: 'web-7d4b9c' }).workload).toBe('ReplicaSet/web-7d4b9c');
    expect(pod({ kind: 'StatefulSet', name: 'db' }).workload).toBe('StatefulSet/db');
    expect(pod(undefined).workload).toBeUndefined();
    expect(pod(undefined).createdAt).toBe('2026-12-04T03:00:00Z');
  });

  it('orders two pods by creation, then by name, so exactly one is the newer', () => {
    const older = { name: 'web-a', createdAt: '2026-12-04T03:00:00Z' };
    const newer = { name: 'web-b', createdAt: '2026-12-04T03:00:05Z' };
    expect([isNewer(newer, older), isNewer(older, newer)]).toEqual([true, false]);
    const twin = { name: 'web-c', createdAt: '2026-12-04T03:00:00Z' };
    expect([isNewer(twin, older), isNewer(older, twin)]).toEqual([true, false]);
    expect(isNewer({ name: 'x' }, older)).toBe(false);
  });

  it('orders two pods of one Deployment by the revision of their ReplicaSets first, whenever both are known', () => {
    // The old revision's pod created later (it replaced an evicted pod mid-rollout): the revision decides.
    const newRevision = { name: 'gw-b', createdAt: '2026-12-04T03:00:00Z', revision: 2 };
    const recreatedOld = { name: 'gw-a', createdAt: '2026-12-04T03:00:07Z', revision: 1 };
    expect([isNewer(newRevision, recreatedOld), isNewer(recreatedOld, newRevision)]).toEqual([true, false]);
    // A rollback gives the old ReplicaSet the next revision: its pod is the newer again.
    const rolledBack = { ...recreatedOld, revision: 3 };
    expect([isNewer(rolledBack, newRevision), isNewer(newRevision, rolledBack)]).toEqual([true, false]);
    // The same revision (one ReplicaSet), or one not known: creation, then name, as before.
    const sibling = { name: 'gw-c', createdAt: '2026-12-04T03:00:09Z', revision: 2 };
    expect([isNewer(sibling, newRevision), isNewer(newRevision, sibling)]).toEqual([true, false]);
    const unknown = { name: 'gw-d', createdAt: '2026-12-04T03:00:01Z' };
    expect([isNewer(unknown, newRevision), isNewer(newRevision, unknown)]).toEqual([true, false]);
  });
});
