import { describe, expect, it } from '@jest/globals';
import { annotationKeys, EIP_ANNOTATION_SUFFIXES, type EipAnnotationField } from '../../../api/annotations.js';
import type { AnnotationProblem, EipRequest } from '../../../api/eip-request.js';
import { parseEipAnnotations } from '../../../api/parse-annotations.js';

type Annotations = Record<string, string>;

const K = 'k8s.aliyun.com/';
const N = 'network.alibabacloud.com/';
const AUTO = { [`${K}pod-with-eip`]: 'true' };
const STATIC_ID = 'eip-bp1a2b3c4d5e6f';
const AUTO_DEFAULTS: EipRequest = {
  mode: 'auto',
  bandwidth: 5,
  internetChargeType: 'PayByTraffic',
  instanceChargeType: 'PostPaid',
  releaseStrategy: { type: 'Follow' },
};

function requestOf(annotations: Annotations): EipRequest {
  const parsed = parseEipAnnotations(annotations);
  if (parsed.kind !== 'request') throw new Error(`expected a request, got ${JSON.stringify(parsed)}`);
  return parsed.request;
}

function problemsOf(annotations: Annotations): AnnotationProblem[] {
  const parsed = parseEipAnnotations(annotations);
  if (parsed.kind !== 'invalid') throw new Error(`expected problems, got ${JSON.stringify(parsed)}`);
  return parsed.problems;
}

const ALL_KEYS = (Object.keys(EIP_ANNOTATION_SUFFIXES) as EipAnnotationField[]).flatMap((f) => annotationKeys(f));

/** What lets the webhook allow a pod unchanged at once: the parse finds nothing to act on or warn about. */
const hasEipAnnotations = (annotations: Annotations | undefined): boolean => {
  const parsed = parseEipAnnotations(annotations);
  return parsed.kind !== 'none' || parsed.warnings.length > 0;
};

describe('does a pod have EIP annotations', () => {
  it.each(ALL_KEYS)('sees %s', (key) => {
    expect(hasEipAnnotations({ 'app.kubernetes.io/name': 'game', [key]: 'x' })).toBe(true);
  });

  it.each<[string, Annotations | undefined]>([
    ['no annotations', undefined],
    ['an empty map', {}],
    ['unrelated keys', { 'app.kubernetes.io/name': 'game', 'kubectl.kubernetes.io/restartedAt': 'now' }],
    ['the address the binder writes', { 'k8s.aliyun.com/allocated-eipAddress': '1.2.3.4' }],
    ["podeip's own inject override", { 'podeip.io/inject': 'none' }],
    ['a near miss', { 'k8s.aliyun.com/pod-with-eips': 'true', 'example.com/pod-with-eip': 'true' }],
  ])('ignores %s', (_, annotations) => {
    expect(hasEipAnnotations(annotations)).toBe(false);
  });
});

describe('what a pod asks for', () => {
  it('asks for nothing without EIP annotations', () => {
    expect(parseEipAnnotations(undefined)).toEqual({ kind: 'none', warnings: [] });
    expect(parseEipAnnotations({ 'app.kubernetes.io/name': 'game' })).toEqual({ kind: 'none', warnings: [] });
  });

  const withEipKeys = annotationKeys('withEip');
  it.each(withEipKeys.flatMap((key) => ['true', 'TRUE', 'True', ' true '].map((v) => [key, v])))(
    '%s: %j allocates an EIP with the defaults',
    (key, value) => {
      expect(parseEipAnnotations({ [key]: value })).toEqual({ kind: 'request', request: AUTO_DEFAULTS, warnings: [] });
    },
  );

  it.each(withEipKeys.flatMap((key) => ['false', 'False', 'FALSE'].map((v) => [key, v])))(
    '%s: %j asks for nothing',
    (key, value) => {
      expect(parseEipAnnotations({ [key]: value })).toEqual({ kind: 'none', warnings: [] });
    },
  );

  it.each(annotationKeys('instanceId'))('%s binds that existing EIP', (key) => {
    expect(parseEipAnnotations({ [key]: STATIC_ID })).toEqual({
      kind: 'request',
      request: { mode: 'static', allocationId: STATIC_ID, releaseStrategy: { type: 'Follow' } },
      warnings: [],
    });
  });

  it.each(withEipKeys.flatMap((w) => annotationKeys('instanceId').map((i) => [w, i])))(
    '%s and %s together are a problem, not a silent choice',
    (withKey, idKey) => {
      expect(problemsOf({ [withKey]: 'true', [idKey]: STATIC_ID })).toEqual([
        {
          annotation: `${withKey} and ${idKey}`,
          message: 'asks for both a static EIP and auto allocation; choose one',
        },
      ]);
    },
  );

  it('binds a static EIP when pod-with-eip is "false"', () => {
    expect(requestOf({ [`${K}pod-with-eip`]: 'false', [`${K}pod-eip-instanceid`]: STATIC_ID })).toMatchObject({
      mode: 'static',
    });
  });

  it.each(['yes', '1', 'on', ''])('reports pod-with-eip: %j', (value) => {
    expect(problemsOf({ [`${N}pod-with-eip`]: value })).toEqual([
      { annotation: `${N}pod-with-eip`, value, message: 'must be "true" or "false"' },
    ]);
  });
});

describe('release strategy', () => {
  it.each(
    annotationKeys('releaseStrategy').flatMap((key) =>
      [
        ['Follow', { type: 'Follow' }],
        ['follow', { type: 'Follow' }],
        ['FOLLOW', { type: 'Follow' }],
        ['Never', { type: 'Never' }],
        ['never', { type: 'Never' }],
        ['10m', { type: 'TTL', after: '10m', seconds: 600 }],
        ['5m30s', { type: 'TTL', after: '5m30s', seconds: 330 }],
        ['1.5h', { type: 'TTL', after: '1.5h', seconds: 5400 }],
        [' 10m ', { type: 'TTL', after: '10m', seconds: 600 }],
        ['500ms', { type: 'TTL', after: '500ms', seconds: 0.5 }],
      ].map(([value, strategy]) => [key, value, strategy] as const),
    ),
  )('%s: %j', (key, value, strategy) => {
    expect(requestOf({ ...AUTO, [key]: value as string }).releaseStrategy).toEqual(strategy);
    expect(requestOf({ [`${K}pod-eip-instanceid`]: STATIC_ID, [key]: value as string }).releaseStrategy).toEqual(
      strategy,
    );
  });

  it.each(['sometimes', 'TTL', '10', '-5m', '10 m', '10d', ''])('reports %j', (value) => {
    expect(problemsOf({ ...AUTO, [`${N}pod-eip-release-strategy`]: value })).toEqual([
      {
        annotation: `${N}pod-eip-release-strategy`,
        value,
        message: 'must be Follow, Never, or a positive Go duration such as 10m, 1.5h or 5m30s',
      },
    ]);
  });

  it.each(['0', '0s', '0h0m'])('reports a zero TTL %j', (value) => {
    expect(problemsOf({ ...AUTO, [`${K}pod-eip-release-strategy`]: value })[0]?.message).toContain(
      'a TTL of 0s is not positive',
    );
  });
});

describe('the same field under two keys', () => {
  it.each([
    [`${K}eip-bandwidth`, '5', `${N}eip-bandwidth`, '10'],
    [`${K}eip-internet-charge-type`, 'PayByTraffic', 'k8s.aliyun.com/eip-charge-type', 'PayByBandwidth'],
    [`${N}eip-internet-charge-type`, 'PayByTraffic', 'k8s.aliyun.com/eip-charge-type', 'PayByBandwidth'],
    [`${K}pod-with-eip`, 'true', `${N}pod-with-eip`, 'false'],
    [`${N}pod-with-eip`, 'true', 'k8s.aliyun.com/eci-with-eip', 'false'],
    [`${K}pod-eip-release-strategy`, 'Follow', `${N}pod-eip-release-strategy`, 'Never'],
    [`${K}eip-tags`, '{"a":"1"}', `${N}eip-tags`, '{"a":"2"}'],
  ])('%s=%j and %s=%j is a problem naming both', (first, a, second, b) => {
    const asksForEip = first.endsWith('with-eip') ? {} : AUTO;
    const problems = problemsOf({ ...asksForEip, [first]: a, [second]: b });
    expect(problems).toContainEqual({
      annotation: `${first} and ${second}`,
      message: `set the same thing to different values ("${a}" and "${b}"); keep one of them, or give them the same value`,
    });
  });

  it('names every key of the field when one of them disagrees', () => {
    expect(
      problemsOf({
        [`${K}pod-with-eip`]: 'true',
        [`${N}pod-with-eip`]: 'true',
        'k8s.aliyun.com/eci-with-eip': 'false',
      }),
    ).toEqual([
      {
        annotation: `${K}pod-with-eip and ${N}pod-with-eip and k8s.aliyun.com/eci-with-eip`,
        message:
          'set the same thing to different values ("true" and "true" and "false"); keep one of them, or give them the same value',
      },
    ]);
  });

  it('reports a conflict between two static ids', () => {
    expect(
      problemsOf({ [`${K}pod-eip-instanceid`]: STATIC_ID, 'k8s.aliyun.com/eci-eip-instanceid': 'eip-bp1zzzzzzz' }),
    ).toEqual([
      expect.objectContaining({ annotation: `${K}pod-eip-instanceid and k8s.aliyun.com/eci-eip-instanceid` }),
    ]);
  });

  it.each<[string, Annotations]>([
    ['equal values', { [`${K}eip-bandwidth`]: '10', [`${N}eip-bandwidth`]: '10' }],
    ['equal values once trimmed', { [`${K}eip-bandwidth`]: '10', [`${N}eip-bandwidth`]: ' 10' }],
    ['pod-with-eip in another case', { [`${N}pod-with-eip`]: 'TRUE', 'k8s.aliyun.com/eci-with-eip': 'true' }],
    [
      'Follow in another case',
      { [`${K}pod-eip-release-strategy`]: 'Follow', [`${N}pod-eip-release-strategy`]: 'follow' },
    ],
  ])('accepts %s', (_, annotations) => {
    expect(parseEipAnnotations({ ...AUTO, ...annotations }).kind).toBe('request');
  });

  it('reports a problem with the key the user wrote', () => {
    expect(problemsOf({ [`${N}pod-with-eip`]: 'true', [`${N}eip-bandwidth`]: '0' })[0]?.annotation).toBe(
      `${N}eip-bandwidth`,
    );
  });
});

describe('every problem at once', () => {
  it('reports each bad annotation, not just the first', () => {
    const problems = problemsOf({
      [`${K}pod-with-eip`]: 'true',
      [`${K}eip-bandwidth`]: 'lots',
      [`${N}eip-isp`]: 'CMCC',
      [`${K}eip-name`]: 'https://example.com',
      [`${N}eip-tags`]: '{"aliyun:x":"1","podeip.io/owner":"me"}',
      [`${K}pod-eip-release-strategy`]: 'later',
      [`${K}eip-resource-group-id`]: 'default',
    });
    expect(problems.map((p) => p.annotation).sort()).toEqual(
      [
        `${K}eip-bandwidth`,
        `${N}eip-isp`,
        `${K}eip-name`,
        `${N}eip-tags`,
        `${N}eip-tags`,
        `${K}pod-eip-release-strategy`,
        `${K}eip-resource-group-id`,
      ].sort(),
    );
  });

  it('checks the options even when pod-with-eip itself is unreadable', () => {
    const problems = problemsOf({ [`${K}pod-with-eip`]: 'yes', [`${K}eip-bandwidth`]: '0' });
    expect(problems.map((p) => p.annotation)).toEqual([`${K}pod-with-eip`, `${K}eip-bandwidth`]);
  });

  it('checks the static id as well when auto and static are both asked for', () => {
    const problems = problemsOf({ ...AUTO, [`${K}pod-eip-instanceid`]: 'i-bp1abcdefg' });
    expect(problems).toHaveLength(2);
    expect(problems).toContainEqual(
      expect.objectContaining({ annotation: `${K}pod-eip-instanceid`, value: 'i-bp1abcdefg' }),
    );
  });
});

describe('warnings', () => {
  it('names the auto-only options a static EIP ignores, without judging their values', () => {
    const parsed = parseEipAnnotations({
      [`${K}pod-eip-instanceid`]: STATIC_ID,
      [`${K}eip-bandwidth`]: 'not a number',
      [`${N}eip-isp`]: 'BGP',
      'k8s.aliyun.com/eip-charge-type': 'PayByBandwidth',
      [`${K}pod-eip-release-strategy`]: 'Never',
    });
    expect(parsed).toEqual({
      kind: 'request',
      request: { mode: 'static', allocationId: STATIC_ID, releaseStrategy: { type: 'Never' } },
      warnings: [
        `${K}pod-eip-instanceid binds an existing EIP, so these options, which only apply when podeip allocates ` +
          `one, are ignored: ${K}eip-bandwidth, k8s.aliyun.com/eip-charge-type, ${N}eip-isp.`,
      ],
    });
  });

  it('names the options that pod-with-eip "false" makes pointless', () => {
    expect(parseEipAnnotations({ [`${K}pod-with-eip`]: 'false', [`${K}eip-bandwidth`]: '0' })).toEqual({
      kind: 'none',
      warnings: [
        `${K}pod-with-eip is "false", so no EIP is attached and these annotations are ignored: ${K}eip-bandwidth.`,
      ],
    });
  });

  it('says how to ask for an EIP when only options are set', () => {
    const parsed = parseEipAnnotations({ [`${N}eip-bandwidth`]: '10', [`${N}pod-eip-release-strategy`]: '10m' });
    expect(parsed.kind).toBe('none');
    expect(parsed.warnings).toEqual([
      `No EIP is asked for, so these annotations are ignored: ${N}pod-eip-release-strategy, ${N}eip-bandwidth. ` +
        `To ask for one, set ${K}pod-with-eip: "true" or ${K}pod-eip-instanceid.`,
    ]);
  });

  it('warns that a PrePaid EIP outlives the pod and keeps billing', () => {
    const parsed = parseEipAnnotations({
      ...AUTO,
      [`${K}eip-instance-charge-type`]: 'PrePaid',
      [`${K}eip-internet-charge-type`]: 'PayByBandwidth',
    });
    expect(parsed.kind).toBe('request');
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatch(/cannot be released by podeip, so it outlives the pod and keeps billing/);
  });

  it('keeps warnings beside problems', () => {
    const parsed = parseEipAnnotations({
      ...AUTO,
      [`${K}eip-instance-charge-type`]: 'PrePaid',
      [`${K}eip-bandwidth`]: '0',
    });
    expect(parsed.kind).toBe('invalid');
    expect(parsed.warnings).toHaveLength(1);
  });
});
