/**
 * The Alibaba adapter built from the binder's configuration. It asks the credentials source on every
 * call, so a rotated key file is used from the next call on, by the same clients behind the same token
 * buckets: a rotation never lets an extra burst through.
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

/** The adapter's options for this configuration. */
export function adapterOptionsFor(config: BinderCloudConfig, options: ConfiguredCloudOptions): AlibabaEipCloudOptions {
  return {
    regionId: config.regionId,
    vpcId: config.vpcId,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.ecsEndpoint === undefined ? {} : { ecsEndpoint: config.ecsEndpoint }),
    protocol: config.protocol,
    credentials: () => options.credentials.current(),
    readTimeoutMs: config.readTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    rateLimitsPerMinute: config.rateLimitsPerMinute as Partial<Record<ApiName, number>>,
    rateLimitWindowMs: config.rateLimitWindowSeconds * 1000,
    logger: options.logger,
    metrics: options.metrics,
  };
}

export function createConfiguredCloud(config: BinderCloudConfig, options: ConfiguredCloudOptions): EipCloud {
  return createAlibabaEipCloud(adapterOptionsFor(config, options));
}
