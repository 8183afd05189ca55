/**
 * The EipCloud port over Alibaba's real VPC and ECS APIs (openapi-core, with the VPC SDK's models):
 * client-side rate limits per API, retries that cannot act twice (same ClientToken), describes coalesced
 * by allocation id, and errors as CloudError.
 * Writes are fire-and-accept: the reconciler polls describeEips for the outcome.
 */
import OpenApiModule, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import { pino, type Logger } from 'pino';
import type { AutoEipRequest } from '../../api/eip-request.js';
import { CredentialSource, type CloudCredentials } from './alibaba-credentials.js';
import {
  EIP_PAGE_SIZE,
  allocateEipRequest,
  chunked,
  describeEipsRequest,
  describeNetworkInterfacesQuery,
  MAX_IPS_PER_ENI_DESCRIBE,
  networkInterfacesPageOf,
  eipStateOf,
  networkInterfaceMatchOf,
  type EipFilter,
  type EniIpFilter,
} from './alibaba-requests.js';
import { CloudCallRunner, DEFAULT_RETRY_POLICY, backoffDelayMs, type RetryPolicy } from './cloud-call-runner.js';
import { NO_CLOUD_METRICS, type CloudMetrics } from './cloud-metrics.js';
import { DescribeBatcher, MAX_IDS_PER_DESCRIBE } from './describe-batcher.js';
import {
  CLOUD_API_NAMES,
  CloudError,
  type AllocateEipOptions,
  type AllocatedEip,
  type ApiName,
  type BandwidthPackageMembershipInput,
  type BandwidthPackageRemoval,
  type EipAssociationInput,
  type EipCloud,
  type EipQuery,
  type EipState,
  type NetworkInterfaceMatch,
  type ReleaseOutcome,
} from './eip-cloud.js';
import { TokenBucket, bucketShapeForLimit } from './token-bucket.js';
import { sdkDefaultExport } from './sdk-module.js';
import * as $Vpc from './vpc-api.js';

const OpenApiClient = sdkDefaultExport(OpenApiModule);

/** ECS DescribeNetworkInterfaces as the ECS SDK sends it (RPC style, query parameters, ACS3 signature). */
const DESCRIBE_NETWORK_INTERFACES = $Vpc.rpcActionParams('DescribeNetworkInterfaces', '2014-05-26');

/**
 * Calls per minute per API, as published (docs/alibaba-cloud-api.md#rate-limits); DescribeNetworkInterfaces is not
 * published, 800 is Terway's own client-side default. The budget is per account and region and shared
 * with Terway, CCM and the console, so lower values are reasonable.
 */
export const DEFAULT_RATE_LIMITS_PER_MINUTE: Readonly<Record<ApiName, number>> = {
  AllocateEipAddress: 120,
  AssociateEipAddress: 120,
  UnassociateEipAddress: 120,
  DescribeEipAddresses: 600,
  ReleaseEipAddress: 600,
  AddCommonBandwidthPackageIp: 600,
  RemoveCommonBandwidthPackageIp: 600,
  DescribeNetworkInterfaces: 800,
};

export interface AlibabaEipCloudOptions {
  regionId: string;
  vpcId: string;
  /** host[:port], no scheme, for both products (the stand-in serves both); default: the SDK's per-region endpoints. */
  endpoint?: string;
  /** ECS's own host[:port] when `endpoint` names a VPC-only one; default: `endpoint`. */
  ecsEndpoint?: string;
  /** Default https. */
  protocol?: 'http' | 'https';
  /** Fixed, or asked on every call (a key file that rotates). */
  credentials: CloudCredentials | (() => CloudCredentials);
  /** Longest wait for an answer once the request is sent; default 10000. */
  readTimeoutMs?: number;
  /** Longest wait for a connection; default 5000. An attempt never outlasts the sum of both. */
  connectTimeoutMs?: number;
  /** Calls per window by API (default: DEFAULT_RATE_LIMITS_PER_MINUTE); Infinity turns an API's bucket off. */
  rateLimitsPerMinute?: Partial<Record<ApiName, number>>;
  /** The window those limits count in; default 60000, as the cloud counts. Tests shrink it with the server's. */
  rateLimitWindowMs?: number;
  /** How long describes by allocation id wait to share a call; default 100. */
  describeBatchWindowMs?: number;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  metrics?: CloudMetrics;
}

export const DEFAULT_READ_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_DESCRIBE_BATCH_WINDOW_MS = 100;
/** A listing longer than this is a filter the API ignored, not a real answer; stop rather than loop. */
const MAX_PAGES = 1000;

export function createAlibabaEipCloud(options: AlibabaEipCloudOptions): EipCloud {
  return new AlibabaEipCloud(options);
}

class AlibabaEipCloud implements EipCloud {
  private readonly regionId: string;
  private readonly vpcId: string;
  private readonly logger: Logger;
  private readonly vpc: $Vpc.VpcApi;
  private readonly ecs: InstanceType<typeof OpenApiClient>;
  private readonly runner: CloudCallRunner;
  private readonly batcher: DescribeBatcher<EipState>;
  private readonly eniBatcher: DescribeBatcher<NetworkInterfaceMatch>;

  constructor(options: AlibabaEipCloudOptions) {
    if (options.regionId === '' || options.vpcId === '')
      throw new Error('createAlibabaEipCloud: regionId and vpcId are required');
    this.regionId = options.regionId;
    this.vpcId = options.vpcId;
    this.logger = (options.logger ?? pino({ enabled: false })).child({
      component: 'eip-cloud',
      regionId: options.regionId,
    });
    const readTimeout = positive('readTimeoutMs', options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS);
    const connectTimeout = positive('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    const credentials = new CredentialSource(options.credentials, this.logger);
    const config = (endpoint: string | undefined): $OpenApiUtil.Config =>
      new $OpenApiUtil.Config({
        credential: credentials.asSdkCredential(),
        regionId: options.regionId,
        ...(endpoint !== undefined ? { endpoint } : {}),
        protocol: options.protocol ?? 'https',
        readTimeout,
        // The SDK's connectTimeout is the socket's idle timer: it also cuts the wait for an answer, and on
        // a kept-alive socket it is the only timer (readTimeout starts at connect). The larger of the two
        // lets an answer take readTimeoutMs on any socket; the runner's deadline bounds the whole attempt.
        connectTimeout: Math.max(connectTimeout, readTimeout),
      });
    this.vpc = new $Vpc.VpcApi(
      new OpenApiClient(config(options.endpoint ?? $Vpc.defaultVpcEndpoint(options.regionId))),
    );
    // The ECS SDK would find the regional endpoint itself; the generic client needs it spelled out.
    this.ecs = new OpenApiClient(
      config(options.ecsEndpoint ?? options.endpoint ?? `ecs.${options.regionId}.aliyuncs.com`),
    );
    this.runner = new CloudCallRunner({
      buckets: bucketsFor(options.rateLimitsPerMinute ?? {}, options.rateLimitWindowMs ?? 60_000),
      metrics: options.metrics ?? NO_CLOUD_METRICS,
      logger: this.logger,
      deadlineMs: readTimeout + connectTimeout,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      secrets: () => credentials.knownSecrets(),
    });
    const windowMs = options.describeBatchWindowMs ?? DEFAULT_DESCRIBE_BATCH_WINDOW_MS;
    this.batcher = new DescribeBatcher(
      async (ids) => new Map((await this.describePages({ allocationIds: ids })).map((eip) => [eip.allocationId, eip])),
      { windowMs },
    );
    this.eniBatcher = new DescribeBatcher((ips) => this.findInNetworkInterfaces({ secondaryIps: ips }, ips), {
      windowMs,
      maxIdsPerCall: MAX_IPS_PER_ENI_DESCRIBE,
    });
  }

  async findNetworkInterface(privateIp: string): Promise<NetworkInterfaceMatch | undefined> {
    if (privateIp === '') throw new Error('findNetworkInterface: privateIp is empty');
    // Secondary IPs first (Terway's shared-ENI mode, the common case), looked up with others asked for at
    // the same time; then an ENI's primary IP (exclusive-ENI mode, or a node's own NIC), which
    // PrivateIpAddress.N does not match and PrimaryIpAddress takes only one of.
    const [secondary] = await this.eniBatcher.describe([privateIp]);
    if (secondary !== undefined) return secondary;
    return (await this.findInNetworkInterfaces({ primaryIp: privateIp }, [privateIp])).get(privateIp);
  }

  /** The ENIs holding `privateIps`, by IP, paging until each is found or the pages end. */
  private async findInNetworkInterfaces(
    filter: EniIpFilter,
    privateIps: readonly string[],
  ): Promise<Map<string, NetworkInterfaceMatch>> {
    const found = new Map<string, NetworkInterfaceMatch>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const request = new $OpenApiUtil.OpenApiRequest({
        query: OpenApiUtil.query(describeNetworkInterfacesQuery(this.regionId, this.vpcId, filter, nextToken)),
      });
      const response = await this.runner.call(
        'DescribeNetworkInterfaces',
        () => this.ecs.callApi(DESCRIBE_NETWORK_INTERFACES, request, new RuntimeOptions({})),
        { retryTransient: true, context: { privateIp: privateIps.join(',') } },
      );
      const page = networkInterfacesPageOf(response.body);
      for (const eni of page.interfaces) {
        for (const ip of privateIps) {
          const match = found.has(ip) ? undefined : networkInterfaceMatchOf(eni, ip);
          if (match !== undefined) found.set(ip, match);
        }
      }
      nextToken = page.nextToken;
      if (found.size === privateIps.length || nextToken === undefined || nextToken === '') return found;
    }
    this.logger.warn(
      { privateIps: privateIps.filter((ip) => !found.has(ip)), pages: MAX_PAGES },
      'stopped paging DescribeNetworkInterfaces without finding every IP',
    );
    return found;
  }

  describeEips(query: EipQuery): Promise<EipState[]> {
    const { allocationIds, tags, associatedNetworkInterfaceId } = query;
    if (allocationIds !== undefined && allocationIds.length === 0) return Promise.resolve([]);
    const onlyIds =
      allocationIds !== undefined &&
      (tags === undefined || Object.keys(tags).length === 0) &&
      associatedNetworkInterfaceId === undefined;
    if (onlyIds) return this.batcher.describe(allocationIds);
    return this.describeUnbatched(query);
  }

  private async describeUnbatched(query: EipQuery): Promise<EipState[]> {
    const filters: EipFilter[] =
      query.allocationIds === undefined
        ? [{ ...query }]
        : chunked([...new Set(query.allocationIds)], MAX_IDS_PER_DESCRIBE).map((ids) => ({
            ...query,
            allocationIds: ids,
          }));
    const answers = await Promise.all(filters.map((filter) => this.describePages(filter)));
    return answers.flat();
  }

  /** Every page for one filter; PageSize 100 is the API's maximum. */
  private async describePages(filter: EipFilter): Promise<EipState[]> {
    const found = new Map<string, EipState>();
    for (let pageNumber = 1; pageNumber <= MAX_PAGES; pageNumber += 1) {
      const request = describeEipsRequest(this.regionId, filter, pageNumber);
      const response = await this.runner.call('DescribeEipAddresses', () => this.vpc.describeEipAddresses(request), {
        retryTransient: true,
      });
      const page = response.body?.eipAddresses?.eipAddress ?? [];
      // Keyed by id: an EIP allocated between two pages shifts the listing, and may appear twice.
      for (const item of page) {
        const eip = eipStateOf(item);
        if (eip.allocationId !== '') found.set(eip.allocationId, eip);
      }
      const total = response.body?.totalCount;
      if (page.length < EIP_PAGE_SIZE || (total !== undefined && pageNumber * EIP_PAGE_SIZE >= total))
        return [...found.values()];
    }
    this.logger.warn({ pages: MAX_PAGES }, 'stopped paging DescribeEipAddresses');
    return [...found.values()];
  }

  async allocateEip(request: AutoEipRequest, options: AllocateEipOptions): Promise<AllocatedEip> {
    const model = allocateEipRequest(this.regionId, request, options);
    const context = { clientToken: options.clientToken };
    const response = await this.runner.call('AllocateEipAddress', () => this.vpc.allocateEipAddress(model), {
      retryTransient: true,
      context,
    });
    const allocationId = response.body?.allocationId ?? '';
    if (allocationId === '') {
      throw new CloudError(
        { kind: 'unknown', code: 'MissingAllocationId', api: 'AllocateEipAddress' },
        'AllocateEipAddress failed: MissingAllocationId: the answer named no EIP',
      );
    }
    let ipAddress = response.body?.eipAddress ?? '';
    // PrePaid answers with an order instead of the address; the EIP itself knows it.
    if (ipAddress === '') ipAddress = (await this.describePages({ allocationIds: [allocationId] }))[0]?.ipAddress ?? '';
    this.logger.info({ ...context, allocationId, ipAddress }, 'allocated EIP');
    return { allocationId, ipAddress };
  }

  /** Associate and Unassociate name the binding the same way: the ENI, and the private IP when given. */
  private associationFields(input: EipAssociationInput) {
    return {
      regionId: this.regionId,
      allocationId: input.allocationId,
      instanceId: input.networkInterfaceId,
      instanceType: 'NetworkInterface',
      ...(input.privateIp !== undefined && input.privateIp !== '' ? { privateIpAddress: input.privateIp } : {}),
      clientToken: input.clientToken,
    };
  }

  async associateEip(input: EipAssociationInput): Promise<void> {
    const request = new $Vpc.AssociateEipAddressRequest(this.associationFields(input));
    const context = associationContext(input);
    await this.runner.call('AssociateEipAddress', () => this.vpc.associateEipAddress(request), {
      retryTransient: true,
      context,
    });
    this.logger.info(context, 'asked to associate EIP');
  }

  async unassociateEip(input: EipAssociationInput): Promise<void> {
    const request = new $Vpc.UnassociateEipAddressRequest(this.associationFields(input));
    const context = associationContext(input);
    await this.runner.call('UnassociateEipAddress', () => this.vpc.unassociateEipAddress(request), {
      retryTransient: true,
      context,
    });
    this.logger.info(context, 'asked to unassociate EIP');
  }

  /**
   * ReleaseEipAddress takes no ClientToken, so a blind retry after a timeout could hit an EIP that is
   * already Releasing; instead the EIP is looked at, and the release is sent again only if it is still
   * Available.
   */
  async releaseEip(allocationId: string): Promise<ReleaseOutcome> {
    const request = new $Vpc.ReleaseEipAddressRequest({ regionId: this.regionId, allocationId });
    const policy = this.runner.retryPolicy;
    let sawTransient = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.runner.call('ReleaseEipAddress', () => this.vpc.releaseEipAddress(request), {
          retryTransient: false,
          context: { allocationId },
        });
        this.logger.info({ allocationId }, 'asked to release EIP');
        return 'released';
      } catch (error) {
        const failure = error as CloudError;
        if (failure.kind === 'not-found') {
          this.logger.info({ allocationId, afterTransientFailure: sawTransient }, 'EIP to release is gone');
          return sawTransient ? 'released' : 'already-gone';
        }
        if (failure.kind !== 'transient') throw failure;
        sawTransient = true;
        const [eip] = await this.describePages({ allocationIds: [allocationId] });
        if (eip === undefined || eip.status === 'Releasing') {
          this.logger.info({ allocationId, code: failure.code }, 'release took effect although its answer was lost');
          return 'released';
        }
        if (eip.status !== 'Available' || attempt >= policy.maxAttempts) throw failure;
        const delayMs = backoffDelayMs(attempt, policy);
        this.logger.warn(
          { allocationId, code: failure.code, attempt, delayMs },
          'release did not take effect; retrying',
        );
        await this.runner.pause(delayMs);
      }
    }
  }

  async addToBandwidthPackage(input: BandwidthPackageMembershipInput): Promise<void> {
    const request = new $Vpc.AddCommonBandwidthPackageIpRequest({
      regionId: this.regionId,
      bandwidthPackageId: input.bandwidthPackageId,
      ipInstanceId: input.allocationId,
      ipType: 'EIP',
      clientToken: input.clientToken,
    });
    const context = { allocationId: input.allocationId, bandwidthPackageId: input.bandwidthPackageId };
    await this.runner.call('AddCommonBandwidthPackageIp', () => this.vpc.addCommonBandwidthPackageIp(request), {
      retryTransient: true,
      context,
    });
    this.logger.info(context, 'asked to add EIP to bandwidth package');
  }

  async removeFromBandwidthPackage(input: BandwidthPackageMembershipInput): Promise<BandwidthPackageRemoval> {
    const request = new $Vpc.RemoveCommonBandwidthPackageIpRequest({
      regionId: this.regionId,
      bandwidthPackageId: input.bandwidthPackageId,
      ipInstanceId: input.allocationId,
      clientToken: input.clientToken,
    });
    const context = { allocationId: input.allocationId, bandwidthPackageId: input.bandwidthPackageId };
    try {
      await this.runner.call('RemoveCommonBandwidthPackageIp', () => this.vpc.removeCommonBandwidthPackageIp(request), {
        retryTransient: true,
        context,
      });
    } catch (error) {
      // Terway treats this as "already removed"; nothing else in the answer can mean that.
      if ((error as CloudError).code === 'OperationUnsupported.IpNotInCbwp') {
        this.logger.info(context, 'EIP was not in the bandwidth package');
        return 'not-in-package';
      }
      throw error;
    }
    this.logger.info(context, 'asked to remove EIP from bandwidth package');
    return 'removed';
  }
}

function associationContext(input: EipAssociationInput): Record<string, unknown> {
  return {
    allocationId: input.allocationId,
    networkInterfaceId: input.networkInterfaceId,
    privateIp: input.privateIp ?? '(primary)',
    clientToken: input.clientToken,
  };
}

function bucketsFor(limits: Partial<Record<ApiName, number>>, windowMs: number): Map<ApiName, TokenBucket> {
  const buckets = new Map<ApiName, TokenBucket>();
  for (const api of CLOUD_API_NAMES) {
    const limit = limits[api] ?? DEFAULT_RATE_LIMITS_PER_MINUTE[api];
    if (limit === Number.POSITIVE_INFINITY) continue;
    try {
      buckets.set(api, new TokenBucket(bucketShapeForLimit(limit, windowMs)));
    } catch (error) {
      throw new Error(`createAlibabaEipCloud: rateLimitsPerMinute.${api}: ${(error as Error).message}`);
    }
  }
  return buckets;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new Error(`createAlibabaEipCloud: ${name} must be > 0, got ${value}`);
  return value;
}
