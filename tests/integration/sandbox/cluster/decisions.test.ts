/**
 * The cluster's pure decisions, table-tested: rollout arithmetic, which pods go first, where a pod is
 * scheduled, what a StatefulSet does next, how the kubelet evaluates readiness gates and merges status.
 */
import { describe, expect, it } from '@jest/globals';
import {
  fenceposts,
  newReplicaSetTarget,
  oldReplicaSetTargets,
  runsTemplateOf,
  scaledValue,
} from '../../../../sandbox/kube/cluster/deployment-rollout.js';
import { deploymentStatus } from '../../../../sandbox/kube/cluster/deployment-status.js';
import { isIpv4Address } from '../../../../api/wait-container.js';
import { newPodRuntime, stepPodRuntime, type PodRuntime } from '../../../../sandbox/kube/cluster/pod-runtime.js';
import { kubeletConditions, mergedPodStatus, normalizedImage } from '../../../../sandbox/kube/cluster/pod-status.js';
import { rankPodsForDeletion, slowStartBatches } from '../../../../sandbox/kube/cluster/replicaset-decisions.js';
import { chooseNode } from '../../../../sandbox/kube/cluster/scheduler.js';
import { planStatefulSet, type StatefulPod } from '../../../../sandbox/kube/cluster/statefulset-decisions.js';
import { podTemplateHash } from '../../../../sandbox/kube/cluster/template-hash.js';
import type { KubeObject } from '../../../../sandbox/kube/types.js';

const TIMING = { initContainerMs: 100, containerStartMs: 100, terminationMs: 200, reconcileMs: 1000 };

function deploymentWith(replicas: number, strategy: Record<string, unknown>): KubeObject {
  return { metadata: { name: 'd', generation: 1 }, spec: { replicas, strategy, progressDeadlineSeconds: 600 } };
}

interface PodShape {
  name: string;
  node?: string;
  phase?: string;
  ready?: boolean;
  readySince?: string;
  created?: string;
  restarts?: number;
}

function pod(shape: PodShape): KubeObject {
  return {
    metadata: { name: shape.name, uid: shape.name, creationTimestamp: shape.created ?? '2025-01-01T00:00:00Z' },
    spec: {
      containers: [{ name: 'app', image: 'nginx' }],
      ...(shape.node === undefined ? {} : { nodeName: shape.node }),
    },
    status: {
      phase: shape.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: shape.ready === false ? 'False' : 'True',
          lastTransitionTime: shape.readySince ?? '2025-01-01T00:00:00Z',
        },
      ],
      containerStatuses: [{ name: 'app', restartCount: shape.restarts ?? 0 }],
    },
  };
}

describe('maxSurge and maxUnavailable', () => {
  it.each([
    [
      '25% of 10 surges 3 (up) and allows 2 unavailable (down)',
      10,
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      { maxSurge: 3, maxUnavailable: 2 },
    ],
    ['the defaults on 1 replica', 1, { type: 'RollingUpdate' }, { maxSurge: 1, maxUnavailable: 0 }],
    [
      'both rounding to 0 allows 1 unavailable',
      3,
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '10%' } },
      { maxSurge: 0, maxUnavailable: 1 },
    ],
    [
      'plain numbers, unavailable capped at replicas',
      2,
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: 4, maxUnavailable: 5 } },
      { maxSurge: 4, maxUnavailable: 2 },
    ],
    ['Recreate allows neither', 4, { type: 'Recreate' }, { maxSurge: 0, maxUnavailable: 0 }],
  ])('%s', (_name, replicas, strategy, expected) => {
    expect(fenceposts(deploymentWith(replicas, strategy))).toEqual(expected);
  });

  it('scales percentages and ignores what is neither a number nor a percentage', () => {
    expect(scaledValue('50%', 3, true)).toBe(2);
    expect(scaledValue('50%', 3, false)).toBe(1);
    expect(scaledValue('two', 3, true)).toBe(0);
  });
});

describe('rolling update steps', () => {
  const fence = { maxSurge: 1, maxUnavailable: 0 };
  const rs = (
    name: string,
    replicas: number,
    available: number,
    created = 0,
  ): { name: string; replicas: number; available: number; created: number } => ({ name, replicas, available, created });

  it('grows the new ReplicaSet only as far as the surge allows', () => {
    expect(newReplicaSetTarget(3, fence, rs('new', 0, 0), [rs('old', 3, 3), rs('new', 0, 0)])).toBe(1);
    expect(newReplicaSetTarget(3, fence, rs('new', 1, 0), [rs('old', 3, 3), rs('new', 1, 0)])).toBe(1);
    expect(newReplicaSetTarget(3, fence, rs('new', 1, 1), [rs('old', 2, 2), rs('new', 1, 1)])).toBe(2);
    expect(newReplicaSetTarget(3, fence, rs('new', 5, 5), [rs('new', 5, 5)])).toBe(3);
  });

  it('shrinks old ReplicaSets only by what new available pods make up for', () => {
    expect(oldReplicaSetTargets(3, fence, rs('new', 1, 0), [rs('old', 3, 3)])).toEqual(new Map());
    expect(oldReplicaSetTargets(3, fence, rs('new', 1, 1), [rs('old', 3, 3)])).toEqual(new Map([['old', 2]]));
  });

  it('first removes old pods that are unavailable anyway, oldest ReplicaSet first', () => {
    const targets = oldReplicaSetTargets(3, { maxSurge: 1, maxUnavailable: 1 }, rs('new', 1, 0), [
      rs('older', 1, 0, 1),
      rs('old', 3, 3, 2),
    ]);
    expect(targets).toEqual(
      new Map([
        ['older', 0],
        ['old', 2],
      ]),
    );
  });

  it('creates in slow-start batches', () => {
    expect(slowStartBatches(10)).toEqual([1, 2, 4, 3]);
    expect(slowStartBatches(0)).toEqual([]);
  });
});

describe('Deployment status', () => {
  it('reports minimum availability and a progress deadline that ran out', () => {
    const d = deploymentWith(3, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    d.status = {
      replicas: 4,
      updatedReplicas: 1,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        {
          type: 'Progressing',
          status: 'True',
          reason: 'ReplicaSetUpdated',
          lastUpdateTime: '2025-01-01T00:00:00Z',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    };
    const sets = [
      {
        metadata: { name: 'd-old' },
        spec: { replicas: 3 },
        status: { replicas: 3, readyReplicas: 3, availableReplicas: 3 },
      },
      {
        metadata: { name: 'd-new' },
        spec: { replicas: 1 },
        status: { replicas: 1, readyReplicas: 0, availableReplicas: 0 },
      },
    ];
    const { status } = deploymentStatus(
      d,
      sets,
      sets[1],
      { maxSurge: 1, maxUnavailable: 0 },
      undefined,
      Date.parse('2025-01-01T00:11:00Z'),
    );
    expect(status).toMatchObject({ replicas: 4, updatedReplicas: 1, availableReplicas: 3, unavailableReplicas: 1 });
    const conditions = status.conditions as Array<Record<string, unknown>>;
    expect(conditions.find((c) => c.type === 'Available')).toMatchObject({
      status: 'True',
      reason: 'MinimumReplicasAvailable',
    });
    expect(conditions.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "d-new" has timed out progressing.',
    });
  });
});

describe('which pods a ReplicaSet deletes first', () => {
  it('takes unscheduled, then pending, then not ready, then the most recently ready, then the newest', () => {
    const pods = [
      pod({ name: 'old-ready', node: 'n', created: '2025-01-01T00:00:00Z' }),
      pod({ name: 'new-ready', node: 'n', created: '2025-01-02T00:00:00Z' }),
      pod({ name: 'just-ready', node: 'n', readySince: '2025-01-03T00:00:00Z' }),
      pod({ name: 'not-ready', node: 'n', ready: false }),
      pod({ name: 'pending', node: 'n', phase: 'Pending', ready: false }),
      pod({ name: 'unscheduled', phase: 'Pending', ready: false }),
    ];
    expect(rankPodsForDeletion(pods).map((p) => p.metadata.name)).toEqual([
      'unscheduled',
      'pending',
      'not-ready',
      'just-ready',
      'new-ready',
      'old-ready',
    ]);
  });
});

describe('the scheduler', () => {
  const nodes = [
    { name: 'sandbox-node-1', labels: { zone: 'a' }, schedulable: true, load: 2 },
    { name: 'sandbox-node-2', labels: { zone: 'b' }, schedulable: true, load: 1 },
    { name: 'sandbox-node-3', labels: { zone: 'b' }, schedulable: true, load: 1 },
  ];

  it('picks the least loaded node, taking ties round robin', () => {
    expect(chooseNode(pod({ name: 'p' }), nodes, undefined)).toEqual({ node: 'sandbox-node-2' });
    expect(chooseNode(pod({ name: 'p' }), nodes, 'sandbox-node-2')).toEqual({ node: 'sandbox-node-3' });
    expect(chooseNode(pod({ name: 'p' }), nodes, 'sandbox-node-3')).toEqual({ node: 'sandbox-node-2' });
  });

  it('honours nodeSelector and cordoned nodes, and explains when nothing fits', () => {
    const selective = { ...pod({ name: 'p' }), spec: { nodeSelector: { zone: 'a' } } };
    expect(chooseNode(selective, nodes, undefined)).toEqual({ node: 'sandbox-node-1' });
    const cordoned = nodes.map((n) => (n.name === 'sandbox-node-1' ? { ...n, schedulable: false } : n));
    expect(chooseNode(selective, cordoned, undefined)).toEqual({
      unschedulable:
        "0/3 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    });
  });
});

describe('what a StatefulSet does next', () => {
  const healthy = (ordinal: number, revision = 'new'): StatefulPod => ({
    ordinal,
    name: `s-${ordinal}`,
    revision,
    terminating: false,
    healthy: true,
    finished: false,
  });
  const base = { replicas: 3, ordered: true, rollingUpdate: true, partition: 0, updateRevision: 'new' };

  it.each([
    [
      'creates the lowest missing ordinal',
      { pods: [healthy(0)] },
      [{ kind: 'create', ordinal: 1, revision: 'update' }],
    ],
    ['waits while a predecessor is not Ready', { pods: [{ ...healthy(0), healthy: false }] }, []],
    [
      'creates every missing pod under Parallel',
      { ordered: false, pods: [{ ...healthy(0), healthy: false }] },
      [
        { kind: 'create', ordinal: 1, revision: 'update' },
        { kind: 'create', ordinal: 2, revision: 'update' },
      ],
    ],
    [
      'replaces a finished pod',
      { pods: [healthy(0), { ...healthy(1), healthy: false, finished: true }, healthy(2)] },
      [{ kind: 'delete', name: 's-1', why: 'failed' }],
    ],
    [
      'scales down from the highest ordinal',
      { replicas: 1, pods: [healthy(0), healthy(1), healthy(2)] },
      [{ kind: 'delete', name: 's-2', why: 'condemned' }],
    ],
    [
      'updates the highest outdated ordinal first',
      { pods: [healthy(0, 'old'), healthy(1, 'old'), healthy(2, 'old')] },
      [{ kind: 'delete', name: 's-2', why: 'update' }],
    ],
    [
      'waits for the replacement before the next update',
      { pods: [healthy(0, 'old'), healthy(1, 'old'), { ...healthy(2), healthy: false }] },
      [],
    ],
    ['stops at the partition', { partition: 2, pods: [healthy(0, 'old'), healthy(1, 'old'), healthy(2)] }, []],
    [
      'recreates below the partition at the current revision',
      { partition: 2, pods: [healthy(1, 'old'), healthy(2)] },
      [{ kind: 'create', ordinal: 0, revision: 'current' }],
    ],
    [
      'updates nothing under OnDelete',
      { rollingUpdate: false, pods: [healthy(0, 'old'), healthy(1, 'old'), healthy(2, 'old')] },
      [],
    ],
  ])('%s', (_name, input, expected) => {
    expect(planStatefulSet({ ...base, ...input })).toEqual(expected);
  });
});

describe('the kubelet', () => {
  function runningRuntime(target: KubeObject): PodRuntime {
    const started = { ...newPodRuntime(target, 'n', 0), sandboxAt: 0, podIp: '10.0.0.5' };
    return stepPodRuntime(target, started, 0, TIMING).runtime;
  }

  it("holds Ready False while a readiness gate is missing or not True, with the kubelet's messages", () => {
    const gated: KubeObject = {
      metadata: { name: 'p', uid: 'u' },
      spec: {
        containers: [{ name: 'app', image: 'nginx' }],
        readinessGates: [{ conditionType: 'a.io/x' }, { conditionType: 'b.io/y' }],
      },
      status: { conditions: [{ type: 'b.io/y', status: 'False' }] },
    };
    const conditions = kubeletConditions(gated, runningRuntime(gated), 1000, TIMING);
    expect(conditions.find((c) => c.type === 'ContainersReady')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message:
        'corresponding condition of pod readiness gate "a.io/x" does not exist., the status of pod readiness gate "b.io/y" is not "True", but False',
    });
  });

  it("merges its conditions into the pod's without touching foreign ones or unchanged transition times", () => {
    const target: KubeObject = {
      metadata: { name: 'p', uid: 'u' },
      spec: {
        containers: [{ name: 'app', image: 'nginx' }],
        readinessGates: [{ conditionType: 'k8s.aliyun.com/eip' }],
      },
      status: {
        phase: 'Running',
        qosClass: 'BestEffort',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-01-01T00:00:00Z' },
          {
            type: 'k8s.aliyun.com/eip',
            status: 'True',
            reason: 'Associate eip succeed',
            lastTransitionTime: '2025-01-01T00:00:05Z',
          },
        ],
      },
    };
    const status = mergedPodStatus(target, runningRuntime(target), '192.168.0.2', 1000, TIMING)!;
    const conditions = status.conditions as Array<Record<string, unknown>>;
    expect(conditions[0]).toEqual({
      type: 'k8s.aliyun.com/eip',
      status: 'True',
      reason: 'Associate eip succeed',
      lastTransitionTime: '2025-01-01T00:00:05Z',
    });
    expect(conditions.find((c) => c.type === 'PodScheduled')?.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
    expect(conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(status).toMatchObject({
      qosClass: 'BestEffort',
      podIP: '10.0.0.5',
      hostIP: '192.168.0.2',
      phase: 'Running',
    });
    expect(mergedPodStatus({ ...target, status }, runningRuntime(target), '192.168.0.2', 2000, TIMING)).toBeUndefined();
  });

  it.each([
    ['47.96.1.2', true],
    ['255.255.255.255', true],
    ['01.2.3.4', false],
    ['1.2.3', false],
    ['256.1.1.1', false],
    ['pending', false],
    ['', false],
  ])("reads %j as an address: %s (the wait script's is_ipv4)", (value, expected) => {
    expect(isIpv4Address(value)).toBe(expected);
  });

  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['registry.cn-hangzhou.aliyuncs.com/acs/pause:3.9', 'registry.cn-hangzhou.aliyuncs.com/acs/pause:3.9'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
  ])('reports image %s as %s', (image, expected) => {
    expect(normalizedImage(image)).toBe(expected);
  });
});

describe("which ReplicaSet runs the Deployment's template", () => {
  it('ignores the hash label and what Go reads as absent (kubectl rollout undo sends creationTimestamp: null)', () => {
    const d: KubeObject = {
      metadata: { name: 'd' },
      spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'a', image: 'nginx' }] } } },
    };
    const rs: KubeObject = {
      metadata: { name: 'd-1' },
      spec: {
        template: {
          metadata: { creationTimestamp: null, labels: { app: 'x', 'pod-template-hash': 'abc' } },
          spec: { containers: [{ name: 'a', image: 'nginx' }], tolerations: [] },
        },
      },
    };
    expect(runsTemplateOf(rs, d)).toBe(true);
    const other: KubeObject = {
      metadata: { name: 'd-2' },
      spec: {
        template: {
          metadata: { labels: { app: 'x' } },
          spec: { containers: [{ name: 'a', image: 'nginx' }], volumes: [{ name: 'v', emptyDir: {} }] },
        },
      },
    };
    expect(runsTemplateOf(other, d)).toBe(false);
  });
});

describe('pod-template-hash', () => {
  it('is stable for equal templates whatever the key order, and differs otherwise', () => {
    const a = podTemplateHash({
      metadata: { labels: { app: 'x' } },
      spec: { containers: [{ name: 'a', image: 'nginx' }] },
    });
    const b = podTemplateHash({
      spec: { containers: [{ image: 'nginx', name: 'a' }] },
      metadata: { labels: { app: 'x' } },
    });
    expect(a).toBe(b);
    expect(
      podTemplateHash({
        metadata: { creationTimestamp: null, labels: { app: 'x' } },
        spec: { containers: [{ name: 'a', image: 'nginx' }], tolerations: [] },
      }),
    ).toBe(a);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(podTemplateHash({ spec: { containers: [{ name: 'a', image: 'nginx:2' }] } })).not.toBe(a);
    expect(
      podTemplateHash({ metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'a', image: 'nginx' }] } }, 1),
    ).not.toBe(a);
  });
});
