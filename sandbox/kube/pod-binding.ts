/**
 * `pods/binding`, the scheduler's write: it alone may set spec.nodeName of an existing pod, once, and
 * records PodScheduled=True.
 */
import { isRecord } from '../../api/is-record.js';
import { conflict, notFound } from './errors.js';
import { rfc3339 } from './object-meta.js';
import type { KubeObject, ResourceType } from './types.js';

export interface BindingStore {
  resourceType(group: string, plural: string): ResourceType | undefined;
  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  writeInternal(type: ResourceType, object: KubeObject): KubeObject;
}

export function bindPodToNode(
  store: BindingStore,
  namespace: string,
  name: string,
  nodeName: string,
  now: number,
): KubeObject {
  const type = store.resourceType('', 'pods')!;
  const pod = store.get(type, namespace, name);
  if (pod === undefined) throw notFound(type, name);
  const spec = isRecord(pod.spec) ? pod.spec : {};
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '')
    throw conflict(type, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
  if (pod.metadata.deletionTimestamp !== undefined)
    throw conflict(type, name, `pod ${name} is being deleted, cannot be assigned to a host`);
  spec.nodeName = nodeName;
  pod.spec = spec;
  const status = isRecord(pod.status) ? pod.status : {};
  const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
    (c) => !(isRecord(c) && c.type === 'PodScheduled'),
  );
  conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(now) });
  status.conditions = conditions;
  pod.status = status;
  return store.writeInternal(type, pod);
}
