/**
 * Starts the Alibaba Cloud stand-in: one account, one region, one VPC, served to the real VPC and ECS SDK
 * clients over plain HTTP on loopback (`endpoint: sandbox.endpoint, protocol: 'http'`).
 */
import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AccessKeyStore, grantOf, newAccessKeyId, newAccessKeySecret } from './access-keys.js';
import { RequestAuthenticator } from './authentication.js';
import { ClientTokenTable } from './client-tokens.js';
import { createControls } from './controls.js';
import { EipLifecycle } from './eip-lifecycle.js';
import { FaultInjector } from './faults.js';
import { ApiGateway } from './gateway.js';
import { createSandboxServer } from './http-server.js';
import { createPrng, deriveSeed } from './prng.js';
import { RateLimiter } from './rate-limits.js';
import { DEFAULT_TRANSITION_DELAYS, TransitionClock, type TransitionDelays } from './transitions.js';
import type { CloudSandbox, CloudSandboxOptions } from './types.js';
import { CloudWorld } from './world.js';

/** Lifetime of the STS triples handed out at /__sandbox/credentials; the SDK refreshes 15 min before the end. */
const CREDENTIALS_URI_TTL_SECONDS = 3600;

export async function startCloudSandbox(options: CloudSandboxOptions = {}): Promise<CloudSandbox> {
  const seed = options.seed ?? randomInt(2 ** 31);
  const now = (): number => Date.now();
  const regionId = options.regionId ?? 'cn-hangzhou';
  const accessKeyId = options.accessKeyId ?? newAccessKeyId();
  const accessKeySecret = options.accessKeySecret ?? newAccessKeySecret();
  if (/^LTAI/.test(accessKeyId))
    throw new Error('startCloudSandbox: accessKeyId must not look like a real Alibaba Cloud key (LTAI…)');

  const world = new CloudWorld({
    regionId,
    ...(options.vpcId !== undefined ? { vpcId: options.vpcId } : {}),
    // A 16-digit account id (ParentUid), as real ones are; the flow-control and token buckets key on it.
    accountId: String(1_000_000_000_000_000 + createPrng(deriveSeed(seed, 3)).below(8_000_000_000_000_000)),
    eipQuota: options.eipQuota ?? 20,
    random: createPrng(deriveSeed(seed, 1)),
    now,
  });
  const faults = new FaultInjector(createPrng(deriveSeed(seed, 2)));
  const delays: TransitionDelays = { ...DEFAULT_TRANSITION_DELAYS, ...definedOnly(options.transitionDelays ?? {}) };
  const clock = new TransitionClock(() => faults.stickTransitions);
  const lifecycle = new EipLifecycle(world, clock, () => delays, faults);
  const limiter = new RateLimiter(now, {
    ...(options.rateLimitScale !== undefined ? { scale: options.rateLimitScale } : {}),
    ...(options.rateLimitWindowMs !== undefined ? { windowMs: options.rateLimitWindowMs } : {}),
  });
  const keys = new AccessKeyStore(now);
  keys.addStatic(accessKeyId, accessKeySecret);
  const gateway = new ApiGateway({
    world,
    lifecycle,
    authenticator: new RequestAuthenticator(keys, now),
    limiter,
    faults,
    tokens: new ClientTokenTable(),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const controls = createControls({ world, lifecycle, faults, limiter, gateway, clock, delays, keys });
  // Through the controls, so options get the same validation as later changes.
  controls.setEipQuota(world.eipQuota);
  controls.setTransitionDelays(delays);
  controls.createCommonBandwidthPackage({ name: 'sandbox-default' });

  const server = createSandboxServer(
    {
      callApi: (request) => gateway.handle(request),
      inventory: () => ({
        regionId,
        vpcId: world.vpcId,
        accountId: world.accountId,
        eipQuota: world.eipQuota,
        eips: controls.eips(),
        networkInterfaces: controls.networkInterfaces(),
        commonBandwidthPackages: controls.commonBandwidthPackages(),
        callCounts: controls.callCounts(),
      }),
      issueCredentials: () => {
        const grant = grantOf(keys.issueSts(CREDENTIALS_URI_TTL_SECONDS));
        return {
          Code: 'Success',
          AccessKeyId: grant.accessKeyId,
          AccessKeySecret: grant.accessKeySecret,
          SecurityToken: grant.securityToken,
          Expiration: grant.expiration,
        };
      },
    },
    (error) => options.logger?.error({ err: error }, 'sandbox cloud request failed'),
  );
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://${host}:${port}`;
  options.logger?.info({ endpoint: `${host}:${port}`, regionId, vpcId: world.vpcId, seed }, 'sandbox cloud listening');

  let closed: Promise<void> | undefined;
  return {
    endpoint: `${host}:${port}`,
    protocol: 'http',
    port,
    regionId,
    vpcId: world.vpcId,
    accessKeyId,
    accessKeySecret,
    seed,
    credentialsUri: `${base}/__sandbox/credentials`,
    inventoryUrl: `${base}/__sandbox/inventory`,
    controls,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        clock.stop();
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this, close() would wait for them to idle out.
        server.closeAllConnections();
      })),
  };
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as Partial<T>;
}
