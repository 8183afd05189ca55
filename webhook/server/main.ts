/**
 * Wires the webhook: certificate files → HTTPS app → listening socket → certificate reloader, and the
 * graceful shutdown that undoes it. Callers (the CLI on a signal, the demo, tests) decide when to stop.
 */
import type { FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config/types.js';
import { createWebhookMetrics } from '../metrics.js';
import { buildApp } from './app.js';
import {
  checkServingPair,
  checkTlsMinVersion,
  readServingPair,
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

export async function start(config: WebhookConfig, deps: WebhookDeps): Promise<RunningWebhook> {
  const { logger } = deps;
  const minVersion = checkTlsMinVersion(config.tls.minVersion);
  const files = { certFile: config.tls.certFile, keyFile: config.tls.keyFile };
  const pair = await readServingPair(files);
  const identity = checkServingPair(pair, files, minVersion);

  let draining = false;
  const app = buildApp({
    policy: config.mutation,
    logger,
    metrics: createWebhookMetrics(),
    bodyLimitBytes: config.bodyLimitBytes,
    https: secureContextOptions(pair, minVersion),
    isReady: () => !draining,
  });
  const server = app.server as HttpsServer;
  const reloader = new ServingCertificateReloader(server, {
    ...files,
    minVersion,
    reloadIntervalSeconds: config.tls.reloadIntervalSeconds,
    logger,
    initial: pair,
    initialIdentity: identity,
  });

  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close();
    throw new Error(`cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  reloader.start();
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
    reloader.stop();
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
