/**
 * The downward API's fields, as the kubelet resolves them for env (`fieldRef`) and for downwardAPI volume
 * items: a pod's own metadata and the addresses it was given.
 */
import type { KubeObject } from '../../types.js';
import { specOf, statusOf } from '../object-facts.js';

function formatMap(map: Record<string, string> | undefined): string {
  // The kubelet's format for labels and annotations: key="value" lines, sorted, values quoted as Go does.
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${JSON.stringify(map![key])}`)
    .join('\n');
}

/** The value of `fieldPath` for this pod, or an error worded as the kubelet's. */
export function downwardField(pod: KubeObject, fieldPath: string): { value: string } | { error: string } {
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript !== null) {
    const map = subscript[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return { value: map?.[subscript[2]!] ?? '' };
  }
  const status = statusOf(pod);
  const values: Record<string, () => unknown> = {
    'metadata.name': () => pod.metadata.name,
    'metadata.namespace': () => pod.metadata.namespace,
    'metadata.uid': () => pod.metadata.uid,
    'metadata.labels': () => formatMap(pod.metadata.labels),
    'metadata.annotations': () => formatMap(pod.metadata.annotations),
    'spec.nodeName': () => specOf(pod).nodeName,
    'spec.serviceAccountName': () => specOf(pod).serviceAccountName,
    'status.hostIP': () => status.hostIP,
    'status.podIP': () => status.podIP,
  };
  const read = values[fieldPath];
  if (read === undefined) return { error: `unsupported fieldPath: ${fieldPath}` };
  const value = read();
  return { value: typeof value === 'string' ? value : '' };
}
