/** planPodMutation over every AdmissionReview in tests/fixtures/admission, patches applied with fast-json-patch. */
import { describe, expect, it } from '@jest/globals';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION } from '../../../api/constants.js';
import { describeProblem } from '../../../api/eip-request.js';
import { planPodMutation } from '../../../webhook/mutation/plan.js';
import { admissionFixtureNames, defaultPolicy, plannerInput } from './admission-fixtures.js';
import { allowed, applied, expectFullyInjected } from './plan-expectations.js';

const POLICY = defaultPolicy();

interface FixtureCase {
  fixture: string;
  decision: 'allow' | 'deny';
  /** Whether the patch adds the gate, the volume and the init container. */
  injects?: boolean;
  warnings: RegExp[];
  denial?: RegExp[];
}

const FIXTURE_CASES: FixtureCase[] = [
  { fixture: 'deployment-pod-auto.json', decision: 'allow', injects: true, warnings: [] },
  {
    fixture: 'deployment-pod-static.json',
    decision: 'allow',
    injects: true,
    warnings: [/^podeip: every pod of this ReplicaSet would claim the same static EIP; use a 1-replica StatefulSet/],
  },
  {
    fixture: 'deployment-pod-release-never.json',
    decision: 'allow',
    injects: true,
    warnings: [
      /^podeip: k8s\.aliyun\.com\/pod-eip-release-strategy: "Never" is Follow here: ReplicaSet pods get new names$/,
    ],
  },
  { fixture: 'statefulset-pod-ttl.json', decision: 'allow', injects: true, warnings: [] },
  { fixture: 'bare-pod-static.json', decision: 'allow', injects: true, warnings: [] },
  { fixture: 'pod-with-own-gates-init-volumes.json', decision: 'allow', injects: true, warnings: [] },
  { fixture: 'network-prefix-pod.json', decision: 'allow', injects: true, warnings: [] },
  { fixture: 'legacy-key-pod.json', decision: 'allow', injects: true, warnings: [] },
  {
    fixture: 'pod-with-copied-eip-address.json',
    decision: 'allow',
    injects: true,
    warnings: [/^podeip: removed annotation k8s\.aliyun\.com\/allocated-eipAddress: podeip sets it once/],
  },
  { fixture: 'already-mutated-pod.json', decision: 'allow', injects: false, warnings: [] },
  { fixture: 'pod-without-eip.json', decision: 'allow', injects: false, warnings: [] },
  {
    fixture: 'bare-pod-update-invalid-annotations.json',
    decision: 'allow',
    injects: false,
    warnings: [/^podeip: 1 problem with the EIP annotations: k8s\.aliyun\.com\/pod-eip-release-strategy="forever"/],
  },
  {
    fixture: 'hostnetwork-pod.json',
    decision: 'deny',
    warnings: [],
    denial: [
      /^podeip: 1 problem with the EIP annotations: k8s\.aliyun\.com\/pod-with-eip="true": cannot be used with/,
      /spec\.hostNetwork: true/,
      /remove hostNetwork or this annotation$/,
    ],
  },
  {
    fixture: 'pod-invalid-annotations.json',
    decision: 'deny',
    warnings: [],
    denial: [
      /^podeip: 2 problems with the EIP annotations: /,
      /eip-internet-charge-type="Monthly": must be PayByTraffic or PayByBandwidth; /,
      /eip-bandwidth="fast": must be an integer/,
    ],
  },
];

describe('planPodMutation over the AdmissionReview fixtures', () => {
  it('has a case for every fixture', () => {
    expect(FIXTURE_CASES.map((c) => c.fixture).sort()).toEqual(admissionFixtureNames());
  });

  it.each(FIXTURE_CASES)('$fixture → $decision', ({ fixture, decision, injects, warnings, denial }) => {
    const input = plannerInput(fixture);
    const plan = planPodMutation(input, POLICY);
    expect(plan.decision).toBe(decision);
    expect(plan.warnings).toHaveLength(warnings.length);
    warnings.forEach((pattern, i) => expect(plan.warnings[i]).toMatch(pattern));

    if (plan.decision === 'deny') {
      for (const pattern of denial ?? []) expect(plan.message).toMatch(pattern);
      const count = plan.problems.length === 1 ? '1 problem' : `${plan.problems.length} problems`;
      expect(plan.message).toBe(
        `podeip: ${count} with the EIP annotations: ${plan.problems.map(describeProblem).join('; ')}`,
      );
      return;
    }
    if (!injects) {
      expect(plan.patch).toEqual([]);
      return;
    }
    const after = applied(input.pod, plan.patch);
    const before = structuredClone(input.pod);
    if (before.metadata?.annotations) delete before.metadata.annotations[ALLOCATED_EIP_ADDRESS_ANNOTATION];
    expectFullyInjected(before, after);
    // The API server may call the webhook again with the patched pod: it must then change nothing.
    expect(allowed(planPodMutation({ ...input, pod: after }, POLICY)).patch).toEqual([]);
  });

  it('keeps its own warnings within 120 characters, as AdmissionReview warnings advise', () => {
    const fixtures = [
      'deployment-pod-static.json',
      'deployment-pod-release-never.json',
      'pod-with-copied-eip-address.json',
    ];
    for (const fixture of fixtures) {
      for (const warning of planPodMutation(plannerInput(fixture), POLICY).warnings) {
        expect(warning.length).toBeLessThanOrEqual(120);
      }
    }
  });
});
