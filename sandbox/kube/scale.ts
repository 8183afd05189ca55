/**
 * The `scale` subresource of Deployments, ReplicaSets and StatefulSets (what `kubectl scale` reads and
 * patches): an autoscaling/v1 Scale view of spec.replicas and status.replicas.
 */
import { isRecord } from '../../api/is-record.js';
import { staleConflict } from './errors.js';
import { applyPatch, type PatchType } from './patch.js';
import type { KubeObject, ResourceType } from './types.js';

export function hasScale(type: ResourceType): boolean {
  return type.group === 'apps' && ['deployments', 'replicasets', 'statefulsets'].includes(type.plural);
}

function selectorString(selector: unknown): string {
  const labels = isRecord(selector) && isRecord(selector.matchLabels) ? selector.matchLabels : {};
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

export function scaleOf(object: KubeObject): KubeObject {
  const spec = isRecord(object.spec) ? object.spec : {};
  const status = isRecord(object.status) ? object.status : {};
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: Number(spec.replicas ?? 0) },
    status: { replicas: Number(status.replicas ?? 0), selector: selectorString(spec.selector) },
  };
}

/** The object with spec.replicas from a written Scale; a stale Scale resourceVersion is a Conflict. */
export function applyScale(type: ResourceType, object: KubeObject, scale: KubeObject): KubeObject {
  const wanted = scale.metadata?.resourceVersion;
  if (wanted !== undefined && wanted !== '' && wanted !== object.metadata.resourceVersion)
    throw staleConflict(type, object.metadata.name ?? '');
  const replicas = isRecord(scale.spec) ? scale.spec.replicas : undefined;
  const updated = structuredClone(object);
  updated.spec = {
    ...(isRecord(updated.spec) ? updated.spec : {}),
    replicas: typeof replicas === 'number' ? replicas : 0,
  };
  return updated;
}

export function patchScale(type: ResourceType, object: KubeObject, patchType: PatchType, patch: unknown): KubeObject {
  const current = scaleOf(object);
  // A Scale is a built-in kind, so strategic merge is allowed even for custom owners; it has no lists.
  const patched = applyPatch(
    { ...type, group: 'autoscaling', plural: 'scales' },
    current,
    patchType === 'strategic' ? 'merge' : patchType,
    patch,
  );
  return applyScale(type, object, patched);
}
