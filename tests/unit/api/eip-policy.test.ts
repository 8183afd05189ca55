/**
 * EIPPolicy decisions, the same for the webhook and the binder: which namespaces a policy selects, what
 * each rule allows, the count, the webhook's "undecided" for static EIPs known only by tag or pool, and
 * messages that name the policy and the rule but nothing of another namespace.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { AutoEipRequest, StaticEipRequest } from '../../../api/eip-request.js';
import {
  eipPolicyCustomResourceDefinition,
  evaluateEipPolicies,
  readEipPolicy,
  type EipPolicy,
  type EipPolicySpec,
} from '../../../api/eip-policy.js';

const CRD_FILE = new URL('../../../deploy/crds/eippolicies.podeip.io.yaml', import.meta.url);

const TEAM_A = { name: 'team-a', labels: { tier: 'tenant', 'kubernetes.io/metadata.name': 'team-a' } };
const OPS = { name: 'ops', labels: { 'kubernetes.io/metadata.name': 'ops' } };

function policy(name: string, spec: EipPolicySpec): EipPolicy {
  return readEipPolicy({ metadata: { name }, spec });
}

function auto(overrides: Partial<AutoEipRequest> = {}): AutoEipRequest {
  return {
    mode: 'auto',
    bandwidth: 5,
    internetChargeType: 'PayByBandwidth',
    instanceChargeType: 'PostPaid',
    releaseStrategy: { type: 'Follow' },
    ...overrides,
  };
}

function fixed(allocationId: string): StaticEipRequest {
  return { mode: 'static', allocationId, releaseStrategy: { type: 'Follow' } };
}

const tenantAllocation = policy('tenants', {
  namespaceSelector: { matchLabels: { tier: 'tenant' } },
  allocation: {
    internetChargeTypes: ['PayByBandwidth'],
    maxBandwidthMbps: 100,
    isps: ['BGP', 'BGP_PRO'],
  },
  maxEipsPerNamespace: 3,
});

describe('the EIPPolicy CRD', () => {
  it('is the same object in deploy/crds as in code, cluster-scoped with printer columns', () => {
    const documents = parseAllDocuments(readFileSync(CRD_FILE, 'utf8'));
    expect(documents).toHaveLength(1);
    expect(documents[0]?.toJS()).toEqual(eipPolicyCustomResourceDefinition());
    const crd = eipPolicyCustomResourceDefinition();
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Namespaces',
      'Selector',
      'Max EIPs',
      'Max Mbit/s',
      'PrePaid',
      'Age',
    ]);
  });
});

describe('evaluateEipPolicies', () => {
  it('allows everything when the cluster has no EIPPolicy, as ACK does', () => {
    expect(
      evaluateEipPolicies([], TEAM_A, auto({ bandwidth: 1000, instanceChargeType: 'PrePaid' }), { held: 99 }),
    ).toEqual({
      allowed: true,
    });
  });

  it('refuses a namespace no policy selects, once any policy exists', () => {
    expect(evaluateEipPolicies([tenantAllocation], OPS, auto(), { held: 0 })).toEqual({
      allowed: false,
      message: 'no EIPPolicy lets namespace ops use EIPs',
    });
  });

  it('selects by name as well as by label, and {} selects every namespace', () => {
    const byName = policy('ops-by-name', { namespaces: ['ops'], allocation: {} });
    const everyone = policy('everyone', { namespaceSelector: {}, allocation: {} });
    expect(evaluateEipPolicies([byName], OPS, auto(), { held: 0 })).toEqual({ allowed: true, policy: 'ops-by-name' });
    expect(evaluateEipPolicies([everyone], OPS, auto(), { held: 0 })).toEqual({ allowed: true, policy: 'everyone' });
  });

  it.each<[string, Partial<AutoEipRequest>, string]>([
    [
      'another charge type',
      { internetChargeType: 'PayByTraffic' },
      'allows the charge types "PayByBandwidth", not PayByTraffic',
    ],
    ['PrePaid', { instanceChargeType: 'PrePaid' }, 'allows no PrePaid EIP'],
    ['bandwidth above the ceiling', { bandwidth: 1000 }, 'allows at most 100 Mbit/s, not 1000'],
    ['another ISP', { isp: 'ChinaMobile' }, 'allows the ISPs "BGP", "BGP_PRO", not ChinaMobile'],
  ])('refuses an allocation with %s, naming the policy and the rule', (_, overrides, why) => {
    expect(evaluateEipPolicies([tenantAllocation], TEAM_A, auto(overrides), { held: 0 })).toEqual({
      allowed: false,
      message: `no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy tenants ${why}`,
    });
  });

  it('allows an allocation inside every rule, and an unset ISP counts as BGP', () => {
    expect(evaluateEipPolicies([tenantAllocation], TEAM_A, auto({ bandwidth: 100 }), { held: 2 })).toEqual({
      allowed: true,
      policy: 'tenants',
    });
  });

  it('counts the EIPs the namespace holds', () => {
    expect(evaluateEipPolicies([tenantAllocation], TEAM_A, auto(), { held: 3 })).toEqual({
      allowed: false,
      message:
        'no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy tenants allows 3 EIPs per namespace and namespace team-a holds 3',
    });
    const none = policy('none', { namespaces: ['team-a'], allocation: {}, maxEipsPerNamespace: 0 });
    expect(evaluateEipPolicies([none], TEAM_A, auto(), { held: 0 }).allowed).toBe(false);
  });

  it('requires a listed pool or resource group when the policy lists them', () => {
    const pooled = policy('pooled', {
      namespaces: ['team-a'],
      allocation: { publicIpAddressPoolIds: ['pippool-a'], resourceGroupIds: ['rg-a'] },
    });
    expect(evaluateEipPolicies([pooled], TEAM_A, auto(), { held: 0 })).toMatchObject({
      allowed: false,
      message: expect.stringContaining('allows allocating only from the IP address pools "pippool-a"'),
    });
    const inPool = auto({ publicIpAddressPoolId: 'pippool-a' });
    expect(evaluateEipPolicies([pooled], TEAM_A, inPool, { held: 0 })).toMatchObject({
      allowed: false,
      message: expect.stringContaining('allows allocating only into the resource groups "rg-a"'),
    });
    expect(evaluateEipPolicies([pooled], TEAM_A, { ...inPool, resourceGroupId: 'rg-a' }, { held: 0 }).allowed).toBe(
      true,
    );
  });

  it('allows when any selecting policy allows all of the request', () => {
    const generous = policy('generous', { namespaces: ['team-a'], allocation: { allowPrePaid: true } });
    const prepaid = auto({ instanceChargeType: 'PrePaid' });
    expect(evaluateEipPolicies([tenantAllocation, generous], TEAM_A, prepaid, { held: 0 })).toEqual({
      allowed: true,
      policy: 'generous',
    });
  });

  describe('static EIPs', () => {
    const statics = policy('statics', {
      namespaces: ['team-a'],
      staticEips: { allocationIds: ['eip-a1'], tags: { team: 'a' }, publicIpAddressPoolIds: ['pippool-a'] },
    });

    it('allows one listed by id without knowing more', () => {
      expect(evaluateEipPolicies([statics], TEAM_A, fixed('eip-a1'), { held: 0 })).toEqual({
        allowed: true,
        policy: 'statics',
      });
    });

    it('leaves one known only by tag or pool to the binder, which decides with the cloud’s answer', () => {
      expect(evaluateEipPolicies([statics], TEAM_A, fixed('eip-x'), { held: 0 })).toEqual({
        allowed: 'undecided',
        policy: 'statics',
      });
      expect(
        evaluateEipPolicies([statics], TEAM_A, fixed('eip-x'), { held: 0, eip: { tags: { team: 'a' } } }).allowed,
      ).toBe(true);
      expect(
        evaluateEipPolicies([statics], TEAM_A, fixed('eip-x'), { held: 0, eip: { publicIpAddressPoolId: 'pippool-a' } })
          .allowed,
      ).toBe(true);
      expect(evaluateEipPolicies([statics], TEAM_A, fixed('eip-x'), { held: 0, eip: { tags: { team: 'b' } } })).toEqual(
        {
          allowed: false,
          message:
            "no EIPPolicy lets namespace team-a bind the EIP eip-x: EIPPolicy statics does not list the EIP eip-x by id, and it lacks the policy's tags and pools",
        },
      );
    });

    it('refuses static EIPs where the policy has no staticEips, and auto where it has no allocation', () => {
      expect(evaluateEipPolicies([tenantAllocation], TEAM_A, fixed('eip-a1'), { held: 0 })).toEqual({
        allowed: false,
        message: 'no EIPPolicy lets namespace team-a bind the EIP eip-a1: EIPPolicy tenants allows no static EIP',
      });
      expect(evaluateEipPolicies([statics], TEAM_A, auto(), { held: 0 })).toEqual({
        allowed: false,
        message:
          'no EIPPolicy lets namespace team-a allocate this EIP: EIPPolicy statics allows no EIP to be allocated',
      });
    });
  });

  it('bounds the message however many policies refuse, and echoes a long id cut short', () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      policy(`p${String(i).padStart(2, '0')}`, { namespaces: ['team-a'] }),
    );
    const verdict = evaluateEipPolicies(many, TEAM_A, fixed('eip-' + 'x'.repeat(10_000)), { held: 0 });
    expect(verdict.allowed).toBe(false);
    const message = (verdict as { message: string }).message;
    expect(message.length).toBeLessThan(1_500);
    expect(message).toContain('and 25 more problems like these');
  });
});
