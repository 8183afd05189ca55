/**
 * Reading the facts controllers decide on out of plain JSON objects: owners, pod phase and conditions,
 * readiness and availability, selectors. Pure; shared by the kubelet and every controller.
 */
import { isRecord } from '../../../api/is-record.js';
import { matchesLabelSelectorObject, type LabelSelectorObject } from '../selectors.js';
import type { KubeObject, OwnerReference } from '../types.js';

export type Json = Record<string, unknown>;

export function jsonList(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter(isRecord) as Json[]) : [];
}

/** A list of scalars (args, command, capability names) as strings; anything else is empty. */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v) => typeof v === 'string' || typeof v === 'number').map(String) : [];
}

export function specOf(object: KubeObject): Json {
  return isRecord(object.spec) ? object.spec : {};
}

export function statusOf(object: KubeObject): Json {
  return isRecord(object.status) ? object.status : {};
}

export function objectKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

export function splitObjectKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function controllerRefOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
}

export function ownerReferenceTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? 'v1',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isTerminating(object: KubeObject): boolean {
  return object.metadata.deletionTimestamp !== undefined;
}

export function timestampMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function podPhase(pod: KubeObject): string {
  const phase = statusOf(pod).phase;
  return typeof phase === 'string' ? phase : 'Pending';
}

export function podConditions(pod: KubeObject): Json[] {
  return jsonList(statusOf(pod).conditions);
}

export function podCondition(pod: KubeObject, type: string): Json | undefined {
  return podConditions(pod).find((c) => c.type === type);
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** controller.IsPodActive: counted towards a workload's replicas. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
}

/** podutil.IsPodAvailable: Ready for at least minReadySeconds. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = timestampMs(ready.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** When a Ready pod becomes available (undefined: it is already, or is not Ready). */
export function podAvailableAt(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True' || minReadySeconds <= 0) return undefined;
  const at = (timestampMs(ready.lastTransitionTime) ?? now) + minReadySeconds * 1000;
  return at > now ? at : undefined;
}

export function isRunningAndReady(pod: KubeObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod);
}

export function selectorOf(workload: KubeObject): LabelSelectorObject | undefined {
  const selector = specOf(workload).selector;
  return isRecord(selector) ? (selector as LabelSelectorObject) : undefined;
}

/** An empty or missing selector matches nothing for a workload (apps/v1 refuses one anyway). */
export function selectsObject(workload: KubeObject, object: KubeObject): boolean {
  const selector = selectorOf(workload);
  if (selector === undefined) return false;
  if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
    return false;
  return matchesLabelSelectorObject(selector, object.metadata.labels);
}

export function templateOf(workload: KubeObject): Json {
  const template = specOf(workload).template;
  return isRecord(template) ? template : {};
}

export function numberField(source: Json, field: string, fallback: number): number {
  const value = source[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function creationMs(object: KubeObject): number {
  return timestampMs(object.metadata.creationTimestamp) ?? 0;
}
