/**
 * Configuration mistakes surface when the adapter is built, naming the option, before any call is made.
 */
import { describe, expect, it } from '@jest/globals';
import { createAlibabaEipCloud, type AlibabaEipCloudOptions } from '../../../../binder/cloud/alibaba-eip-cloud.js';

const valid: AlibabaEipCloudOptions = {
  regionId: 'cn-hangzhou',
  vpcId: 'vpc-1',
  endpoint: '127.0.0.1:1',
  protocol: 'http',
  credentials: { kind: 'access-key', accessKeyId: 'TESTKEYID0001', accessKeySecret: 'test-secret-0001' },
};

describe('createAlibabaEipCloud options', () => {
  it('builds with the defaults, and with a bucket turned off by Infinity', () => {
    expect(() => createAlibabaEipCloud(valid)).not.toThrow();
    expect(() =>
      createAlibabaEipCloud({ ...valid, rateLimitsPerMinute: { DescribeEipAddresses: Number.POSITIVE_INFINITY } }),
    ).not.toThrow();
  });

  it.each([
    [
      'a zero rate limit',
      { rateLimitsPerMinute: { AssociateEipAddress: 0 } },
      /rateLimitsPerMinute\.AssociateEipAddress: rate limit must be/,
    ],
    ['a zero window', { rateLimitWindowMs: 0 }, /rate limit window must be > 0/],
    ['a negative read timeout', { readTimeoutMs: -1 }, /readTimeoutMs must be > 0/],
    ['no region', { regionId: '' }, /regionId and vpcId are required/],
    [
      'an access key without its secret',
      { credentials: { kind: 'access-key', accessKeyId: 'TESTKEYID0001', accessKeySecret: '' } },
      /accessKeySecret/,
    ],
    ['no attempts at all', { retry: { maxAttempts: 0 } }, /retry\.maxAttempts/],
  ] as Array<[string, Partial<AlibabaEipCloudOptions>, RegExp]>)('refuses %s', (_label, change, message) => {
    expect(() => createAlibabaEipCloud({ ...valid, ...change })).toThrow(message);
  });
});
