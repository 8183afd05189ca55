/**
 * `podeip drain`: what an uninstall runs first, so nothing podeip allocated stays billed once it is gone.
 * It refuses to run while a binder holds the Lease (a binder would bind again what drain undoes; scale the
 * binder to zero first, which hands the Lease back). Then it unbinds every EIP with this cluster's tags and
 * every static EIP a PodEIP records as bound where the cloud says it is, waits for the cloud, releases the
 * tagged ones (PrePaid ones cannot be: they stay until their term ends, and drain says so), and takes
 * podeip's finalizer off every PodEIP so that deleting the CRD completes. Every step reads the world
 * first, so a second run finds nothing to do.
 */
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { PODEIP_OWNERSHIP_TAG_KEYS } from '../api/constants.js';
import { createApiClients } from '../api/kube/api-clients.js';
import { createPromCloudMetrics } from './cloud/cloud-metrics.js';
import type { EipCloud, EipState } from './cloud/eip-cloud.js';
import { describeClusterEips, inNamespaces, taggedOwner, unassociateAsFound } from './cloud/tagged-eips.js';
import { createConfiguredCloud } from './config/cloud-adapter.js';
import { credentialsSourceFor } from './config/credentials.js';
import type { BinderConfig } from './config/types.js';
import { isRecordedBinding } from './controller/decide-release.js';
import { writtenByPodeip } from './controller/decision.js';
import { PodEipClient } from './kube/podeip-client.js';

export class DrainRefused extends Error {}

export interface DrainOptions {
  logger: Logger;
  kubeConfig: KubeConfig;
  /** Each thing done, as a line for a person. */
  out(line: string): void;
  /** Default: the configured Alibaba Cloud adapter. */
  cloud?: EipCloud;
  /** How long to wait for the cloud to finish unbinding. Default 120 s. */
  timeoutMs?: number;
  now?: () => number;
}

export interface DrainReport {
  released: number;
  unbound: number;
  keptPrepaid: number;
  finalizersRemoved: number;
}

const POLL_MS = 1000;

function owner(eip: EipState): string {
  const { namespace = '?', podName = '?' } = taggedOwner(eip);
  return `${namespace}/${podName}`;
}

/** Why drain must not run now, or undefined: a binder that holds the Lease would undo what drain does. */
export function leaseHolder(lease: V1Lease | undefined, now: number): string | undefined {
  const holder = lease?.spec?.holderIdentity;
  if (holder === undefined || holder === null || holder === '') return undefined;
  const renewed = lease?.spec?.renewTime === undefined ? Number.NaN : new Date(lease.spec.renewTime).getTime();
  const duration = (lease?.spec?.leaseDurationSeconds ?? 15) * 1000;
  return Number.isNaN(renewed) || renewed + duration > now ? holder : undefined;
}

export async function drain(config: BinderConfig, options: DrainOptions): Promise<DrainReport> {
  const { logger, out } = options;
  const now = options.now ?? Date.now;
  const clients = createApiClients(options.kubeConfig);
  const credentials =
    options.cloud === undefined ? credentialsSourceFor(config.cloud.credentials, { logger }) : undefined;
  try {
    const election = config.leaderElection;
    let lease: V1Lease | undefined;
    try {
      lease = await clients.coordination.readNamespacedLease({
        namespace: election.namespace,
        name: election.leaseName,
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
    }
    const holder = leaseHolder(lease, now());
    if (holder !== undefined)
      throw new DrainRefused(
        `a binder holds the Lease ${election.namespace}/${election.leaseName} (${holder}) and would bind again what ` +
          `drain undoes; stop it first (kubectl -n ${election.namespace} scale deployment/podeip-binder --replicas=0) ` +
          'and run drain again',
      );

    const cloud =
      options.cloud ??
      createConfiguredCloud(config.cloud, {
        credentials: credentials!,
        logger,
        metrics: createPromCloudMetrics(new Registry()),
      });
    const podEips = new PodEipClient(clients.customObjects, { logger });
    // A record ACK's or Terway's EIP controller wrote is theirs: its binding and finalizer stay.
    const records = (await podEips.list(config.namespaces)).filter(writtenByPodeip);
    const report: DrainReport = { released: 0, unbound: 0, keptPrepaid: 0, finalizersRemoved: 0 };

    const tagged = await describeClusterEips(cloud, config.clusterId);
    const ours = tagged.filter((eip) => inNamespaces(eip, config.namespaces));
    const unbinding: EipState[] = ours.filter((eip) => eip.status === 'InUse');
    // Static EIPs carry no tags of ours: only the binding a record names, and the cloud confirms, is undone.
    const staticIds = records
      .filter((r) => r.spec.allocationType.type === 'Static' && r.spec.allocationID !== '')
      .filter((r) => r.status?.networkInterfaceID !== undefined);
    const statics =
      staticIds.length === 0
        ? []
        : await cloud.describeEips({ allocationIds: staticIds.map((r) => r.spec.allocationID) });
    for (const record of staticIds) {
      const eip = statics.find((e) => e.allocationId === record.spec.allocationID);
      if (eip?.status === 'InUse' && isRecordedBinding(eip, record)) unbinding.push(eip);
    }
    for (const eip of unbinding) {
      await unassociateAsFound(cloud, eip, 'drain');
      report.unbound++;
      const tag = eip.tags[PODEIP_OWNERSHIP_TAG_KEYS.clusterId] === undefined ? 'static, kept' : owner(eip);
      out(`unbound  ${eip.allocationId} ${eip.ipAddress} from ${eip.instanceId} ${eip.privateIpAddress} (${tag})`);
    }
    await waitUntilUnbound(cloud, unbinding, options.timeoutMs ?? 120_000);

    for (const eip of ours) {
      if (eip.status === 'Releasing') continue;
      if (eip.instanceChargeType === 'PrePaid') {
        report.keptPrepaid++;
        out(`kept     ${eip.allocationId} ${eip.ipAddress} (${owner(eip)}): PrePaid, billed until its term ends`);
        continue;
      }
      const outcome = await cloud.releaseEip(eip.allocationId);
      if (outcome === 'released') {
        report.released++;
        out(`released ${eip.allocationId} ${eip.ipAddress} (${owner(eip)})`);
      }
    }

    for (const record of records) {
      if ((await podEips.removeFinalizer(record)) !== 'removed') continue;
      report.finalizersRemoved++;
      out(`finalizer removed from PodEIP ${record.metadata.namespace}/${record.metadata.name}`);
    }
    return report;
  } finally {
    credentials?.close();
    clients.close();
  }
}

async function waitUntilUnbound(cloud: EipCloud, eips: EipState[], timeoutMs: number): Promise<void> {
  if (eips.length === 0) return;
  const ids = eips.map((eip) => eip.allocationId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await cloud.describeEips({ allocationIds: ids });
    const busy = states.filter((eip) => eip.status === 'InUse' || eip.status === 'Unassociating');
    if (busy.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `the cloud has not unbound ${busy.map((eip) => eip.allocationId).join(', ')} yet; run drain again`,
      );
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
