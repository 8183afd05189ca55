/** The demo's tables: the example pods with their EIPs as the cluster records them, and the cloud's inventory. */
import {
  ALLOCATED_EIP_ADDRESS_ANNOTATION,
  PODEIP_GROUP,
  PODEIP_OWNERSHIP_TAG_KEYS,
  PODEIP_PLURAL,
} from '../../api/constants.js';
import type { Sandbox } from '../../sandbox/index.js';
import type { KubeObject } from '../../sandbox/kube/index.js';
import { podEipFacts, podFacts } from './timeline.js';

/** Left-aligned columns two spaces apart, like kubectl's. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(headers), ...rows.map(line)];
}

const orDash = (text: string): string => (text === '' ? '-' : text);

export function podSummary(sandbox: Sandbox, pods: KubeObject[]): string[] {
  const podEips = sandbox.kube.store.resourceType(PODEIP_GROUP, PODEIP_PLURAL);
  const rows = pods.map((pod) => {
    const facts = podFacts(pod);
    const record =
      podEips === undefined
        ? undefined
        : sandbox.kube.store.get(podEips, pod.metadata.namespace, pod.metadata.name ?? '');
    const eip = record === undefined ? undefined : podEipFacts(record);
    return [
      `${pod.metadata.namespace}/${pod.metadata.name}`,
      orDash(facts.ip),
      orDash(eip?.allocationId ?? ''),
      orDash(pod.metadata.annotations?.[ALLOCATED_EIP_ADDRESS_ANNOTATION] ?? ''),
      orDash(eip === undefined ? '' : `${eip.type} ${eip.status}`),
      facts.ready?.status ?? 'Unknown',
    ];
  });
  return table(['POD', 'IP', 'EIP', 'ADDRESS', 'PODEIP', 'READY'], rows);
}

export function cloudInventory(sandbox: Sandbox): string[] {
  const rows = sandbox.cloud.controls.eips().map((eip) => {
    const tags = Object.fromEntries(eip.tags.map((t) => [t.key, t.value]));
    const owner =
      tags[PODEIP_OWNERSHIP_TAG_KEYS.podName] === undefined
        ? 'not podeip’s'
        : `podeip: ${tags[PODEIP_OWNERSHIP_TAG_KEYS.namespace]}/${tags[PODEIP_OWNERSHIP_TAG_KEYS.podName]}`;
    const boundTo =
      eip.instanceId === '' ? '-' : `${eip.instanceId}${eip.privateIpAddress === '' ? '' : ` ${eip.privateIpAddress}`}`;
    return [
      eip.allocationId,
      eip.ipAddress,
      eip.status,
      boundTo,
      `${eip.internetChargeType} ${eip.bandwidth} Mbit/s ${eip.isp}`,
      owner,
    ];
  });
  if (rows.length === 0) return ['(no EIPs)'];
  return table(['ALLOCATION ID', 'ADDRESS', 'STATUS', 'BOUND TO', 'BILLING', 'OWNER'], rows);
}

/** Calls the binder made to the cloud, by action, with the failures the cloud answered. */
export function cloudCalls(sandbox: Sandbox): string {
  const counts = Object.entries(sandbox.cloud.controls.callCounts())
    .filter(([, c]) => c.ok + c.failed > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([action, c]) => `${action} ${c.ok}${c.failed > 0 ? ` (+${c.failed} failed)` : ''}`);
  return counts.length === 0 ? 'none' : counts.join(', ');
}
