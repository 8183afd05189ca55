/**
 * The Alibaba adapter built from the binder's configuration. The adapter holds fixed credentials, so a
 * rotated key file gets a fresh adapter: calls already started finish on the old one, new calls use the
 * new one. Its token buckets start full, which lets at most one extra window's burst through per rotation;
 * the cloud's own flow control answers that, and the adapter backs off.
 */
import type { Logger } from 'pino';
import { createAlibabaEipCloud, type AlibabaEipCloudOptions } from '../cloud/alibaba-eip-cloud.js';
import type { CloudMetrics } from '../cloud/cloud-metrics.js';
import type { ApiName, EipCloud } from '../cloud/eip-cloud.js';
import type { CredentialsSource } from './credentials.js';
import type { BinderCloudConfig } from './types.js';

export interface ConfiguredCloudOptions {
  credentials: CredentialsSource;
  logger: Logger;
  metrics: CloudMetrics;
}

/** The adapter's options for this configuration (credentials as they are now). */
export function adapterOptionsFor(config: BinderCloudConfig, options: ConfiguredCloudOptions): AlibabaEipCloudOptions {
  return {
    regionId: config.regionId,
    vpcId: config.vpcId,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.ecsEndpoint === undefined ? {} : { ecsEndpoint: config.ecsEndpoint }),
    protocol: config.protocol,
    credentials: options.credentials.current(),
    readTimeoutMs: config.readTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    rateLimitsPerMinute: config.rateLimitsPerMinute as Partial<Record<ApiName, number>>,
    rateLimitWindowMs: config.rateLimitWindowSeconds * 1000,
    logger: options.logger,
    metrics: options.metrics,
  };
}

export function createConfiguredCloud(config: BinderCloudConfig, options: ConfiguredCloudOptions): EipCloud {
  let adapter = createAlibabaEipCloud(adapterOptionsFor(config, options));
  options.credentials.onChange(() => {
    adapter = createAlibabaEipCloud(adapterOptionsFor(config, options));
  });
  return {
    findNetworkInterface: (privateIp) => adapter.findNetworkInterface(privateIp),
    describeEips: (query) => adapter.describeEips(query),
    allocateEip: (request, allocateOptions) => adapter.allocateEip(request, allocateOptions),
    associateEip: (input) => adapter.associateEip(input),
    unassociateEip: (input) => adapter.unassociateEip(input),
    releaseEip: (allocationId) => adapter.releaseEip(allocationId),
    addToBandwidthPackage: (input) => adapter.addToBandwidthPackage(input),
    removeFromBandwidthPackage: (input) => adapter.removeFromBandwidthPackage(input),
  };
}
