import { describe, expect, it } from '@jest/globals';
import { annotationKeys, type EipAnnotationField } from '../../../api/annotations.js';
import { describeProblem, type AnnotationProblem, type AutoEipRequest } from '../../../api/eip-request.js';
import { parseEipAnnotations } from '../../../api/parse-annotations.js';

type Annotations = Record<string, string>;

const K = 'k8s.aliyun.com/';
const N = 'network.alibabacloud.com/';
const AUTO = { [`${K}pod-with-eip`]: 'true' };

function autoRequestOf(annotations: Annotations): AutoEipRequest {
  const parsed = parseEipAnnotations({ ...AUTO, ...annotations });
  if (parsed.kind !== 'request' || parsed.request.mode !== 'auto') {
    throw new Error(`expected an auto request, got ${JSON.stringify(parsed)}`);
  }
  return parsed.request;
}

function problemsOf(annotations: Annotations): AnnotationProblem[] {
  const parsed = parseEipAnnotations({ ...AUTO, ...annotations });
  if (parsed.kind !== 'invalid') throw new Error(`expected problems, got ${JSON.stringify(parsed)}`);
  return parsed.problems;
}

/** Every full key (both prefixes, and the legacy form if any) of a field, paired with each case. */
function underEveryKey<T extends unknown[]>(field: EipAnnotationField, cases: T[]): [string, ...T][] {
  return annotationKeys(field).flatMap((key) => cases.map((c): [string, ...T] => [key, ...c]));
}

describe('each option under each of its keys', () => {
  it.each<[string, string, Partial<AutoEipRequest>]>([
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('bandwidth', [
      ['10', { bandwidth: 10 }],
      [' 200 ', { bandwidth: 200 }],
      ['1', { bandwidth: 1 }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('internetChargeType', [
      ['PayByTraffic', { internetChargeType: 'PayByTraffic' }],
      ['PayByBandwidth', { internetChargeType: 'PayByBandwidth' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('instanceChargeType', [
      ['PostPaid', { instanceChargeType: 'PostPaid' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('isp', [
      ['BGP', { isp: 'BGP' }],
      ['BGP_PRO', { isp: 'BGP_PRO' }],
      ['ChinaMobile_L2', { isp: 'ChinaMobile_L2' }],
      ['BGP_International', { isp: 'BGP_International' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('commonBandwidthPackageId', [
      ['cbwp-bp1a2b3c4d', { commonBandwidthPackageId: 'cbwp-bp1a2b3c4d' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('publicIpAddressPoolId', [
      ['pippool-bp1bbpq1jjnc', { publicIpAddressPoolId: 'pippool-bp1bbpq1jjnc' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('resourceGroupId', [
      ['rg-acfmwqnw', { resourceGroupId: 'rg-acfmwqnw' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('name', [
      ['game-0', { name: 'game-0' }],
      ['游戏服务器', { name: '游戏服务器' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('description', [
      ['EIP of game-0, see http://example.com', { description: 'EIP of game-0, see http://example.com' }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('securityProtectionTypes', [
      ['AntiDDoS_Enhanced', { securityProtectionTypes: ['AntiDDoS_Enhanced'] }],
      ['AntiDDoS_Enhanced, AntiDDoS_Enhanced', { securityProtectionTypes: ['AntiDDoS_Enhanced'] }],
    ]),
    ...underEveryKey<[string, Partial<AutoEipRequest>]>('tags', [
      ['{"team":"games","env":""}', { tags: { team: 'games', env: '' } }],
    ]),
  ])('%s: %j', (key, value, expected) => {
    expect(autoRequestOf({ [key]: value })).toEqual({ ...autoRequestOf({}), ...expected });
  });

  it('leaves out what was not asked for', () => {
    expect(autoRequestOf({ [`${K}eip-name`]: '', [`${K}eip-description`]: '  ', [`${K}eip-tags`]: '{}' })).toEqual({
      mode: 'auto',
      bandwidth: 5,
      internetChargeType: 'PayByTraffic',
      instanceChargeType: 'PostPaid',
      releaseStrategy: { type: 'Follow' },
    });
  });

  it('takes PrePaid with PayByBandwidth', () => {
    expect(
      autoRequestOf({
        [`${N}eip-instance-charge-type`]: 'PrePaid',
        [`${N}eip-internet-charge-type`]: 'PayByBandwidth',
      }),
    ).toMatchObject({ instanceChargeType: 'PrePaid', internetChargeType: 'PayByBandwidth' });
  });
});

const long = (n: number): string => 'x'.repeat(n);

describe('bad values, under each key', () => {
  it.each<[string, string, string]>([
    ...underEveryKey<[string, string]>('bandwidth', [
      ['0', 'must be an integer from 1 to 200 Mbit/s for PostPaid PayByTraffic EIPs'],
      ['201', 'must be an integer from 1 to 200 Mbit/s for PostPaid PayByTraffic EIPs'],
      ['5.5', 'must be an integer from 1 to 200 Mbit/s'],
      ['-1', 'must be an integer from 1 to 200 Mbit/s'],
      ['5M', 'must be an integer from 1 to 200 Mbit/s'],
      ['', 'must be an integer from 1 to 200 Mbit/s'],
    ]),
    ...underEveryKey<[string, string]>('internetChargeType', [
      ['PayByHour', 'must be PayByTraffic or PayByBandwidth'],
      ['paybytraffic', 'must be PayByTraffic or PayByBandwidth (the case matters)'],
    ]),
    ...underEveryKey<[string, string]>('instanceChargeType', [['Monthly', 'must be PostPaid or PrePaid']]),
    ...underEveryKey<[string, string]>('isp', [
      ['CMCC', 'must be one of BGP, BGP_PRO, ChinaTelecom, ChinaUnicom, ChinaMobile, ChinaTelecom_L2'],
      ['bgp', '(the case matters)'],
    ]),
    ...underEveryKey<[string, string]>('commonBandwidthPackageId', [
      ['bwp-bp1a2b3c', 'must be a common bandwidth package id that looks like cbwp-bp1…'],
    ]),
    ...underEveryKey<[string, string]>('publicIpAddressPoolId', [
      ['pool-bp1a2b3c', 'must be an IP address pool id that looks like pippool-bp1…'],
    ]),
    ...underEveryKey<[string, string]>('resourceGroupId', [
      ['rg-ACFMWQ', 'must be a resource group id that looks like rg-acfm…'],
      ['rg-abc', '"rg-" then at least 6 lowercase letters or digits'],
    ]),
    ...underEveryKey<[string, string]>('name', [
      [long(129), 'must be at most 128 characters long (it has 129)'],
      ['http://example.com', 'must not start with http:// or https://'],
      ['HTTPS://example.com', 'must not start with http:// or https://'],
    ]),
    ...underEveryKey<[string, string]>('description', [
      [long(257), 'must be at most 256 characters long (it has 257)'],
    ]),
    ...underEveryKey<[string, string]>('securityProtectionTypes', [
      ['AntiDDoS_Basic', 'must be a comma-separated list of AntiDDoS_Enhanced (not "AntiDDoS_Basic")'],
      ['AntiDDoS_Enhanced,', 'must be a comma-separated list of AntiDDoS_Enhanced (not "")'],
      [Array(11).fill('AntiDDoS_Enhanced').join(','), 'lists 11 types; at most 10 are allowed'],
    ]),
    ...underEveryKey<[string, string]>('tags', [['team=games', 'it is not valid JSON']]),
  ])('%s: %j %s', (key, value, fragment) => {
    expect(problemsOf({ [key]: value })).toEqual([
      { annotation: key, value, message: expect.stringContaining(fragment) },
    ]);
  });

  it.each(
    annotationKeys('instanceId').flatMap((key) =>
      ['i-bp1abcdefg', 'eip-abc', 'EIP-BP1ABCDEFG', ''].map((v) => [key, v]),
    ),
  )('%s: %j', (key, value) => {
    expect(parseEipAnnotations({ [key]: value })).toEqual({
      kind: 'invalid',
      warnings: [],
      problems: [
        {
          annotation: key,
          value,
          message:
            'must be an EIP instance id that looks like eip-bp1… ("eip-" then at least 6 lowercase letters or digits)',
        },
      ],
    });
  });

  it('reports every rule an EIP name breaks', () => {
    expect(problemsOf({ [`${K}eip-name`]: `https://${long(130)}` }).map((p) => p.message)).toEqual([
      'must be at most 128 characters long (it has 138)',
      'must not start with http:// or https://',
    ]);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(autoRequestOf({ [`${K}eip-name`]: '😀'.repeat(128) }).name).toHaveLength(256);
  });

  it('trims before checking but reports the value as written', () => {
    expect(autoRequestOf({ [`${K}eip-isp`]: ' BGP\n' }).isp).toBe('BGP');
    expect(problemsOf({ [`${K}eip-isp`]: ' CMCC ' })[0]?.value).toBe(' CMCC ');
  });

  it('reads as a sentence in a denial', () => {
    expect(describeProblem(problemsOf({ [`${N}eip-bandwidth`]: '0' })[0] as AnnotationProblem)).toBe(
      `${N}eip-bandwidth="0": must be an integer from 1 to 200 Mbit/s for PostPaid PayByTraffic EIPs`,
    );
  });
});

describe('bandwidth limits follow the charge types', () => {
  const charged = (internet: string | undefined, instance: string | undefined, bandwidth: string): Annotations => ({
    ...(internet ? { [`${K}eip-internet-charge-type`]: internet } : {}),
    ...(instance ? { [`${K}eip-instance-charge-type`]: instance } : {}),
    [`${K}eip-bandwidth`]: bandwidth,
  });

  it.each<[string | undefined, string | undefined, string]>([
    [undefined, undefined, '200'],
    ['PayByTraffic', 'PostPaid', '200'],
    ['PayByBandwidth', undefined, '500'],
    ['PayByBandwidth', 'PostPaid', '500'],
    ['PayByBandwidth', 'PrePaid', '1000'],
  ])('%s %s takes %s Mbit/s', (internet, instance, bandwidth) => {
    expect(autoRequestOf(charged(internet, instance, bandwidth)).bandwidth).toBe(Number(bandwidth));
  });

  it.each<[string | undefined, string | undefined, string, string]>([
    [undefined, undefined, '201', 'must be an integer from 1 to 200 Mbit/s for PostPaid PayByTraffic EIPs'],
    ['PayByBandwidth', undefined, '501', 'must be an integer from 1 to 500 Mbit/s for PostPaid PayByBandwidth EIPs'],
    ['PayByBandwidth', 'PostPaid', '0', 'must be an integer from 1 to 500 Mbit/s for PostPaid PayByBandwidth EIPs'],
    ['PayByBandwidth', 'PrePaid', '1001', 'must be an integer from 1 to 1000 Mbit/s for PrePaid EIPs'],
  ])('%s %s refuses %s Mbit/s', (internet, instance, bandwidth, message) => {
    expect(problemsOf(charged(internet, instance, bandwidth))).toEqual([
      { annotation: `${K}eip-bandwidth`, value: bandwidth, message },
    ]);
  });

  it('falls back to the widest limit while a charge type is itself wrong', () => {
    const problems = problemsOf(charged('ByTheHour', undefined, '1001'));
    expect(problems.map((p) => p.annotation)).toEqual([`${K}eip-internet-charge-type`, `${K}eip-bandwidth`]);
    expect(problems[1]?.message).toBe(
      'must be an integer from 1 to 1000 Mbit/s (the exact limit depends on the charge types, which are not valid yet)',
    );
    expect(problemsOf(charged('ByTheHour', undefined, '900')).map((p) => p.annotation)).toEqual([
      `${K}eip-internet-charge-type`,
    ]);
  });

  it.each<[string | undefined, string]>([
    [undefined, ' (the default)'],
    ['PayByTraffic', ''],
  ])('PrePaid with internet charge type %s is a problem', (internet, defaulted) => {
    const problems = problemsOf(charged(internet, 'PrePaid', '10'));
    expect(problems).toEqual([
      {
        annotation: `${K}eip-instance-charge-type`,
        value: 'PrePaid',
        message:
          `PrePaid EIPs must be billed PayByBandwidth, but the internet charge type is PayByTraffic${defaulted}; ` +
          `set ${K}eip-internet-charge-type: "PayByBandwidth"`,
      },
    ]);
  });

  it('names the legacy key in the PrePaid advice when that is the one written', () => {
    expect(
      problemsOf({ 'k8s.aliyun.com/eip-charge-type': 'PayByTraffic', [`${N}eip-instance-charge-type`]: 'PrePaid' })[0]
        ?.message,
    ).toContain('set k8s.aliyun.com/eip-charge-type: "PayByBandwidth"');
  });
});

describe('eip-tags', () => {
  const key = `${N}eip-tags`;
  const messagesFor = (tags: string): string[] => problemsOf({ [key]: tags }).map((p) => p.message);
  const manyTags = (n: number): string =>
    JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`])));

  it.each<[string, string[]]>([
    [
      'not json',
      [
        'must be a JSON object of tag keys to string values, such as {"team":"games","env":"prod"}; it is not valid JSON',
      ],
    ],
    ['["team"]', ['must be a JSON object of tag keys to string values, such as {"team":"games","env":"prod"}']],
    ['null', ['must be a JSON object of tag keys to string values']],
    ['"team"', ['must be a JSON object of tag keys to string values']],
    ['{"team":1,"env":true,"ok":"x"}', ['tag "team" must have a string value', 'tag "env" must have a string value']],
    ['{"a/b":null}', ['tag "a/b" must have a string value']],
    ['{"~x":{}}', ['tag "~x" must have a string value']],
    [manyTags(17), ['has 17 tags; at most 16 are allowed (an EIP holds 20 and podeip adds 4 of its own)']],
    ['{"":"x"}', ['tag keys must not be empty']],
    [JSON.stringify({ [long(129)]: 'x' }), ['must be at most 128 characters long']],
    ['{"aliyun:owner":"x"}', ['tag key "aliyun:owner" must not start with "aliyun" or "acs:"']],
    ['{"acs:owner":"x"}', ['tag key "acs:owner" must not start with "aliyun" or "acs:"']],
    ['{"AliyunTeam":"x"}', ['must not start with "aliyun" or "acs:"']],
    ['{"see-http://x":"x"}', ['tag key "see-http://x" must not contain http:// or https://']],
    ['{"podeip.io/owner":"me"}', ['tag key "podeip.io/owner" must not start with "podeip.io/", which is reserved']],
    [JSON.stringify({ team: long(129) }), ['the value of tag key "team" must be at most 128 characters long']],
  ])('%s', (tags, fragments) => {
    const messages = messagesFor(tags);
    expect(messages).toHaveLength(fragments.length);
    fragments.forEach((fragment, i) => expect(messages[i]).toContain(fragment));
  });

  it('takes 16 tags', () => {
    expect(Object.keys(autoRequestOf({ [key]: manyTags(16) }).tags ?? {})).toHaveLength(16);
  });

  it('reports every bad tag at once', () => {
    expect(messagesFor('{"aliyun:a":"1","podeip.io/b":"2","c":"' + long(200) + '"}')).toHaveLength(3);
  });
});
