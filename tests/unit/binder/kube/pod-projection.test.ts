import { describe, expect, it } from '@jest/globals';
import { annotationKeys, EIP_ANNOTATION_SUFFIXES, type EipAnnotationField } from '../../../../api/annotations.js';
import { parseEipAnnotations } from '../../../../api/parse-annotations.js';
import { projectPod, type PodLike } from '../../../../binder/kube/pod-projection.js';

function pod(
  extra: {
    annotations?: Record<string, string>;
    gate?: boolean;
    conditions?: NonNullable<PodLike['status']>['conditions'];
  } = {},
): PodLike {
  return {
    metadata: {
      namespace: 'games',
      name: 'room-0',
      uid: 'uid-1',
      resourceVersion: '42',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"blob"}',
        team: 'a',
        ...extra.annotations,
      },
      ownerReferences: [
        { kind: 'Node', name: 'n1' },
        { kind: 'StatefulSet', name: 'room', controller: true },
      ],
      finalizers: ['example.com/keep'],
    },
    spec: { nodeName: 'node-a', readinessGates: extra.gate ? [{ conditionType: 'k8s.aliyun.com/eip' }] : [] },
    status: {
      podIP: '10.0.0.7',
      phase: 'Running',
      conditions: extra.conditions ?? [{ type: 'Ready', status: 'True' }],
    },
  };
}

describe('projectPod', () => {
  it('keeps nothing of a pod that never asked for an EIP', () => {
    expect(projectPod(pod())).toBeUndefined();
  });

  it('keeps the EIP annotations only, the gate, the condition and the controller', () => {
    const projected = projectPod(
      pod({
        annotations: {
          'k8s.aliyun.com/pod-with-eip': 'true',
          'network.alibabacloud.com/eip-bandwidth': '10',
          'k8s.aliyun.com/allocated-eipAddress': '47.1.2.3',
        },
        gate: true,
        conditions: [
          { type: 'Ready', status: 'False' },
          {
            type: 'k8s.aliyun.com/eip',
            status: 'False',
            reason: 'Binding',
            message: 'waiting for the cloud',
            lastTransitionTime: new Date('2025-01-02T03:04:05.678Z'),
          },
        ],
      }),
    );
    expect(projected).toEqual({
      namespace: 'games',
      name: 'room-0',
      uid: 'uid-1',
      resourceVersion: '42',
      podIP: '10.0.0.7',
      hostNetwork: false,
      nodeName: 'node-a',
      phase: 'Running',
      finalizers: ['example.com/keep'],
      eipAnnotations: {
        'k8s.aliyun.com/pod-with-eip': 'true',
        'network.alibabacloud.com/eip-bandwidth': '10',
        'k8s.aliyun.com/allocated-eipAddress': '47.1.2.3',
      },
      hasEipReadinessGate: true,
      eipCondition: {
        status: 'False',
        reason: 'Binding',
        message: 'waiting for the cloud',
        lastTransitionTime: '2025-01-02T03:04:05Z',
      },
      controller: { kind: 'StatefulSet', name: 'room' },
      workload: 'StatefulSet/room',
    });
  });

  it('keeps a pod whose only EIP state is left over (gate, condition or address), so its deletion is seen', () => {
    expect(projectPod(pod({ gate: true }))?.hasEipReadinessGate).toBe(true);
    expect(
      projectPod(pod({ annotations: { 'k8s.aliyun.com/allocated-eipAddress': '47.1.2.3' } }))?.eipAnnotations,
    ).toEqual({ 'k8s.aliyun.com/allocated-eipAddress': '47.1.2.3' });
    expect(projectPod(pod({ conditions: [{ type: 'k8s.aliyun.com/eip', status: 'True' }] }))?.eipCondition).toEqual({
      status: 'True',
    });
  });

  it('keeps exactly the keys the webhook treats as asking for an EIP', () => {
    for (const field of Object.keys(EIP_ANNOTATION_SUFFIXES) as EipAnnotationField[]) {
      for (const key of annotationKeys(field)) {
        expect(parseEipAnnotations({ [key]: 'x' })).not.toEqual({ kind: 'none', warnings: [] });
        expect(projectPod(pod({ annotations: { [key]: 'x' } }))?.eipAnnotations).toEqual({ [key]: 'x' });
      }
    }
    expect(projectPod(pod({ annotations: { 'k8s.aliyun.com/pod-with-eipx': 'true' } }))).toBeUndefined();
  });

  it('reads timestamps the watch sends as strings and the typed client as Dates alike', () => {
    const fromWatch = projectPod({
      ...pod({ gate: true }),
      metadata: { ...pod().metadata, deletionTimestamp: '2025-01-02T03:04:05Z' },
    });
    const typed = projectPod({
      ...pod({ gate: true }),
      metadata: { ...pod().metadata, deletionTimestamp: new Date('2025-01-02T03:04:05Z') },
    });
    expect(fromWatch?.deletionTimestamp).toBe('2025-01-02T03:04:05Z');
    expect(typed?.deletionTimestamp).toBe('2025-01-02T03:04:05Z');
  });

  it('stays small for a pod with big annotations', () => {
    const big = pod({
      annotations: { 'k8s.aliyun.com/pod-with-eip': 'true', 'example.com/blob': 'x'.repeat(100_000) },
      gate: true,
    });
    expect(JSON.stringify(projectPod(big)).length).toBeLessThan(600);
  });
});
