/**
 * Pods (pkg/registry/core/pod/strategy.go and validation): scheme defaults, status reset to Pending with
 * a QoS class on create, spec immutability on update, the status subresource's view of the object, and
 * graceful deletion for pods a node runs.
 */
import { isRecord } from '../../api/is-record.js';
import { causes, type FieldCause } from './errors.js';
import { validateName, validateQualifiedName } from './object-meta.js';
import { deepEqual, type TypeRules } from './type-rules.js';
import type { KubeObject } from './types.js';

type Json = Record<string, unknown>;

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter(isRecord) as Json[]) : [];
}

/** imagePullPolicy follows the tag: `latest` or none pulls Always, anything else IfNotPresent. */
function defaultPullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: Json): void {
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  container.imagePullPolicy ??= defaultPullPolicy(container.image);
  const resources = isRecord(container.resources) ? container.resources : {};
  container.resources = resources;
  // Limits without requests request what they limit (SetDefaults_ResourceRequirements).
  if (isRecord(resources.limits)) {
    const requests = isRecord(resources.requests) ? resources.requests : {};
    for (const [name, quantity] of Object.entries(resources.limits))
      if (requests[name] === undefined) requests[name] = quantity;
    resources.requests = requests;
  }
  for (const port of list(container.ports)) port.protocol ??= 'TCP';
  for (const env of list(container.env)) {
    if (isRecord(env.valueFrom) && isRecord(env.valueFrom.fieldRef)) env.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
}

function defaultVolume(volume: Json): void {
  for (const source of ['configMap', 'secret', 'downwardAPI', 'projected'] as const) {
    if (isRecord(volume[source])) (volume[source] as Json).defaultMode ??= 420;
  }
  if (isRecord(volume.downwardAPI)) {
    for (const item of list(volume.downwardAPI.items)) if (isRecord(item.fieldRef)) item.fieldRef.apiVersion ??= 'v1';
  }
  if (isRecord(volume.projected)) {
    for (const source of list(volume.projected.sources)) {
      if (isRecord(source.serviceAccountToken)) source.serviceAccountToken.expirationSeconds ??= 3600;
      if (isRecord(source.downwardAPI))
        for (const item of list(source.downwardAPI.items))
          if (isRecord(item.fieldRef)) item.fieldRef.apiVersion ??= 'v1';
    }
  }
}

/** SetDefaults_PodSpec and friends: what pods and pod templates alike get. */
export function defaultPodSpec(spec: Json): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) defaultContainer(c);
  for (const v of list(spec.volumes)) defaultVolume(v);
}

const QUANTITY = /^([+-]?[0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+)?$/;
const SCALE: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const m = QUANTITY.exec(value.trim());
  if (m === null) return undefined;
  const suffix = m[2] ?? '';
  const scale = suffix.startsWith('e') ? 10 ** Number(suffix.slice(1)) : (SCALE[suffix] ?? 1);
  return Number(m[1]) * scale;
}

/** qos.GetPodQOS: Guaranteed when every container limits cpu and memory at what it requests. */
export function podQosClass(spec: Json): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const resources = isRecord(c.resources) ? c.resources : {};
    const requests = isRecord(resources.requests) ? resources.requests : {};
    const limits = isRecord(resources.limits) ? resources.limits : {};
    for (const name of ['cpu', 'memory']) {
      if (requests[name] !== undefined || limits[name] !== undefined) any = true;
      const limit = parseQuantity(limits[name]);
      const request = parseQuantity(requests[name] ?? limits[name]);
      if (limit === undefined || request !== limit) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

/** The checks a wrong pod manifest is likely to hit, with the real field paths and messages. */
export function validatePodSpec(spec: unknown, path: string): FieldCause[] {
  if (!isRecord(spec)) return [causes.required(path)];
  const problems: FieldCause[] = [];
  const containers = list(spec.containers);
  if (containers.length === 0) problems.push(causes.required(`${path}.containers`));
  const names = new Set<string>();
  const check = (group: Json[], field: string): void =>
    group.forEach((c, i) => {
      const at = `${path}.${field}[${i}]`;
      if (typeof c.name !== 'string' || c.name === '') problems.push(causes.required(`${at}.name`));
      else {
        problems.push(...validateName(c.name, 'label', `${at}.name`));
        if (names.has(c.name)) problems.push(causes.duplicate(`${at}.name`, c.name));
        names.add(c.name);
      }
      if (typeof c.image !== 'string' || c.image.trim() === '') problems.push(causes.required(`${at}.image`));
    });
  check(containers, 'containers');
  check(list(spec.initContainers), 'initContainers');
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(String(spec.restartPolicy))) {
    problems.push(causes.notSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  }
  list(spec.readinessGates).forEach((gate, i) => {
    problems.push(
      ...validateQualifiedName(String(gate.conditionType ?? ''), `${path}.readinessGates[${i}].conditionType`),
    );
  });
  const volumes = new Set<string>();
  list(spec.volumes).forEach((v, i) => {
    if (typeof v.name !== 'string' || v.name === '') problems.push(causes.required(`${path}.volumes[${i}].name`));
    else if (volumes.has(v.name)) problems.push(causes.duplicate(`${path}.volumes[${i}].name`, v.name));
    else volumes.add(v.name);
  });
  [
    ...containers.map((c, i) => [c, `containers[${i}]`] as const),
    ...list(spec.initContainers).map((c, i) => [c, `initContainers[${i}]`] as const),
  ].forEach(([c, at]) => {
    list(c.volumeMounts).forEach((m, j) => {
      if (!volumes.has(String(m.name))) problems.push(causes.notFound(`${path}.${at}.volumeMounts[${j}].name`, m.name));
    });
  });
  return problems;
}

const SPEC_UPDATE_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Renders the changed top-level spec fields the way the real message's cmp.Diff tail lists them. */
function specDiff(munged: Json, old: Json): string {
  const fields = [...new Set([...Object.keys(munged), ...Object.keys(old)])].filter(
    (k) => !deepEqual(munged[k], old[k]),
  );
  const lines = fields.flatMap((k) => {
    const name = k.charAt(0).toUpperCase() + k.slice(1);
    return [`- \t${name}: ${JSON.stringify(old[k] ?? null)},`, `+ \t${name}: ${JSON.stringify(munged[k] ?? null)},`];
  });
  return `\n  core.PodSpec{\n  \t... // ${Object.keys(old).length - fields.length} identical fields\n${lines.join('\n')}\n  }\n`;
}

/** ValidatePodSpecUpdate: everything but the listed fields is fixed once the pod exists. */
export function validatePodSpecUpdate(spec: Json, old: Json): FieldCause[] {
  const munged = structuredClone(spec);
  for (const field of ['containers', 'initContainers'] as const) {
    const now = list(munged[field]);
    const before = list(old[field]);
    if (now.length === before.length) now.forEach((c, i) => (c.image = before[i]!.image));
  }
  const problems: FieldCause[] = [];
  const oldDeadline = old.activeDeadlineSeconds as number | undefined;
  const newDeadline = munged.activeDeadlineSeconds as number | undefined;
  if (oldDeadline === undefined || (newDeadline !== undefined && newDeadline <= oldDeadline)) {
    if (oldDeadline === undefined) delete munged.activeDeadlineSeconds;
    else munged.activeDeadlineSeconds = oldDeadline;
  } else if (newDeadline === undefined || newDeadline > oldDeadline) {
    problems.push(
      causes.invalid('spec.activeDeadlineSeconds', newDeadline ?? null, 'must be less than or equal to previous value'),
    );
    munged.activeDeadlineSeconds = oldDeadline;
  }
  const oldTolerations = list(old.tolerations);
  if (oldTolerations.every((t) => list(munged.tolerations).some((n) => deepEqual(n, t)))) {
    if (old.tolerations === undefined) delete munged.tolerations;
    else munged.tolerations = old.tolerations;
  }
  if (
    typeof old.terminationGracePeriodSeconds === 'number' &&
    old.terminationGracePeriodSeconds < 0 &&
    munged.terminationGracePeriodSeconds === 1
  ) {
    munged.terminationGracePeriodSeconds = old.terminationGracePeriodSeconds;
  }
  const oldGates = list(old.schedulingGates);
  if (list(munged.schedulingGates).every((g) => oldGates.some((o) => deepEqual(o, g)))) {
    if (old.schedulingGates === undefined) delete munged.schedulingGates;
    else munged.schedulingGates = old.schedulingGates;
  }
  if (!deepEqual(munged, old)) problems.push(causes.forbidden('spec', SPEC_UPDATE_MESSAGE + specDiff(munged, old)));
  return problems;
}

/** Condition types the kubelet owns; any other type must be a qualified name (a readiness gate's). */
const BUILT_IN_CONDITIONS = new Set([
  'PodScheduled',
  'Ready',
  'Initialized',
  'ContainersReady',
  'PodReadyToStartContainers',
  'DisruptionTarget',
  'PodResizePending',
  'PodResizeInProgress',
]);

export const podRules: TypeRules = {
  nameRule: 'subdomain',
  tracksGeneration: true,
  allowUnconditionalUpdate: true,
  returnsDeletedObject: true,
  applyDefaults(object) {
    if (!isRecord(object.spec)) return;
    defaultPodSpec(object.spec);
    // Pod-only: SetDefaults_Pod and the Priority admission plugin (which runs before webhooks).
    object.spec.enableServiceLinks ??= true;
    object.spec.priority ??= 0;
    object.spec.preemptionPolicy ??= 'PreemptLowerPriority';
  },
  prepareForCreate(object) {
    object.status = { phase: 'Pending', qosClass: podQosClass(isRecord(object.spec) ? object.spec : {}) };
  },
  prepareForStatusUpdate(object, old) {
    object.spec = structuredClone(old.spec);
    const meta = object.metadata;
    if (old.metadata.ownerReferences === undefined) delete meta.ownerReferences;
    else meta.ownerReferences = structuredClone(old.metadata.ownerReferences);
  },
  validate(object) {
    return validatePodSpec(object.spec, 'spec');
  },
  validateUpdate(object, old) {
    return validatePodSpecUpdate((object.spec ?? {}) as Json, (old.spec ?? {}) as Json);
  },
  validateStatusUpdate(object) {
    const status = isRecord(object.status) ? object.status : {};
    const problems: FieldCause[] = [];
    list(status.conditions).forEach((c, i) => {
      const type = String(c.type ?? '');
      if (!BUILT_IN_CONDITIONS.has(type)) problems.push(...validateQualifiedName(type, `status.conditions[${i}].type`));
    });
    return problems;
  },
  gracePeriodSeconds(pod: KubeObject, options) {
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const status = isRecord(pod.status) ? pod.status : {};
    // Nothing runs an unscheduled or finished pod, so there is nobody to wait for.
    if (
      typeof spec.nodeName !== 'string' ||
      spec.nodeName === '' ||
      status.phase === 'Succeeded' ||
      status.phase === 'Failed'
    )
      return 0;
    const requested =
      options.gracePeriodSeconds ??
      (typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30);
    return requested < 0 ? 1 : requested;
  },
};
