/** What a correctly patched pod looks like, and ways to vary a fixture, for the planner's tests. */
import { expect } from '@jest/globals';
import fjp from 'fast-json-patch';
import { EIP_CONDITION_TYPE } from '../../../api/constants.js';
import type { MutationPolicy } from '../../../webhook/config/types.js';
import type { PodAdmissionInput } from '../../../webhook/mutation/plan.js';
import type { ContainerJson, PodJson, PodSpecJson, VolumeJson } from '../../../webhook/mutation/pod.js';
import type { JsonPatchOp, PodMutationPlan } from '../../../webhook/mutation/types.js';
import { waitForEipScript } from '../../../webhook/mutation/wait-script.js';
import { defaultPolicy } from './admission-fixtures.js';

export type Allowed = Extract<PodMutationPlan, { decision: 'allow' }>;
export type Denied = Extract<PodMutationPlan, { decision: 'deny' }>;

export function allowed(plan: PodMutationPlan): Allowed {
  if (plan.decision !== 'allow') throw new Error(`expected allow, got deny: ${plan.message}`);
  return plan;
}

export function denied(plan: PodMutationPlan): Denied {
  if (plan.decision !== 'deny') throw new Error(`expected deny, got allow with ${JSON.stringify(plan.patch)}`);
  return plan;
}

/** Applies the patch as the API server would: RFC 6902, every operation validated, to a copy. */
export function applied(pod: PodJson, patch: JsonPatchOp[]): PodJson {
  return fjp.applyPatch(structuredClone(pod), patch as fjp.Operation[], true).newDocument;
}

export function withAnnotations(input: PodAdmissionInput, annotations: Record<string, string>): PodAdmissionInput {
  const pod = structuredClone(input.pod);
  pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } };
  return { ...input, pod };
}

export function withSpec(input: PodAdmissionInput, change: (spec: PodSpecJson) => void): PodAdmissionInput {
  const pod = structuredClone(input.pod);
  change((pod.spec ??= {}));
  return { ...input, pod };
}

export function expectedInitContainer(name: string, volumeName: string): ContainerJson {
  const policy: MutationPolicy = defaultPolicy();
  const script = waitForEipScript({
    annotationsFile: `${policy.mountPath}/annotations`,
    timeoutSeconds: policy.initContainer.timeoutSeconds,
    pollIntervalSeconds: policy.initContainer.pollIntervalSeconds,
  });
  return {
    name,
    image: 'busybox:1.36.1',
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', script],
    env: [{ name: 'PODEIP_WAIT_TIMEOUT_SECONDS', value: String(policy.initContainer.timeoutSeconds) }],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
    volumeMounts: [{ name: volumeName, mountPath: '/etc/podeip', readOnly: true }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65534,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

export function expectedVolume(name: string): VolumeJson {
  return {
    name,
    downwardAPI: {
      items: [
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      ],
    },
  };
}

/** Everything of the pod but the three lists podeip may extend. */
function untouchedParts(pod: PodJson): PodJson {
  const { readinessGates: _gates, initContainers: _inits, volumes: _volumes, ...spec } = pod.spec ?? {};
  return { ...pod, spec };
}

/**
 * The pod after the patch is the pod before plus exactly one gate (after the pod's own), one init container
 * (first) and one volume (last); nothing else changed.
 */
export function expectFullyInjected(
  before: PodJson,
  after: PodJson,
  names = { container: 'podeip-wait-eip', volume: 'podeip-podinfo' },
): void {
  const gates = after.spec?.readinessGates;
  expect(gates).toEqual([...(before.spec?.readinessGates ?? []), { conditionType: EIP_CONDITION_TYPE }]);
  expect(gates?.filter((gate) => gate.conditionType === EIP_CONDITION_TYPE)).toHaveLength(1);
  const [first, ...rest] = after.spec?.initContainers ?? [];
  expect(first).toEqual(expectedInitContainer(names.container, names.volume));
  expect(rest).toEqual(before.spec?.initContainers ?? []);
  expect(after.spec?.volumes).toEqual([...(before.spec?.volumes ?? []), expectedVolume(names.volume)]);
  expect(untouchedParts(after)).toEqual(untouchedParts(before));
}
