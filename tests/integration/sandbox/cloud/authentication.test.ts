/**
 * The gateway checks as the real SDK meets them: signatures (ACS3 and the legacy v1), keys, STS tokens,
 * the credential chain's URI provider, RAM denials, dates, nonces, RegionId and routing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import CredentialModule, { Config as CredentialConfig } from '@alicloud/credentials';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import {
  $Ecs,
  $Vpc,
  defaultExport,
  ecsClient,
  sdkError,
  signedRequest,
  startTestSandbox,
  v1Request,
  vpcClient,
} from './support.js';

const Credential = defaultExport(CredentialModule);

let sandbox: CloudSandbox;
let regionId: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  regionId = sandbox.regionId;
});
afterAll(() => sandbox.close());

const describeAll = (client = vpcClient(sandbox)) =>
  client.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId }));

describe('signatures and keys', () => {
  it('hands out a key that cannot be mistaken for a real one', () => {
    expect(sandbox.accessKeyId).toMatch(/^SANDBOX/);
    expect(sandbox.accessKeyId).not.toMatch(/^LTAI/);
  });

  it('accepts parameters whose URL and signing encodings differ (space, !*()~, unicode, slashes)', async () => {
    const vpc = vpcClient(sandbox);
    const name = "pod a/b !*()~' 名前";
    const allocated = await vpc.allocateEipAddress(
      new $Vpc.AllocateEipAddressRequest({
        regionId,
        name,
        tag: [new $Vpc.AllocateEipAddressRequestTag({ key: 'k8s.pod/ns', value: 'a b!*()~' })],
      }),
    );
    const found = await vpc.describeEipAddresses(
      new $Vpc.DescribeEipAddressesRequest({
        regionId,
        tag: [new $Vpc.DescribeEipAddressesRequestTag({ key: 'k8s.pod/ns', value: 'a b!*()~' })],
      }),
    );
    expect(found.body?.eipAddresses?.eipAddress?.map((eip) => [eip.allocationId, eip.name])).toEqual([
      [allocated.body?.allocationId, name],
    ]);
  });

  it('refuses a wrong secret with SignatureDoesNotMatch, a ClientError', async () => {
    const error = await sdkError(describeAll(vpcClient(sandbox, { accessKeySecret: 'not-the-secret' })));
    expect(error).toMatchObject({ name: 'ClientError', code: 'SignatureDoesNotMatch', statusCode: 400 });
    expect(error.requestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(Object.keys(error.data ?? {}).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    expect(error.data?.HostId).toBe('vpc.aliyuncs.com');
  });

  it('refuses an unknown key with 404 InvalidAccessKeyId.NotFound', async () => {
    const error = await sdkError(describeAll(vpcClient(sandbox, { accessKeyId: 'SANDBOXAKNOSUCHKEY' })));
    expect(error).toMatchObject({ name: 'ClientError', code: 'InvalidAccessKeyId.NotFound', statusCode: 404 });
  });

  it('verifies the legacy HMAC-SHA1 (v1) signature too', async () => {
    const legacy = vpcClient(sandbox, {}, { signatureAlgorithm: 'v2' });
    const response = await describeAll(legacy);
    expect(response.statusCode).toBe(200);
    const error = await sdkError(
      describeAll(vpcClient(sandbox, { accessKeySecret: 'wrong' }, { signatureAlgorithm: 'v2' })),
    );
    expect(error).toMatchObject({ name: 'ClientError', code: 'SignatureDoesNotMatch' });
  });

  it('takes v1 calls as a GET query or a POST form, with the action as a parameter', async () => {
    const viaGet = await v1Request(sandbox, {
      method: 'GET',
      action: 'DescribeEipAddresses',
      params: { RegionId: regionId, PageSize: '5' },
    });
    expect(viaGet).toMatchObject({ status: 200, body: { PageSize: 5 } });
    const viaForm = await v1Request(sandbox, {
      method: 'POST',
      action: 'DescribeNetworkInterfaces',
      version: '2014-05-26',
      params: { RegionId: regionId },
    });
    expect(viaForm).toMatchObject({ status: 200, body: { NetworkInterfaceSets: { NetworkInterfaceSet: [] } } });
  });

  it('refuses a date more than 15 minutes off, and a nonce used twice', async () => {
    const stale = new Date(Date.now() - 16 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const expired = await signedRequest(sandbox, {
      action: 'DescribeEipAddresses',
      query: { RegionId: regionId },
      date: stale,
    });
    expect(expired.status).toBe(400);
    expect(expired.body.Code).toBe('InvalidTimeStamp.Expired');

    const nonce = 'a'.repeat(64);
    const first = await signedRequest(sandbox, {
      action: 'DescribeEipAddresses',
      query: { RegionId: regionId },
      nonce,
    });
    const replayed = await signedRequest(sandbox, {
      action: 'DescribeEipAddresses',
      query: { RegionId: regionId },
      nonce,
    });
    expect(first.status).toBe(200);
    expect(replayed).toMatchObject({ status: 400, body: { Code: 'SignatureNonceUsed' } });
  });

  it('answers JSON with a request id header and an upper-case RequestId', async () => {
    const answer = await signedRequest(sandbox, { action: 'DescribeEipAddresses', query: { RegionId: regionId } });
    expect(answer.headers['content-type']).toBe('application/json;charset=utf-8');
    expect(answer.headers['x-acs-request-id']).toBe(answer.body.RequestId);
  });
});

describe('STS credentials', () => {
  it('accepts an STS triple and refuses it once expired or with another token', async () => {
    const sts = sandbox.controls.addAccessKey({ sts: true });
    expect(sts.accessKeyId).toMatch(/^STS\.SANDBOX/);
    expect((await describeAll(vpcClient(sandbox, sts))).statusCode).toBe(200);

    const wrongToken = await sdkError(describeAll(vpcClient(sandbox, { ...sts, securityToken: 'CAISnot-the-token' })));
    expect(wrongToken).toMatchObject({ name: 'ClientError', code: 'InvalidSecurityToken.MismatchWithAccessKey' });

    const expired = sandbox.controls.addAccessKey({ sts: true, ttlSeconds: 0 });
    expect(await sdkError(describeAll(vpcClient(sandbox, expired)))).toMatchObject({
      name: 'ClientError',
      code: 'InvalidSecurityToken.Expired',
    });
  });

  it('serves the SDK credential chain through ALIBABA_CLOUD_CREDENTIALS_URI', async () => {
    const credential = new Credential(
      new CredentialConfig({ type: 'credentials_uri', credentialsURI: sandbox.credentialsUri }),
    );
    const vpc = vpcClient(sandbox, {}, { accessKeyId: undefined, accessKeySecret: undefined, credential });
    expect((await describeAll(vpc)).statusCode).toBe(200);
  });
});

describe('RAM authorization', () => {
  it('refuses a denied action with 403 Forbidden.RAM and an AccessDeniedDetail', async () => {
    const restricted = sandbox.controls.addAccessKey({ deniedActions: ['TagResources'] });
    const vpc = vpcClient(sandbox, restricted);
    expect((await describeAll(vpc)).statusCode).toBe(200);
    const error = await sdkError(
      vpc.tagResources(
        new $Vpc.TagResourcesRequest({
          regionId,
          resourceType: 'EIP',
          resourceId: ['eip-x'],
          tag: [new $Vpc.TagResourcesRequestTag({ key: 'a', value: 'b' })],
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'ClientError', code: 'Forbidden.RAM', statusCode: 403 });
    expect(error.accessDeniedDetail).toMatchObject({
      AuthAction: 'vpc:TagResources',
      NoPermissionType: 'ImplicitDeny',
      AuthPrincipalType: 'SubUser',
    });
  });
});

describe('routing and RegionId', () => {
  it('refuses a call without RegionId (the SDK never adds it from the client config)', async () => {
    const error = await sdkError(vpcClient(sandbox).describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({})));
    expect(error).toMatchObject({ name: 'ClientError', code: 'MissingRegionId', statusCode: 400 });
    expect(error.message).toContain('RegionId is mandatory for this action.');
  });

  it('refuses a region the sandbox does not serve', async () => {
    const error = await sdkError(
      vpcClient(sandbox).describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId: 'cn-shanghai' })),
    );
    expect(error).toMatchObject({ name: 'ClientError', code: 'InvalidRegionId.NotFound', statusCode: 404 });
  });

  it('answers 404 InvalidApi.NotFound for an action it does not know, or under the other product version', async () => {
    const unknown = await signedRequest(sandbox, { action: 'DescribeFrobnicators', query: { RegionId: regionId } });
    expect(unknown).toMatchObject({ status: 404, body: { Code: 'InvalidApi.NotFound' } });
    const wrongProduct = await signedRequest(sandbox, {
      action: 'DescribeNetworkInterfaces',
      version: '2016-04-28',
      query: { RegionId: regionId },
    });
    expect(wrongProduct).toMatchObject({ status: 404, body: { Code: 'InvalidApi.NotFound' } });
  });

  it('serves VPC and ECS on one endpoint, told apart by x-acs-version', async () => {
    const enis = await ecsClient(sandbox).describeNetworkInterfaces(
      new $Ecs.DescribeNetworkInterfacesRequest({ regionId }),
    );
    expect(enis.statusCode).toBe(200);
    const error = await sdkError(
      ecsClient(sandbox).describeNetworkInterfaces(new $Ecs.DescribeNetworkInterfacesRequest({})),
    );
    expect(error.data?.HostId).toBe('ecs-cn-hangzhou.aliyuncs.com');
  });
});
