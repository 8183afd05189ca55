/**
 * deploy/ram-policy.json grants exactly the actions the binder's code sends, read from that code: the VPC
 * actions binder/cloud/vpc-api.ts calls and the ECS actions binder/cloud/alibaba-eip-cloud.ts calls with
 * the ECS API version. Release is limited to EIPs that carry the ownership tag the binder writes on every
 * EIP it allocates (docs/ram-policy.md says why unassociate is not).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../../../api/constants.js';
import { ownershipTagsFor } from '../../../binder/cloud/client-tokens.js';
import { CLOUD_API_NAMES } from '../../../binder/cloud/eip-cloud.js';

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const policy = JSON.parse(read('deploy/ram-policy.json')) as { Version: string; Statement: Statement[] };

/** The actions the code sends, each with its RAM product code. */
function actionsInCode(): string[] {
  const vpc = [...read('binder/cloud/vpc-api.ts').matchAll(/this\.call\('(\w+)'/g)].map((m) => `vpc:${m[1]}`);
  const ecs = [...read('binder/cloud/alibaba-eip-cloud.ts').matchAll(/rpcActionParams\('(\w+)', '2014-05-26'\)/g)].map(
    (m) => `ecs:${m[1]}`,
  );
  return [...vpc, ...ecs].sort();
}

describe('deploy/ram-policy.json', () => {
  it('allows exactly the actions the binder calls, each once, with no wildcard', () => {
    const granted = policy.Statement.flatMap((s) => s.Action);
    expect(actionsInCode()).toHaveLength(CLOUD_API_NAMES.length);
    expect([...granted].sort()).toEqual(actionsInCode());
    expect(new Set(granted).size).toBe(granted.length);
    for (const action of granted) expect(action).toMatch(/^(vpc|ecs):[A-Z][A-Za-z]+$/);
    // The binder's own list of APIs (rate limits, metrics) names the same actions.
    expect(granted.map((a) => a.split(':')[1]).sort()).toEqual([...CLOUD_API_NAMES].sort());
  });

  it('allows only, and only release needs the EIP to carry the cluster-id tag the binder writes', () => {
    expect(policy.Version).toBe('1');
    for (const s of policy.Statement) expect(s.Effect).toBe('Allow');
    const release = policy.Statement.filter((s) => s.Action.includes('vpc:ReleaseEipAddress'));
    expect(release).toHaveLength(1);
    expect(release[0]).toEqual({
      Effect: 'Allow',
      Action: ['vpc:ReleaseEipAddress'],
      Resource: 'acs:vpc:*:*:eip/*',
      Condition: { StringLike: { [`acs:ResourceTag/${PODEIP_OWNERSHIP_TAG_KEYS.clusterId}`]: '*' } },
    });
    const tags = ownershipTagsFor({ clusterId: 'c1', namespace: 'default', podName: 'p', podUid: 'u' });
    expect(tags).toHaveProperty([PODEIP_OWNERSHIP_TAG_KEYS.clusterId], 'c1');
  });
});
