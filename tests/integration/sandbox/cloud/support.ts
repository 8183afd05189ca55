/**
 * Shared by the cloud stand-in tests: a fast sandbox, the real SDK clients built as production builds
 * them, polling, error capture, a strict check of raw bodies against the SDK's own models, and raw signed
 * requests for the cases the SDK never produces (a stale date, a reused nonce).
 */
import EcsModule, * as $Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import VpcModule, * as $Vpc from '@alicloud/vpc20160428';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { rpcActionParams } from '../../../../binder/cloud/vpc-api.js';
import { startCloudSandbox } from '../../../../sandbox/cloud/index.js';
import { pollUntil } from '../../poll.js';
import type { CloudSandbox, CloudSandboxOptions } from '../../../../sandbox/cloud/index.js';

export { $Ecs, $Vpc };

/**
 * Under Node's ESM loader a CommonJS package's default import is its whole `module.exports`, so the SDK
 * client class is that object's `.default`; other loaders hand the class itself. Both shapes are accepted.
 */
export function defaultExport<T>(module: { default: T }): T {
  return (module as { default?: T }).default ?? (module as unknown as T);
}

export const VpcClient = defaultExport(VpcModule);
export const EcsClient = defaultExport(EcsModule);
export type VpcClient = InstanceType<typeof VpcClient>;
export type EcsClient = InstanceType<typeof EcsClient>;

/** Short delays and windows so a whole lifecycle runs in well under a second. */
export function startTestSandbox(options: CloudSandboxOptions = {}): Promise<CloudSandbox> {
  return startCloudSandbox({
    seed: 20260101,
    transitionDelays: { associateMs: 40, unassociateMs: 40, releaseMs: 40, bandwidthPackageMs: 30 },
    ...options,
  });
}

interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

function clientConfig(
  sandbox: CloudSandbox,
  credentials: Partial<Credentials> = {},
  extra: Record<string, unknown> = {},
): $OpenApiUtil.Config {
  return new $OpenApiUtil.Config({
    accessKeyId: credentials.accessKeyId ?? sandbox.accessKeyId,
    accessKeySecret: credentials.accessKeySecret ?? sandbox.accessKeySecret,
    ...(credentials.securityToken !== undefined ? { securityToken: credentials.securityToken } : {}),
    regionId: sandbox.regionId,
    endpoint: sandbox.endpoint,
    protocol: 'http',
    readTimeout: 10000,
    connectTimeout: 5000,
    ...extra,
  });
}

export function vpcClient(
  sandbox: CloudSandbox,
  credentials?: Partial<Credentials>,
  extra?: Record<string, unknown>,
): VpcClient {
  return new VpcClient(clientConfig(sandbox, credentials, extra));
}

export function ecsClient(
  sandbox: CloudSandbox,
  credentials?: Partial<Credentials>,
  extra?: Record<string, unknown>,
): EcsClient {
  return new EcsClient(clientConfig(sandbox, credentials, extra));
}

/** What the SDK throws, with the fields the binder reads. */
export interface SdkError {
  name: string;
  code: string;
  statusCode?: number;
  requestId?: string;
  retryAfter?: number;
  accessDeniedDetail?: Record<string, unknown> | null;
  data?: Record<string, unknown>;
  message: string;
}

export async function sdkError(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to fail, it succeeded');
}

export async function eipStatus(vpc: VpcClient, regionId: string, allocationId: string): Promise<string | undefined> {
  const response = await vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId, allocationId }));
  return response.body?.eipAddresses?.eipAddress?.[0]?.status;
}

/** Polls DescribeEipAddresses as the binder will, until the EIP is `status` (or gone, for undefined). */
export async function waitForEipStatus(
  vpc: VpcClient,
  regionId: string,
  allocationId: string,
  status: string | undefined,
  timeoutMs = 3000,
): Promise<void> {
  await pollUntil(
    () => eipStatus(vpc, regionId, allocationId),
    (last) => last === status,
    (last) => `${allocationId} is still ${last ?? 'gone'}, expected ${status ?? 'gone'},`,
    timeoutMs,
  );
}

/** A model class as the SDK generates it: wire names and declared types per field. */
export interface SdkModel {
  names(): Record<string, string>;
  types(): Record<string, unknown>;
}

/**
 * Every way a raw body differs from what the SDK model declares: a field the model does not know (the SDK
 * would drop it silently), or a value of another JSON type than declared (the SDK coerces some and throws
 * on others; either way the real API would not send it).
 */
export function shapeProblems(value: unknown, model: SdkModel, path = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`${path || '(body)'}: expected an object`];
  const wireToField = new Map(Object.entries(model.names()).map(([field, wire]) => [wire, field]));
  const types = model.types();
  return Object.entries(value).flatMap(([wire, item]) => {
    const field = wireToField.get(wire);
    const where = path === '' ? wire : `${path}.${wire}`;
    if (field === undefined) return [`${where}: not in the SDK model`];
    return typeProblems(item, types[field], where);
  });
}

function typeProblems(value: unknown, type: unknown, where: string): string[] {
  if (typeof type === 'string') {
    if (['any', 'map', 'Readable', 'Writable', 'Buffer'].includes(type)) return [];
    return typeof value === type
      ? []
      : [`${where}: ${JSON.stringify(value)} is a ${typeof value}, the SDK declares ${type}`];
  }
  if (typeof type === 'function') return shapeProblems(value, type as unknown as SdkModel, where);
  const declared = type as { type?: string; itemType?: unknown };
  if (declared.type === 'array') {
    if (!Array.isArray(value)) return [`${where}: not an array`];
    return value.flatMap((item, index) => typeProblems(item, declared.itemType, `${where}[${index}]`));
  }
  if (declared.type === 'map') return typeof value === 'object' && value !== null ? [] : [`${where}: not an object`];
  return [`${where}: unknown declared type ${JSON.stringify(type)}`];
}

/** Calls an action through the SDK's own request path and returns the body before the SDK casts it. */
export async function rawBody(
  client: VpcClient | EcsClient,
  action: string,
  version: string,
  query: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const params = rpcActionParams(action, version);
  const request = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(query) });
  const response = await client.callApi(params, request, {} as Parameters<VpcClient['callApi']>[2]);
  return response.body as Record<string, unknown>;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/**
 * A request signed by the SDK's own signer (OpenApiUtil.getAuthorization), with the date and nonce under
 * the test's control, sent over plain HTTP.
 */
export function signedRequest(
  sandbox: CloudSandbox,
  input: {
    action: string;
    version?: string;
    query: Record<string, string>;
    date?: string;
    nonce?: string;
    secret?: string;
  },
): Promise<RawAnswer> {
  const headers: Record<string, string> = {
    host: sandbox.endpoint,
    'x-acs-version': input.version ?? '2016-04-28',
    'x-acs-action': input.action,
    'x-acs-date': input.date ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': input.nonce ?? createHash('sha256').update(String(Math.random())).digest('hex'),
    'x-acs-content-sha256': createHash('sha256').update('').digest('hex'),
    accept: 'application/json',
  };
  const signable = { method: 'POST', pathname: '/', query: input.query, headers } as unknown as Parameters<
    typeof OpenApiUtil.getAuthorization
  >[0];
  headers.Authorization = OpenApiUtil.getAuthorization(
    signable,
    'ACS3-HMAC-SHA256',
    headers['x-acs-content-sha256'] ?? '',
    sandbox.accessKeyId,
    input.secret ?? sandbox.accessKeySecret,
  );
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port: sandbox.port,
        method: 'POST',
        path: `/?${new URLSearchParams(input.query).toString()}`,
        headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/**
 * A legacy v1 (HMAC-SHA1) call as the Go SDK and the aliyun CLI send it: action and version as parameters,
 * no x-acs headers, signed by the SDK's own v1 signer, sent as a GET query or a POST form.
 */
export function v1Request(
  sandbox: CloudSandbox,
  input: { method: 'GET' | 'POST'; action: string; version?: string; params: Record<string, string> },
): Promise<RawAnswer> {
  const params: Record<string, string> = {
    Action: input.action,
    Version: input.version ?? '2016-04-28',
    Format: 'JSON',
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    SignatureNonce: createHash('sha256').update(String(Math.random())).digest('hex'),
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    AccessKeyId: sandbox.accessKeyId,
    ...input.params,
  };
  params.Signature = OpenApiUtil.getRPCSignature(params, input.method, sandbox.accessKeySecret);
  const encoded = new URLSearchParams(params).toString();
  const asForm = input.method === 'POST';
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port: sandbox.port,
        method: input.method,
        path: asForm ? '/' : `/?${encoded}`,
        headers: asForm
          ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(encoded) }
          : {},
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(asForm ? encoded : undefined);
  });
}

/** A pod IP as Terway hands it out: a secondary IP on a secondary ENI attached to a node. */
export function podNetwork(sandbox: CloudSandbox, instanceId = 'i-sandboxnode0001'): { eniId: string; podIp: string } {
  const eni = sandbox.controls.createNetworkInterface({ type: 'Secondary', instanceId });
  return { eniId: eni.networkInterfaceId, podIp: sandbox.controls.assignPrivateIpAddress(eni.networkInterfaceId) };
}
