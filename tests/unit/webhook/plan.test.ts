/** planPodMutation's rules, on variations of the AdmissionReview fixtures. */
import { describe, expect, it } from '@jest/globals';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../../api/constants.js';
import type { MutationPolicy } from '../../../webhook/config/types.js';
import { escapeJsonPointerToken, planPodMutation, type PodAdmissionInput } from '../../../webhook/mutation/plan.js';
import type { PodSpecJson } from '../../../webhook/mutation/pod.js';
import { waitForEipScript } from '../../../webhook/mutation/wait-script.js';
import { defaultPolicy, plannerInput } from './admission-fixtures.js';
import {
  allowed,
  applied,
  denied,
  expectFullyInjected,
  expectedInitContainer,
  expectedVolume,
  withAnnotations,
  withSpec,
} from './plan-expectations.js';

const POLICY = defaultPolicy();
const opsOf = (input: PodAdmissionInput, policy = POLICY) =>
  allowed(planPodMutation(input, policy)).patch.map(({ op, path }) => `${op} ${path}`);

describe('the patch', () => {
  it('creates missing arrays and appends to existing ones, in a stable order', () => {
    expect(opsOf(plannerInput('deployment-pod-auto.json'))).toEqual([
      'add /spec/readinessGates',
      'add /spec/volumes/-',
      'add /spec/initContainers',
    ]);
    expect(opsOf(plannerInput('pod-with-own-gates-init-volumes.json'))).toEqual([
      'add /spec/readinessGates/-',
      'add /spec/volumes/-',
      'add /spec/initContainers/0',
    ]);
  });

  const emptyArrays = (spec: PodSpecJson) => {
    Object.assign(spec, { volumes: [], readinessGates: [], initContainers: [] });
  };
  it.each([
    ['no volumes at all', (spec: PodSpecJson) => delete spec.volumes],
    ['empty arrays', emptyArrays],
  ])('applies to a pod with %s', (_, change) => {
    const input = withSpec(plannerInput('deployment-pod-auto.json'), change);
    expectFullyInjected(input.pod, applied(input.pod, allowed(planPodMutation(input, POLICY)).patch));
  });

  it('removes a copied allocated-eipAddress with an escaped JSON pointer, once', () => {
    const input = plannerInput('pod-with-copied-eip-address.json');
    const plan = allowed(planPodMutation(input, POLICY));
    expect(plan.patch[0]).toEqual({ op: 'remove', path: '/metadata/annotations/k8s.aliyun.com~1allocated-eipAddress' });
    const after = applied(input.pod, plan.patch);
    expect(after.metadata?.annotations).toEqual({ 'k8s.aliyun.com/pod-with-eip': 'true' });
    expect(planPodMutation({ ...input, pod: after }, POLICY)).toEqual({ decision: 'allow', patch: [], warnings: [] });
  });

  it('escapes JSON pointer tokens as RFC 6901 says', () => {
    expect(escapeJsonPointerToken('k8s.aliyun.com/allocated-eipAddress')).toBe('k8s.aliyun.com~1allocated-eipAddress');
    expect(escapeJsonPointerToken('a~/b')).toBe('a~0~1b');
  });

  it('follows the policy: names, mount path, image, resources and the wait options', () => {
    const policy: MutationPolicy = {
      ...POLICY,
      initContainer: {
        ...POLICY.initContainer,
        name: 'eip-wait',
        image: 'registry.example/tools:1',
        imagePullPolicy: 'Always',
        timeoutSeconds: 90,
        pollIntervalSeconds: 0.5,
        resources: { requests: { cpu: '5m' }, limits: {} },
        runAsUser: 1001,
      },
      volumeName: 'eipinfo',
      mountPath: '/run/eip/',
    };
    const input = plannerInput('bare-pod-static.json');
    const after = applied(input.pod, allowed(planPodMutation(input, policy)).patch);
    const init = after.spec?.initContainers?.[0];
    expect(init).toMatchObject({
      name: 'eip-wait',
      image: 'registry.example/tools:1',
      imagePullPolicy: 'Always',
      resources: { requests: { cpu: '5m' }, limits: {} },
      volumeMounts: [{ name: 'eipinfo', mountPath: '/run/eip/', readOnly: true }],
      securityContext: { runAsUser: 1001, runAsNonRoot: true },
    });
    expect(init?.command?.[2]).toBe(
      waitForEipScript({ annotationsFile: '/run/eip/annotations', timeoutSeconds: 90, pollIntervalSeconds: 0.5 }),
    );
    expect(after.spec?.volumes?.at(-1)).toEqual(expectedVolume('eipinfo'));
  });
});

describe('name clashes', () => {
  const ownGates = () => plannerInput('pod-with-own-gates-init-volumes.json');

  it('suffixes the volume name while the pod uses it for other volumes', () => {
    const input = withSpec(ownGates(), (spec) => {
      spec.volumes?.push({ name: 'podeip-podinfo', emptyDir: {} });
      spec.volumes?.push({ name: 'podeip-podinfo-1', configMap: { name: 'x' } });
    });
    const after = applied(input.pod, allowed(planPodMutation(input, POLICY)).patch);
    expectFullyInjected(input.pod, after, { container: 'podeip-wait-eip', volume: 'podeip-podinfo-2' });
    expect(allowed(planPodMutation({ ...input, pod: after }, POLICY)).patch).toEqual([]);
  });

  it('reuses a downward-API volume of its name that already exposes annotations and labels', () => {
    const input = withSpec(ownGates(), (spec) => {
      const podinfo = spec.volumes?.find((v) => v.name === 'podinfo');
      if (podinfo) podinfo.name = 'podeip-podinfo';
    });
    const plan = allowed(planPodMutation(input, POLICY));
    expect(plan.patch.map((op) => op.path)).toEqual(['/spec/readinessGates/-', '/spec/initContainers/0']);
    const mounts = applied(input.pod, plan.patch).spec?.initContainers?.[0]?.volumeMounts;
    expect(mounts).toEqual([{ name: 'podeip-podinfo', mountPath: '/etc/podeip', readOnly: true }]);
  });

  it.each(['containers', 'initContainers'] as const)('suffixes the init container name when %s use it', (where) => {
    const input = withSpec(ownGates(), (spec) => {
      spec[where]?.push({ name: 'podeip-wait-eip', image: 'busybox:1.36.1', command: ['sh', '-c', 'sleep 1'] });
    });
    const after = applied(input.pod, allowed(planPodMutation(input, POLICY)).patch);
    expectFullyInjected(input.pod, after, { container: 'podeip-wait-eip-1', volume: 'podeip-podinfo' });
    expect(allowed(planPodMutation({ ...input, pod: after }, POLICY)).patch).toEqual([]);
  });

  it('recognises its own init container by its script, not by its name alone', () => {
    const impostor = withSpec(plannerInput('already-mutated-pod.json'), (spec) => {
      const own = spec.initContainers?.[0];
      if (own) own.command = ['sh', '-c', 'echo not podeip'];
    });
    expect(allowed(planPodMutation(impostor, POLICY)).patch).toEqual([
      {
        op: 'add',
        path: '/spec/initContainers/0',
        value: expectedInitContainer('podeip-wait-eip-1', 'podeip-podinfo'),
      },
    ]);
  });

  it('recognises an init container from another version of the script by its first line', () => {
    const older = withSpec(plannerInput('already-mutated-pod.json'), (spec) => {
      const own = spec.initContainers?.[0];
      if (own?.command?.[2]) own.command[2] = own.command[2].replace('poll_interval=2', 'poll_interval=5');
    });
    expect(allowed(planPodMutation(older, POLICY)).patch).toEqual([]);
  });
});

describe('what to inject', () => {
  const deployment = () => plannerInput('deployment-pod-auto.json');
  const ALL_THREE = ['add /spec/readinessGates', 'add /spec/volumes/-', 'add /spec/initContainers'];

  it.each([
    ['readiness-gate', ['add /spec/readinessGates']],
    ['init-container', ['add /spec/volumes/-', 'add /spec/initContainers']],
    [' init-container , Readiness-Gate ', ALL_THREE],
    ['none', []],
  ])('podeip.io/inject: %j', (value, expected) => {
    expect(opsOf(withAnnotations(deployment(), { 'podeip.io/inject': value }))).toEqual(expected);
  });

  it('follows the policy when the pod does not say, and the pod over the policy', () => {
    const gateOnly: MutationPolicy = { ...POLICY, injection: { readinessGate: true, initContainer: false } };
    const nothing: MutationPolicy = { ...POLICY, injection: { readinessGate: false, initContainer: false } };
    expect(opsOf(deployment(), gateOnly)).toEqual(['add /spec/readinessGates']);
    expect(opsOf(deployment(), nothing)).toEqual([]);
    const asksForInit = withAnnotations(deployment(), { 'podeip.io/inject': 'init-container' });
    expect(opsOf(asksForInit, gateOnly)).toEqual(['add /spec/volumes/-', 'add /spec/initContainers']);
  });

  it('still removes a copied address when nothing is injected', () => {
    const input = withAnnotations(plannerInput('pod-with-copied-eip-address.json'), { 'podeip.io/inject': 'none' });
    expect(opsOf(input)).toEqual(['remove /metadata/annotations/k8s.aliyun.com~1allocated-eipAddress']);
  });
});

describe('denials', () => {
  const deployment = () => plannerInput('deployment-pod-auto.json');
  const ALLOWED = /use "none", or readiness-gate and\/or init-container separated by a comma$/;

  it.each([
    ['sidecar', /podeip\.io\/inject="sidecar": has unknown value "sidecar"; /],
    ['gate,wait', /has unknown values "gate", "wait"; /],
    ['none,init-container', /"none" cannot be combined with other values; /],
    [' , ', /podeip\.io\/inject=" , ": is empty; /],
  ])('an unusable podeip.io/inject %j', (value, pattern) => {
    const plan = denied(planPodMutation(withAnnotations(deployment(), { 'podeip.io/inject': value }), POLICY));
    expect(plan.problems).toEqual([expect.objectContaining({ annotation: 'podeip.io/inject', value })]);
    expect(plan.message).toMatch(/^podeip: 1 problem with the EIP annotations: podeip\.io\/inject=/);
    expect(plan.message).toMatch(pattern);
    expect(plan.message).toMatch(ALLOWED);
  });

  it('reports every problem at once: annotations, the override and hostNetwork', () => {
    const input = withSpec(
      withAnnotations(deployment(), { 'k8s.aliyun.com/eip-bandwidth': 'lots', 'podeip.io/inject': 'maybe' }),
      (spec) => (spec.hostNetwork = true),
    );
    const plan = denied(planPodMutation(input, POLICY));
    expect(plan.problems.map((p) => p.annotation)).toEqual([
      'k8s.aliyun.com/eip-bandwidth',
      'podeip.io/inject',
      'k8s.aliyun.com/pod-with-eip',
    ]);
    expect(plan.message).toMatch(/^podeip: 3 problems with the EIP annotations: .*; .*; .*hostNetwork/);
  });

  it('denies a static EIP on a host-network pod too', () => {
    const input = withSpec(plannerInput('bare-pod-static.json'), (spec) => (spec.hostNetwork = true));
    expect(denied(planPodMutation(input, POLICY)).problems).toEqual([
      expect.objectContaining({ annotation: 'k8s.aliyun.com/pod-eip-instanceid', value: 'eip-bp1q2w3e4r5t6y7u8i9o0p' }),
    ]);
  });
});

describe('pods that get no patch', () => {
  const NOTHING = { decision: 'allow', patch: [], warnings: [] };

  it('lets a pod without EIP annotations through untouched, whatever else it carries', () => {
    expect(planPodMutation({ operation: 'CREATE', namespace: 'x', pod: {} }, POLICY)).toEqual(NOTHING);
    const noisy = withAnnotations(plannerInput('pod-without-eip.json'), {
      'podeip.io/inject': 'bogus',
      [ALLOCATED_EIP_ADDRESS_ANNOTATION]: '1.2.3.4',
    });
    expect(planPodMutation(noisy, POLICY)).toEqual(NOTHING);
  });

  it('leaves a pod that asks for no EIP alone, passing on the parser warnings', () => {
    const input = withAnnotations(plannerInput('pod-without-eip.json'), {
      'k8s.aliyun.com/pod-with-eip': 'false',
      'k8s.aliyun.com/eip-bandwidth': '10',
    });
    const plan = allowed(planPodMutation(input, POLICY));
    expect(plan.patch).toEqual([]);
    expect(plan.warnings).toEqual([expect.stringMatching(/^podeip: \S+\/pod-with-eip is "false".*eip-bandwidth/)]);
  });

  it.each(['UPDATE', 'DELETE', 'CONNECT'] as const)('%s: allowed without a patch, even invalid', (operation) => {
    const valid = { ...plannerInput('deployment-pod-auto.json'), operation };
    expect(planPodMutation(valid, POLICY)).toEqual(NOTHING);
    const invalid = withSpec(withAnnotations(valid, { 'k8s.aliyun.com/eip-bandwidth': 'fast' }), (spec) => {
      spec.hostNetwork = true;
    });
    const plan = allowed(planPodMutation(invalid, POLICY));
    expect(plan.patch).toEqual([]);
    expect(plan.warnings).toEqual([
      expect.stringMatching(/^podeip: 1 problem with the EIP annotations: k8s\.aliyun\.com\/eip-bandwidth="fast"/),
    ]);
  });
});

describe('workload warnings', () => {
  const ownedBy = (fixture: string, kind: string): PodAdmissionInput => {
    const input = plannerInput(fixture);
    const owner = { apiVersion: 'apps/v1', kind, name: 'x', uid: 'u', controller: true };
    input.pod.metadata = { ...input.pod.metadata, ownerReferences: [owner] };
    return input;
  };

  it.each([
    ['DaemonSet', 1],
    ['ReplicationController', 1],
    ['StatefulSet', 0],
    ['Job', 0],
  ])('a static EIP on a pod of a %s: %i warning(s)', (kind, count) => {
    expect(planPodMutation(ownedBy('bare-pod-static.json', kind), POLICY).warnings).toHaveLength(count);
  });

  it('warns that a TTL is Follow where the controller generates names, and only there', () => {
    const ttl = { 'network.alibabacloud.com/pod-eip-release-strategy': '1h30m' };
    expect(planPodMutation(withAnnotations(plannerInput('deployment-pod-auto.json'), ttl), POLICY).warnings).toEqual([
      'podeip: network.alibabacloud.com/pod-eip-release-strategy: "1h30m" is Follow here: ReplicaSet pods get new names',
    ]);
    const statefulSetPod = withAnnotations(ownedBy('deployment-pod-auto.json', 'StatefulSet'), ttl);
    expect(planPodMutation(statefulSetPod, POLICY).warnings).toEqual([]);
    // A kind configured as stateful (an OpenKruise Advanced StatefulSet, say) keeps its pods' names too.
    const kruisePod = withAnnotations(ownedBy('deployment-pod-auto.json', 'GameServerSet'), ttl);
    expect(
      planPodMutation(kruisePod, { ...POLICY, statefulWorkloadKinds: ['StatefulSet', 'GameServerSet'] }).warnings,
    ).toEqual([]);
    // A pod with no controller: its author picks the name, so the next pod of the name can take the EIP.
    const bare = withAnnotations(plannerInput('deployment-pod-auto.json'), ttl);
    delete bare.pod.metadata!.ownerReferences;
    expect(planPodMutation(bare, POLICY).warnings).toEqual([]);
  });

  it('counts only the controlling owner', () => {
    const input = plannerInput('deployment-pod-static.json');
    const owner = input.pod.metadata?.ownerReferences?.[0];
    if (owner) owner.controller = false;
    expect(planPodMutation(input, POLICY).warnings).toEqual([]);
  });
});
