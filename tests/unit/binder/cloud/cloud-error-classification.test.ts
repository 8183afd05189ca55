/**
 * Classification of what the SDK really throws: each error object below is obtained by making the real
 * VPC SDK call the cloud stand-in with that answer injected (or with a timeout, or a closed port), so the
 * table follows the SDK's own error classes and fields rather than hand-made imitations.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  classifyCloudError,
  kindOfApiCode,
  redactSecrets,
  DeadlineExceededError,
  CredentialsUnavailableError,
} from '../../../../binder/cloud/cloud-error-classification.js';
import { CloudError, type CloudErrorKind } from '../../../../binder/cloud/eip-cloud.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  $Vpc,
  sdkError,
  startTestSandbox,
  vpcClient,
  type SdkError,
} from '../../../integration/sandbox/cloud/support.js';

/** [code the stand-in answers with, kind, CloudError code, HTTP status]. */
const ANSWERS: Array<[string, CloudErrorKind, string, number | undefined]> = [
  ['InternalError', 'transient', 'InternalError', 500],
  ['ServiceUnavailable', 'transient', 'ServiceUnavailable', 503],
  ['SystemBusy', 'transient', 'SystemBusy', 500],
  ['ConnectionReset', 'transient', 'ECONNRESET', undefined],
  ['BadGateway', 'transient', 'BadResponse', undefined],
  ['Throttling.User', 'throttled', 'Throttling.User', 400],
  ['Throttling', 'throttled', 'Throttling', 400],
  ['Throttling.Api', 'throttled', 'Throttling.Api', 400],
  ['TaskConflict', 'conflict', 'TaskConflict', 400],
  [
    'TaskConflict.AssociateGlobalAccelerationInstance',
    'conflict',
    'TaskConflict.AssociateGlobalAccelerationInstance',
    400,
  ],
  ['OperationConflict', 'conflict', 'OperationConflict', 409],
  ['LastTokenProcessing', 'conflict', 'LastTokenProcessing', 403],
  ['BandwidthPackageOperation.conflict', 'conflict', 'BandwidthPackageOperation.conflict', 400],
  ['IncorrectEipStatus', 'incorrect-status', 'IncorrectEipStatus', 400],
  ['QuotaExceeded.Eip', 'quota', 'QuotaExceeded.Eip', 400],
  ['InsufficientBalance', 'quota', 'InsufficientBalance', 400],
  ['Forbidden.RAM', 'permission', 'Forbidden.RAM', 403],
  ['Forbbiden', 'permission', 'Forbbiden', 400],
  ['NoPermission', 'permission', 'NoPermission', 400],
  ['InvalidAccessKeyId.NotFound', 'permission', 'InvalidAccessKeyId.NotFound', 404],
  ['InvalidAccessKeyId.Inactive', 'permission', 'InvalidAccessKeyId.Inactive', 400],
  ['SignatureDoesNotMatch', 'permission', 'SignatureDoesNotMatch', 400],
  ['InvalidSecurityToken.Expired', 'permission', 'InvalidSecurityToken.Expired', 400],
  ['InvalidAllocationId.NotFound', 'not-found', 'InvalidAllocationId.NotFound', 404],
  ['InvalidInstanceId.NotFound', 'not-found', 'InvalidInstanceId.NotFound', 400],
  ['InvalidBandwidthPackageId.NotFound', 'not-found', 'InvalidBandwidthPackageId.NotFound', 404],
  // A wrong region is configuration, not a vanished resource: it must never read as "gone".
  ['InvalidRegionId.NotFound', 'invalid', 'InvalidRegionId.NotFound', 404],
  ['InvalidParameter', 'invalid', 'InvalidParameter', 400],
  ['MissingPrivateIpAddress', 'invalid', 'MissingPrivateIpAddress', 400],
  ['IdempotentParameterMismatch', 'invalid', 'IdempotentParameterMismatch', 400],
  ['Forbidden.ChargeTypeIsPrepaid', 'invalid', 'Forbidden.ChargeTypeIsPrepaid', 400],
  ['InvalidAssociation.Duplicated', 'invalid', 'InvalidAssociation.Duplicated', 400],
  ['OperationDenied', 'invalid', 'OperationDenied', 400],
  ['SomethingNobodyDocumented', 'unknown', 'SomethingNobodyDocumented', 400],
];

let sandbox: CloudSandbox;
const answered = new Map<string, SdkError>();
let timeout: SdkError;
let refused: SdkError;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  const vpc = vpcClient(sandbox);
  const describe = (client = vpc) =>
    client.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId: sandbox.regionId }));
  for (const [code] of ANSWERS) {
    sandbox.controls.setFaults({ failureRate: 1, codes: [code] });
    answered.set(code, await sdkError(describe()));
  }
  sandbox.controls.setFaults({ latencyMs: 400 });
  timeout = await sdkError(describe(vpcClient(sandbox, {}, { readTimeout: 100, connectTimeout: 100 })));
  sandbox.controls.setFaults({});
  const closedPort = vpcClient(sandbox, {}, { endpoint: '127.0.0.1:1' });
  refused = await sdkError(describe(closedPort));
});
afterAll(() => sandbox.close());

describe('classifyCloudError on real SDK errors', () => {
  it.each(ANSWERS)('%s → %s', (answer, kind, code, httpStatus) => {
    const sdk = answered.get(answer);
    const error = classifyCloudError(sdk, 'DescribeEipAddresses');
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({
      kind,
      code,
      api: 'DescribeEipAddresses',
      httpStatus,
      retryable: ['throttled', 'transient', 'conflict'].includes(kind),
    });
    if (httpStatus !== undefined) expect(error.requestId).toMatch(/^[0-9A-F-]{36}$/);
    if (httpStatus !== undefined) expect(error.requestId).toBe(sdk?.requestId);
    expect(error.message.startsWith(`DescribeEipAddresses failed: ${code}: `)).toBe(true);
    expect(error.message).not.toMatch(/https?:\/\/|RegionId=/);
  });

  it('keeps the retry-after of a throttled answer', () => {
    expect(classifyCloudError(answered.get('Throttling.User'), 'AssociateEipAddress').retryAfterMs).toBe(1000);
  });

  it('names the server message, not the SDK wrapping', () => {
    expect(classifyCloudError(answered.get('QuotaExceeded.Eip'), 'AllocateEipAddress').message).toMatch(
      /^AllocateEipAddress failed: QuotaExceeded\.Eip: Elastic IP address quota exceeded \(request id [0-9A-F-]{36}\)$/,
    );
  });

  it('a read timeout is transient, without the URL the SDK puts in its message', () => {
    expect(timeout.name).toBe('RequestTimeoutError');
    expect(timeout.message).toContain('http://');
    const error = classifyCloudError(timeout, 'AllocateEipAddress');
    expect(error).toMatchObject({ kind: 'transient', code: expect.stringMatching(/^(Read|Connect)Timeout$/) });
    expect(error.message).not.toContain('http://');
  });

  it('a refused connection is transient', () => {
    expect(classifyCloudError(refused, 'ReleaseEipAddress')).toMatchObject({
      kind: 'transient',
      code: 'ECONNREFUSED',
      httpStatus: undefined,
    });
  });
});

describe('classifyCloudError on the adapter’s own errors', () => {
  it('a missed deadline is a transient RequestTimeout', () => {
    expect(classifyCloudError(new DeadlineExceededError(250), 'AssociateEipAddress')).toMatchObject({
      kind: 'transient',
      code: 'RequestTimeout',
    });
  });

  it('no credentials from the chain is a permission problem, scrubbed', () => {
    const error = classifyCloudError(
      new CredentialsUnavailableError('failed with AccessKeySecret=abcdef123456 at https://sts.example/?token=x'),
      'DescribeEipAddresses',
    );
    expect(error).toMatchObject({ kind: 'permission', code: 'CredentialsUnavailable' });
    expect(error.message).not.toMatch(/abcdef123456|token=x/);
  });

  it('passes a CloudError through unchanged', () => {
    const original = new CloudError({ kind: 'quota', code: 'QuotaExceeded.Eip', api: 'AllocateEipAddress' }, 'x');
    expect(classifyCloudError(original, 'AllocateEipAddress')).toBe(original);
  });

  it('a 5xx without a code is transient; anything else unrecognised is unknown', () => {
    expect(classifyCloudError({ name: 'ServerError', statusCode: 502 }, 'DescribeEipAddresses')).toMatchObject({
      kind: 'transient',
      code: 'HTTP502',
    });
    expect(classifyCloudError(new Error('RegionId is empty'), 'DescribeEipAddresses')).toMatchObject({
      kind: 'unknown',
      code: 'Error',
    });
  });
});

describe('kindOfApiCode for codes the notes list but the stand-in never sends', () => {
  it.each([
    ['IncorrectStatus.NatGateway', 'conflict'],
    ['IncorrectInstanceStatus', 'conflict'],
    ['Forbidden.RegionNotFound', 'permission'],
    ['InvalidInstanId.NotFound', 'not-found'],
    ['InvalidParams.NotFound', 'not-found'],
    ['InvalidApi.NotFound', 'invalid'],
    ['InvalidTimeStamp.Expired', 'invalid'],
    ['SignatureNonceUsed', 'transient'],
    ['Throttling.DeepPageSkip', 'throttled'],
  ] as Array<[string, CloudErrorKind]>)('%s → %s', (code, kind) => {
    expect(kindOfApiCode(code, 400)).toBe(kind);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['a known value anywhere', 'key SANDBOXAK123456 refused', ['SANDBOXAK123456'], 'key *** refused'],
    [
      'signature and credential fields',
      'Credential=AKID1,SignedHeaders=host,Signature=0123abcd',
      [],
      'Credential=***,SignedHeaders=host,Signature=***',
    ],
    // Built at run time so the repository holds nothing shaped like a real key.
    ['real key and STS shapes', `${'LTAI'}5tAbCdEfGhIjKlMn and STS.NUgYrLnoC37mZZCNnAbCd`, [], '*** and ***'],
    [
      'URLs with their query',
      'socket hang upPOST http://127.0.0.1:1/?RegionId=cn-hangzhou&Signature=x failed.',
      [],
      'socket hang up<url> failed.',
    ],
    ['short values are left alone', 'abc def', ['abc'], 'abc def'],
  ])('%s', (_label, text, secrets, expected) => {
    expect(redactSecrets(text, secrets)).toBe(expected);
  });
});
