/**
 * The binder's entry point as a library: everything `podeip binder` runs, minus flags, files and the
 * HTTP server. The demo and the tests start it in-process against the sandbox.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EipCloud } from '../cloud/eip-cloud.js';
import type { BinderConfig } from '../config/types.js';
import { createApiClients } from '../../api/kube/api-clients.js';
import { EventRecorder } from '../kube/events.js';
import { replicaSetRevision } from '../kube/replica-set-revision.js';
import { LeaderElector } from '../../api/kube/leader-election.js';
import { beginTerm, type ActingTerm } from './acting-term.js';
import { createBinderMetrics } from './binder-metrics.js';
import { createBinderCaches } from './caches.js';
import { GarbageCollector } from './gc.js';
import { BoundKeyRotation, verificationBudget } from './verification.js';
import { createReconciler } from './reconcile.js';
import { RecentPodEipWrites } from './recent-writes.js';

export interface StartBinderOptions {
  config: BinderConfig;
  kubeConfig: KubeConfig;
  cloud: EipCloud;
  logger: Logger;
  /** Metrics are registered here (podeip_binder_*). */
  registry: Registry;
}

export interface RunningBinder {
  /** This replica holds the lease (always true with leader election off). */
  isLeader(): boolean;
  /** Both caches (pods, PodEIPs) have listed once: /readyz. */
  hasSynced(): boolean;
  /** Stops acting at once, ends watches, waits for reconciles under way; releases the lease. */
  stop(): Promise<void>;
}

/**
 * Starts the caches at once and acts only while allowed: always with leader election off, else while this
 * replica holds the Lease. Each leadership term gets its own work queue and AbortSignal; the term's workers
 * start once both caches have listed (acting on a half-filled cache would take a missing pod for a deleted
 * one), and a lost lease aborts the signal, which every write checks first.
 */
export async function startBinder(options: StartBinderOptions): Promise<RunningBinder> {
  const { config, kubeConfig, cloud, registry } = options;
  const logger = options.logger.child({ component: 'binder' });
  const clients = createApiClients(kubeConfig);
  const identity =
    config.leaderElection.identity ?? `${process.env.HOSTNAME || 'podeip-binder'}-${randomBytes(4).toString('hex')}`;
  const events = new EventRecorder(clients.core, { host: identity, logger });
  const recentPodEips = new RecentPodEipWrites();
  let term: ActingTerm | undefined;
  let previousTermEnded: Promise<void> = Promise.resolve();
  let stopped = false;

  const caches = createBinderCaches({
    kubeConfig,
    namespaces: config.namespaces,
    inactivityTimeoutMs: config.watch.inactivityTimeoutSeconds * 1000,
    logger,
    onChange: (key) => term?.queue.add(key),
    onPodEipEvent: (key, cached, deleted) => recentPodEips.observed(key, cached, deleted),
  });
  const metrics = createBinderMetrics(registry, {
    queueDepth: () => term?.queue.length() ?? 0,
    eipsBound: () => caches.podEips().filter((podEip) => podEip.status?.status === 'InUse').length,
  });
  const reconcile = createReconciler({
    clusterId: config.clusterId,
    cachedPod: (key) => caches.pod(key),
    podKeys: () => caches.podKeys(),
    cachedPodEip: (key) => caches.podEip(key),
    ipHolder: (ip, exceptKey) => caches.ipHolder(ip, exceptKey),
    replicaSetRevision: (namespace, name) => replicaSetRevision(clients.apps, namespace, name, logger),
    cachedPodEips: () => caches.podEips(),
    eipPolicies: caches.eipPolicies,
    core: clients.core,
    customObjects: clients.customObjects,
    cloud,
    events,
    metrics,
    logger,
    recentPodEips,
    resyncMs: config.resyncSeconds * 1000,
    statefulKinds: config.statefulWorkloadKinds,
  });

  const collector = new GarbageCollector({
    clusterId: config.clusterId,
    cloud,
    podEips: () => caches.podEips(),
    enqueue: (key) => term?.queue.add(key),
    graceMs: config.gc.orphanGraceSeconds * 1000,
    namespaces: config.namespaces,
    metrics,
    logger,
  });

  const verification = new BoundKeyRotation(
    () => caches.podEips().filter((podEip) => podEip.status?.status === 'InUse'),
    verificationBudget(config),
  );

  const startActing = (leadership: AbortSignal): void => {
    if (stopped || term !== undefined) return;
    term = beginTerm({
      leadership,
      caches,
      reconcile,
      workers: config.workers,
      resyncMs: config.resyncSeconds * 1000,
      logger,
      after: previousTermEnded,
      sweep: { periodMs: config.gc.periodSeconds * 1000, run: (signal) => collector.sweep(signal) },
      verify: { periodMs: config.verifySeconds * 1000, keys: () => verification.next() },
    });
  };
  const stopActing = (): Promise<void> => {
    const ending = term;
    term = undefined;
    if (ending !== undefined) previousTermEnded = ending.end();
    return previousTermEnded;
  };

  const election = config.leaderElection;
  const elector = election.enabled
    ? new LeaderElector({
        api: clients.coordination,
        namespace: election.namespace,
        name: election.leaseName,
        identity,
        leaseDurationMs: election.leaseDurationSeconds * 1000,
        renewDeadlineMs: election.renewDeadlineSeconds * 1000,
        retryPeriodMs: election.retryPeriodSeconds * 1000,
        onStartedLeading: (signal) => startActing(signal),
        onStoppedLeading: () => void stopActing(),
        logger,
      })
    : undefined;

  caches.start();
  if (elector === undefined) startActing(new AbortController().signal);
  else elector.start();
  logger.info(
    { identity, namespaces: config.namespaces, workers: config.workers, leaderElection: election.enabled },
    'binder started',
  );

  let stopping: Promise<void> | undefined;
  return {
    isLeader: () => !stopped && (elector === undefined || elector.isLeader()),
    hasSynced: () => caches.hasSynced(),
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        // Acting ends first and the reconciles under way finish; only then is the lease handed over.
        await stopActing();
        await elector?.stop();
        await caches.stop();
        await events.flush();
        clients.close();
        logger.info({ identity }, 'binder stopped');
      })()),
  };
}
