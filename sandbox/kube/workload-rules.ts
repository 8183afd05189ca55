/**
 * apps/v1 Deployments, ReplicaSets and StatefulSets: scheme defaults, status reset on create, the
 * selector/template agreement, selector immutability, and the StatefulSet fields that may change.
 */
import { isRecord } from '../../api/is-record.js';
import { causes, GoValue, type FieldCause } from './errors.js';
import { defaultPodSpec, validatePodSpec } from './pod-rules.js';
import { matchesLabelSelectorObject, type LabelSelectorObject } from './selectors.js';
import { deepEqual, type TypeRules } from './type-rules.js';
import type { KubeObject } from './types.js';

type Json = Record<string, unknown>;
type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet';

function specOf(object: KubeObject): Json {
  if (!isRecord(object.spec)) object.spec = {};
  return object.spec as Json;
}

function applyWorkloadDefaults(kind: WorkloadKind, object: KubeObject): void {
  const spec = specOf(object);
  spec.replicas ??= 1;
  if (kind === 'Deployment') {
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    const strategy = isRecord(spec.strategy) ? spec.strategy : {};
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') {
      const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
      rolling.maxUnavailable ??= '25%';
      rolling.maxSurge ??= '25%';
      strategy.rollingUpdate = rolling;
    }
    spec.strategy = strategy;
  }
  if (kind === 'StatefulSet') {
    spec.revisionHistoryLimit ??= 10;
    spec.podManagementPolicy ??= 'OrderedReady';
    const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') {
      const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
      rolling.partition ??= 0;
      strategy.rollingUpdate = rolling;
    }
    spec.updateStrategy = strategy;
    spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
  }
  const template = isRecord(spec.template) ? spec.template : undefined;
  if (template !== undefined && isRecord(template.spec)) defaultPodSpec(template.spec);
}

/** Go's %#v of a label map, as the real messages print it. */
function goMap(labels: unknown): string {
  if (!isRecord(labels)) return 'map[string]string(nil)';
  return `map[string]string{${Object.entries(labels)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(', ')}}`;
}

function validateWorkload(kind: WorkloadKind, object: KubeObject): FieldCause[] {
  const spec = specOf(object);
  const problems: FieldCause[] = [];
  const selector = spec.selector;
  const template = isRecord(spec.template) ? spec.template : undefined;
  const templateLabels =
    template !== undefined && isRecord(template.metadata)
      ? (template.metadata.labels as Record<string, string> | undefined)
      : undefined;
  if (!isRecord(selector)) problems.push(causes.required('spec.selector'));
  else if (
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    ((selector.matchExpressions as unknown[] | undefined) ?? []).length === 0
  ) {
    problems.push(causes.invalid('spec.selector', selector, `empty selector is invalid for ${kind.toLowerCase()}`));
  }
  if (typeof spec.replicas === 'number' && spec.replicas < 0)
    problems.push(causes.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  if (template === undefined) return [...problems, causes.required('spec.template')];
  if (isRecord(selector) && !matchesLabelSelectorObject(selector as LabelSelectorObject, templateLabels)) {
    problems.push(
      causes.invalid(
        'spec.template.metadata.labels',
        new GoValue(goMap(templateLabels)),
        '`selector` does not match template `labels`',
      ),
    );
  }
  problems.push(...validatePodSpec(template.spec, 'spec.template.spec'));
  const restart = isRecord(template.spec) ? template.spec.restartPolicy : undefined;
  if (restart !== undefined && restart !== 'Always')
    problems.push(causes.notSupported('spec.template.spec.restartPolicy', restart, ['Always']));
  return problems;
}

const STATEFULSET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function validateWorkloadUpdate(kind: WorkloadKind, object: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(object);
  const oldSpec = isRecord(old.spec) ? old.spec : {};
  const problems: FieldCause[] = [];
  if (!deepEqual(spec.selector, oldSpec.selector))
    problems.push(causes.invalid('spec.selector', spec.selector ?? null, 'field is immutable'));
  if (kind === 'StatefulSet') {
    const fixed = (s: Json): Json =>
      Object.fromEntries(Object.entries(s).filter(([k]) => !STATEFULSET_MUTABLE.includes(k) && k !== 'selector'));
    if (!deepEqual(fixed(spec), fixed(oldSpec))) {
      problems.push(
        causes.forbidden(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
    }
  }
  return problems;
}

export function workloadRules(kind: WorkloadKind): TypeRules {
  return {
    nameRule: 'subdomain',
    tracksGeneration: true,
    allowUnconditionalUpdate: true,
    returnsDeletedObject: false,
    applyDefaults: (object) => applyWorkloadDefaults(kind, object),
    prepareForCreate(object) {
      object.status = {};
    },
    prepareForStatusUpdate(object, old) {
      // The status strategy keeps the old spec and labels (deploymentStatusStrategy.PrepareForUpdate).
      const status = object.status;
      const metadata = { ...object.metadata, labels: old.metadata.labels };
      if (old.metadata.labels === undefined) delete metadata.labels;
      for (const key of Object.keys(object)) delete object[key];
      Object.assign(object, structuredClone(old), { metadata, status });
      if (metadata.ownerReferences === undefined && old.metadata.ownerReferences !== undefined)
        metadata.ownerReferences = old.metadata.ownerReferences;
    },
    validate: (object) => validateWorkload(kind, object),
    validateUpdate: (object, old) => validateWorkloadUpdate(kind, object, old),
  };
}
