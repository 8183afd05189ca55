/**
 * Wires the webhook: certificate files → HTTPS app → listening socket → certificate reloader, and the
 * graceful shutdown that undoes it. Callers (the CLI on a signal, the demo, tests) decide when to stop.
 */
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../api/kube/api-clients.js';
import { EipPolicyWatch } from '../../api/kube/eip-policy-watch.js';
import { serviceDnsNames } from '../../certs/generate.js';
import { CertificateKeeper } from '../../certs/keeper.js';
import { podeipMutatingWebhookConfiguration } from '../registration.js';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config/types.js';
import { createWebhookMetrics } from '../metrics.js';
import { buildApp } from './app.js';
import {
  checkServingPair,
  checkTlsMinVersion,
  readServingPair,
  type ServingPair,
  secureContextOptions,
  ServingCertificateReloader,
} from './tls.js';

/** What the webhook needs from whoever starts it. */
export interface WebhookDeps {
  logger: Logger;
}

export interface RunningWebhook {
  /** The port actually bound (useful when config.listen.port is 0). */
  port: number;
  /** Graceful shutdown; idempotent, every call returns the same promise. */
  stop(): Promise<void>;
  /** The same as stop(). */
  close(): Promise<void>;
  app: FastifyInstance;
}

/** Where the serving certificate comes from, and how a new one reaches the server. */
interface CertificateSource {
  pair: ServingPair;
  /** Starts following changes; `server` gets each new pair. */
  follow(server: HttpsServer): void;
  stop(): Promise<void>;
}

async function fromFiles(config: WebhookConfig, logger: Logger): Promise<CertificateSource> {
  const minVersion = checkTlsMinVersion(config.tls.minVersion);
  const files = { certFile: config.tls.certFile, keyFile: config.tls.keyFile };
  const pair = await readServingPair(files);
  const identity = checkServingPair(pair, files, minVersion);
  let reloader: ServingCertificateReloader | undefined;
  return {
    pair,
    follow(server) {
      reloader = new ServingCertificateReloader(server, {
        ...files,
        minVersion,
        reloadIntervalSeconds: config.tls.reloadIntervalSeconds,
        logger,
        initial: pair,
        initialIdentity: identity,
      });
      reloader.start();
    },
    stop: async () => reloader?.stop(),
  };
}

/** podeip's registration for the self-managed mode, trusting `caBundlePem`. */
export function selfManagedRegistration(config: WebhookConfig, caBundlePem: string): V1MutatingWebhookConfiguration {
  const { service, namespace, registration } = config.certificates;
  return podeipMutatingWebhookConfiguration({
    target: { service: { namespace, name: service.name, port: service.port } },
    caPem: caBundlePem,
    failurePolicy: registration.failurePolicy,
    timeoutSeconds: registration.timeoutSeconds,
    excludedNamespaces: [...new Set([...registration.excludedNamespaces, namespace])],
  }) as V1MutatingWebhookConfiguration;
}

async function selfManaged(config: WebhookConfig, logger: Logger): Promise<CertificateSource> {
  const minVersion = checkTlsMinVersion(config.tls.minVersion);
  const { certificates } = config;
  let server: HttpsServer | undefined;
  const secretName = `Secret ${certificates.namespace}/${certificates.secretName}`;
  const keeper = new CertificateKeeper({
    kubeConfig: loadKubeConfig(certificates.kubeconfig === '' ? {} : { kubeconfigPath: certificates.kubeconfig }),
    namespace: certificates.namespace,
    secretName: certificates.secretName,
    leaseName: certificates.leaseName,
    identity: `${process.env.POD_NAME ?? hostname()}-${randomBytes(3).toString('hex')}`,
    dnsNames: serviceDnsNames(certificates.service.name, certificates.namespace),
    lifetimeSeconds: certificates.lifetimeSeconds,
    stepSeconds: certificates.rotationStepSeconds,
    repairIntervalSeconds: certificates.repairIntervalSeconds,
    registration: (bundle) => selfManagedRegistration(config, bundle),
    serve(pem) {
      const pair = { cert: Buffer.from(pem.certPem), key: Buffer.from(pem.keyPem) };
      const identity = checkServingPair(pair, { certFile: secretName, keyFile: secretName }, minVersion);
      if (server === undefined) return;
      server.setSecureContext(secureContextOptions(pair, minVersion));
      logger.info(
        { fingerprint256: identity.fingerprint256, validTo: identity.validTo.toISOString() },
        'serving the certificate of the Secret',
      );
    },
    logger,
  });
  let first;
  try {
    first = await keeper.start();
  } catch (err) {
    await keeper.stop();
    throw err;
  }
  return {
    pair: { cert: Buffer.from(first.certPem), key: Buffer.from(first.keyPem) },
    follow(s) {
      server = s;
      // A pair that arrived between start() and now would otherwise wait for the next change.
      const current = keeper.current;
      if (current !== undefined && current.certPem !== first.certPem) {
        s.setSecureContext(
          secureContextOptions({ cert: Buffer.from(current.certPem), key: Buffer.from(current.keyPem) }, minVersion),
        );
      }
    },
    stop: () => keeper.stop(),
  };
}

export async function start(config: WebhookConfig, deps: WebhookDeps): Promise<RunningWebhook> {
  const { logger } = deps;
  const minVersion = checkTlsMinVersion(config.tls.minVersion);
  const source =
    config.certificates.mode === 'self-managed' ? await selfManaged(config, logger) : await fromFiles(config, logger);
  const pair = source.pair;
  const identity = checkServingPair(pair, { certFile: 'certificate', keyFile: 'key' }, minVersion);

  // Read before the webhook is ready, so no EIP pod is admitted before the policies are known.
  const eipPoliciesKubeconfig = config.eipPolicies.kubeconfig || config.certificates.kubeconfig;
  const eipPolicies = config.eipPolicies.enabled
    ? new EipPolicyWatch({
        kubeConfig: loadKubeConfig(eipPoliciesKubeconfig === '' ? {} : { kubeconfigPath: eipPoliciesKubeconfig }),
        countPodEips: true,
        logger,
      })
    : undefined;
  eipPolicies?.start();

  let draining = false;
  const app = buildApp({
    policy: config.mutation,
    logger,
    metrics: createWebhookMetrics(),
    bodyLimitBytes: config.bodyLimitBytes,
    connections: config.connections,
    https: secureContextOptions(pair, minVersion),
    isReady: () => !draining && (eipPolicies?.hasSynced() ?? true),
    ...(eipPolicies === undefined ? {} : { eipPolicies }),
  });
  const server = app.server as HttpsServer;

  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close();
    await source.stop();
    await eipPolicies?.stop();
    throw new Error(`cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  source.follow(server);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  logger.info(
    {
      host: config.listen.host,
      port,
      minVersion,
      fingerprint256: identity.fingerprint256,
      validTo: identity.validTo.toISOString(),
    },
    'webhook listening',
  );

  async function shutDown(): Promise<void> {
    // Readiness goes first, so the Service stops routing new reviews here while open ones are answered.
    draining = true;
    await source.stop();
    await eipPolicies?.stop();
    logger.info(
      { timeoutSeconds: config.shutdownTimeoutSeconds },
      'webhook shutting down: finishing in-flight requests',
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutSeconds * 1000);
    });
    const closed = app.close().then(() => 'closed' as const);
    if ((await Promise.race([closed, deadline])) === 'timeout') {
      logger.warn(
        { timeoutSeconds: config.shutdownTimeoutSeconds },
        'shutdown timeout reached; closing the remaining connections',
      );
      server.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
    logger.info('webhook stopped');
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= shutDown());
  return { port, app, stop, close: stop };
}
