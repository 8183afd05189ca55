/**
 * Wires the binder as a program: configuration → credentials → cloud adapter with metrics → startBinder →
 * the HTTP server for probes and metrics, and the shutdown that undoes it in order (stop acting and
 * release the lease first, then stop answering). `podeip binder` and the demo both start it here.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createPromCloudMetrics } from './cloud/cloud-metrics.js';
import { createConfiguredCloud } from './config/cloud-adapter.js';
import { credentialsSourceFor, readKeyFile, type CredentialsSource } from './config/credentials.js';
import type { BinderConfig } from './config/types.js';
import { startBinder, type RunningBinder } from './controller/binder.js';
import { loadKubeConfig } from '../api/kube/api-clients.js';
import { buildBinderApp } from './server/app.js';
import { createBinderRegistry } from './server/metrics.js';

/** Under the pod's default 30 s grace period, so the lease is released before SIGKILL could skip it. */
export const SHUTDOWN_TIMEOUT_MS = 25_000;

/** What the binder takes from whoever starts it; everything but the logger has a default. */
export interface BinderDeps {
  logger: Logger;
  /** Default: from config.kubeconfig, KUBECONFIG or the pod's service account (loadKubeConfig). */
  kubeConfig?: KubeConfig;
  /** Default: as config.cloud.credentials says. */
  credentials?: CredentialsSource;
  /** Process metrics on /metrics; off for binders that share a process (the demo). Default true. */
  processMetrics?: boolean;
}

export interface RunningBinderProgram {
  binder: RunningBinder;
  registry: Registry;
  app: FastifyInstance;
  /** The port /healthz, /readyz and /metrics are served on (useful with server.port 0). */
  port: number;
  /** Stops acting, releases the lease, stops serving; idempotent: every call returns the same promise. */
  stop(): Promise<void>;
  /** The same as stop(). */
  close(): Promise<void>;
}

/**
 * Problems with the files the configuration names, found before anything starts, in the same form as the
 * schema's: a path, then what is wrong. Never quotes a file's contents.
 */
export function referencedFileProblems(config: BinderConfig): string[] {
  const problems: string[] = [];
  if (config.cloud.credentials.source === 'key-file') {
    try {
      readKeyFile(config.cloud.credentials.path);
    } catch (error) {
      problems.push(`cloud.credentials.path: ${(error as Error).message}`);
    }
  }
  try {
    loadKubeConfig(config.kubeconfig === undefined ? {} : { kubeconfigPath: config.kubeconfig });
  } catch (error) {
    problems.push(`kubeconfig: ${firstLine((error as Error).message)}`);
  }
  return problems;
}

export async function start(config: BinderConfig, options: BinderDeps): Promise<RunningBinderProgram> {
  const { logger } = options;
  const kubeConfig =
    options.kubeConfig ?? loadKubeConfig(config.kubeconfig === undefined ? {} : { kubeconfigPath: config.kubeconfig });
  const credentials = options.credentials ?? credentialsSourceFor(config.cloud.credentials, { logger });
  const registry = createBinderRegistry({ processMetrics: options.processMetrics ?? true });
  const cloud = createConfiguredCloud(config.cloud, { credentials, logger, metrics: createPromCloudMetrics(registry) });

  let binder: RunningBinder;
  try {
    binder = await startBinder({ config, kubeConfig, cloud, logger, registry });
  } catch (error) {
    credentials.close();
    throw error;
  }
  let stopping = false;
  const app = buildBinderApp({
    registry,
    logger,
    // A replica waiting for the lease is ready too: a warm standby that a rollout may count on.
    isReady: () => !stopping && binder.hasSynced(),
    notReadyReason: () => (stopping ? 'shutting down' : 'pod and PodEIP caches not synced yet'),
  });
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    await binder.stop();
    credentials.close();
    await app.close();
    throw new Error(`cannot listen on ${config.server.host}:${config.server.port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.server.port;
  logger.info(
    {
      host: config.server.host,
      port,
      clusterId: config.clusterId,
      regionId: config.cloud.regionId,
      vpcId: config.cloud.vpcId,
      leaderElection: config.leaderElection.enabled,
    },
    'binder serving /healthz, /readyz and /metrics',
  );

  async function shutDown(): Promise<void> {
    stopping = true;
    logger.info('binder shutting down: finishing reconciles under way and releasing the lease');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SHUTDOWN_TIMEOUT_MS);
    });
    try {
      if ((await Promise.race([binder.stop().then(() => 'stopped' as const), deadline])) === 'timeout') {
        logger.warn(
          { timeoutMs: SHUTDOWN_TIMEOUT_MS },
          'reconciles did not finish in time; exiting without them (they resume from their PodEIPs)',
        );
      }
    } finally {
      clearTimeout(timer);
      credentials.close();
      await app.close();
    }
    logger.info('binder stopped');
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= shutDown());
  return { binder, registry, app, port, stop, close: stop };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
