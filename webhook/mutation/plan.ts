/**
 * Decides what the webhook does with one pod: allow it as is, allow it with a JSON Patch that holds it back
 * until its EIP works (a readiness gate, and an init container that waits for the address), or deny it with
 * every reason at once. Pure: the pod and the policy in, the plan out.
 */
import { effectiveReleaseStrategy } from '../../api/release-strategy.js';
import { INJECT_OVERRIDE_ANNOTATION, INJECT_OVERRIDE_VALUES, annotationKeys } from '../../api/annotations.js';
import { ALLOCATED_EIP_ADDRESS_ANNOTATION, EIP_CONDITION_TYPE } from '../../api/constants.js';
import { describeProblem, type AnnotationProblem, type EipRequest } from '../../api/eip-request.js';
import { deepFreeze } from '../../api/deep-freeze.js';
import { isRecord } from '../../api/is-record.js';
import { boundedMessages, echoed, echoedList } from '../../api/echo.js';
import { parseEipAnnotations } from '../../api/parse-annotations.js';
import type { InitContainerConfig, InjectionConfig, MutationPolicy, ResourceList } from '../config/types.js';
import type { ContainerJson, OwnerReferenceJson, PodJson, PodSpecJson, VolumeJson } from './pod.js';
import type { AdmissionOperation, JsonPatchOp, PodMutationPlan } from './types.js';
import { isWaitForEipContainer, WAIT_TIMEOUT_SECONDS_ENV, waitTimeoutWholeSeconds } from '../../api/wait-container.js';
import { waitForEipScript } from './wait-script.js';

export interface PodAdmissionInput {
  operation: AdmissionOperation;
  /** The request's namespace. */
  namespace: string;
  pod: PodJson;
}

/** Controllers that stamp out several identical pods, which would all ask for one static EIP. */
const REPLICATING_KINDS = new Set(['ReplicaSet', 'ReplicationController', 'DaemonSet', 'CloneSet']);
/** ACK honours TTL and Never release strategies only for StatefulSets (docs/annotations.md#release-strategies). */

const WARNING_PREFIX = 'podeip: ';

/** RFC 6901: `~` and `/` inside one reference token. */
export function escapeJsonPointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function planPodMutation(input: PodAdmissionInput, policy: MutationPolicy): PodMutationPlan {
  const { operation, pod } = input;
  const annotations = pod.metadata?.annotations;
  if (!annotations) return allow([], []);

  const parsed = parseEipAnnotations(annotations);
  if (operation !== 'CREATE') {
    // Readiness gates can only be set at creation, and an existing pod must stay updatable (and deletable).
    return allow([], parsed.kind === 'invalid' ? [describeProblems(parsed.problems)] : []);
  }

  const warnings = parsed.warnings.map((w) => WARNING_PREFIX + w);
  if (parsed.kind === 'none') return allow([], warnings);

  const problems = parsed.kind === 'invalid' ? [...parsed.problems] : [];
  const injection = readInjectionOverride(annotations, policy.injection);
  if ('problem' in injection) problems.push(injection.problem);
  const asking = pod.spec?.hostNetwork === true ? annotationAskingForEip(annotations) : undefined;
  if (asking) problems.push(hostNetworkProblem(asking));
  if (parsed.kind === 'invalid' || 'problem' in injection || problems.length > 0) return deny(problems, warnings);

  warnings.push(...workloadWarnings(pod, annotations, parsed.request, policy.statefulWorkloadKinds));
  const patch: JsonPatchOp[] = [];
  if (Object.hasOwn(annotations, ALLOCATED_EIP_ADDRESS_ANNOTATION)) {
    // A copied or hand-written address would open the init container before any EIP is bound.
    const path = `/metadata/annotations/${escapeJsonPointerToken(ALLOCATED_EIP_ADDRESS_ANNOTATION)}`;
    patch.push({ op: 'remove', path });
    warnings.push(
      `${WARNING_PREFIX}removed annotation ${ALLOCATED_EIP_ADDRESS_ANNOTATION}: podeip sets it once the EIP is bound`,
    );
  }
  if (isRecord(pod.spec)) patch.push(...planInjection(pod.spec, injection.injection, policy));
  return allow(patch, warnings);
}

function allow(patch: JsonPatchOp[], warnings: string[]): PodMutationPlan {
  return { decision: 'allow', patch, warnings };
}

function deny(problems: AnnotationProblem[], warnings: string[]): PodMutationPlan {
  return { decision: 'deny', problems, message: describeProblems(problems), warnings };
}

function describeProblems(problems: readonly AnnotationProblem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const listed = boundedMessages(problems.map(describeProblem), MAX_LISTED_PROBLEMS);
  return `${WARNING_PREFIX}${count} with the EIP annotations: ${listed.join('; ')}`;
}

/** More than any honest pod has (one per annotation podeip reads), few enough to keep the answer short. */
const MAX_LISTED_PROBLEMS = 20;

function arrayOrUndefined<T>(value: T[] | undefined): T[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

const INJECT_OVERRIDE_HELP = 'use "none", or readiness-gate and/or init-container separated by a comma';

/** `podeip.io/inject` replaces the configured choice for this pod; without it the configuration decides. */
function readInjectionOverride(
  annotations: Readonly<Record<string, string>>,
  configured: InjectionConfig,
): { injection: InjectionConfig } | { problem: AnnotationProblem } {
  const raw = annotations[INJECT_OVERRIDE_ANNOTATION];
  if (raw === undefined) return { injection: configured };
  const problem = (message: string) => ({ problem: { annotation: INJECT_OVERRIDE_ANNOTATION, value: raw, message } });

  const items = raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
  const known: readonly string[] = INJECT_OVERRIDE_VALUES;
  const unknown = items.filter((item) => !known.includes(item));
  if (items.length === 0) return problem(`is empty; ${INJECT_OVERRIDE_HELP}`);
  if (unknown.length > 0) {
    const list = echoedList(unknown);
    return problem(`has unknown ${unknown.length === 1 ? 'value' : 'values'} ${list}; ${INJECT_OVERRIDE_HELP}`);
  }
  if (items.includes('none') && items.some((item) => item !== 'none')) {
    return problem(`"none" cannot be combined with other values; ${INJECT_OVERRIDE_HELP}`);
  }
  return {
    injection: { readinessGate: items.includes('readiness-gate'), initContainer: items.includes('init-container') },
  };
}

const INSTANCE_ID_KEYS = annotationKeys('instanceId');
const WITH_EIP_KEYS = annotationKeys('withEip');
const RELEASE_STRATEGY_KEYS = annotationKeys('releaseStrategy');

/** The annotation through which the pod asks for an EIP, even when other annotations are invalid. */
function annotationAskingForEip(
  annotations: Readonly<Record<string, string>>,
): { key: string; value: string } | undefined {
  for (const key of INSTANCE_ID_KEYS) {
    const value = annotations[key];
    if (value !== undefined) return { key, value };
  }
  for (const key of WITH_EIP_KEYS) {
    const value = annotations[key];
    if (value !== undefined && value.trim().toLowerCase() === 'true') return { key, value };
  }
  return undefined;
}

function hostNetworkProblem(asking: { key: string; value: string }): AnnotationProblem {
  return {
    annotation: asking.key,
    value: asking.value,
    message:
      "cannot be used with spec.hostNetwork: true: an EIP is bound to the pod's own IP, and a host-network pod " +
      "shares the node's; remove hostNetwork or this annotation",
  };
}

/** The pod's managing controller, as `metav1.GetControllerOf` finds it. */
function controllerOf(pod: PodJson): OwnerReferenceJson | undefined {
  return arrayOrUndefined(pod.metadata?.ownerReferences)?.find((ref) => ref.controller === true);
}

function workloadWarnings(
  pod: PodJson,
  annotations: Readonly<Record<string, string>>,
  request: EipRequest,
  statefulKinds: readonly string[],
): string[] {
  const warnings: string[] = [];
  const controllerKind = controllerOf(pod)?.kind;
  if (request.mode === 'static' && controllerKind !== undefined && REPLICATING_KINDS.has(controllerKind)) {
    warnings.push(
      `${WARNING_PREFIX}every pod of this ${controllerKind} would claim the same static EIP; ` +
        'use a 1-replica StatefulSet or pod-with-eip',
    );
  }
  // The binder records the same rule; this says so where the pod's author may see it.
  const applies = effectiveReleaseStrategy(request.releaseStrategy, controllerKind, statefulKinds);
  const releaseKey =
    applies.warning === undefined ? undefined : RELEASE_STRATEGY_KEYS.find((key) => Object.hasOwn(annotations, key));
  if (releaseKey !== undefined)
    warnings.push(`${WARNING_PREFIX}${releaseKey}: "${echoed(annotations[releaseKey] ?? '')}" ${applies.warning}`);
  return warnings;
}

function planInjection(spec: PodSpecJson, injection: InjectionConfig, policy: MutationPolicy): JsonPatchOp[] {
  const patch: JsonPatchOp[] = [];
  if (injection.readinessGate) patch.push(...planReadinessGate(spec));
  if (injection.initContainer) {
    const volume = chooseVolume(spec, policy.volumeName);
    if (!volume.exists) {
      patch.push(appendOp('/spec/volumes', arrayOrUndefined(spec.volumes), podInfoVolume(volume.name)));
    }
    patch.push(...planInitContainer(spec, policy, volume.name));
  }
  return patch;
}

/** `add …/-` needs the array to exist: the whole array is added when it does not. */
function appendOp(path: string, existing: unknown[] | undefined, value: unknown): JsonPatchOp {
  return existing ? { op: 'add', path: `${path}/-`, value } : { op: 'add', path, value: [value] };
}

function planReadinessGate(spec: PodSpecJson): JsonPatchOp[] {
  const gates = arrayOrUndefined(spec.readinessGates);
  if (gates?.some((gate) => gate?.conditionType === EIP_CONDITION_TYPE)) return [];
  return [appendOp('/spec/readinessGates', gates, EIP_READINESS_GATE)];
}

/** Frozen, like the init container, so the review encoder keeps its encoded patch (see base64Patch). */
const EIP_READINESS_GATE = deepFreeze({ conditionType: EIP_CONDITION_TYPE });

interface NameCandidates {
  matches: (name: string | undefined) => boolean;
  nth: (n: number) => string;
}

/** Compiled once per base name: the bases come from the policy, which is fixed for the process. */
const candidatesByBase = new Map<string, NameCandidates>();

/** `base`, `base-1`, `base-2`, …: the names podeip may have given its own volume or container. */
function nameCandidates(base: string): NameCandidates {
  let candidates = candidatesByBase.get(base);
  if (!candidates) {
    const pattern = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:-[1-9][0-9]*)?$`);
    candidates = {
      matches: (name) => name !== undefined && pattern.test(name),
      nth: (n) => (n === 0 ? base : `${base}-${n}`),
    };
    candidatesByBase.set(base, candidates);
  }
  return candidates;
}

/** Lists of named things (volumes, or containers of each kind); a list the pod does not have is undefined. */
type NamedLists = ReadonlyArray<ReadonlyArray<{ name?: string } | null | undefined> | undefined>;

/**
 * The first of `base`, `base-1`, `base-2`, … that no item of the lists is named. The names are read once
 * into a set: a pod may list tens of thousands of containers, and trying each candidate against every one
 * of them would make a hostile pod cost the square of its size.
 */
function firstFreeName(base: string, lists: NamedLists): string {
  const taken = new Set<string>();
  for (const list of lists) {
    if (list === undefined) continue;
    for (const item of list) if (typeof item?.name === 'string') taken.add(item.name);
  }
  const candidates = nameCandidates(base);
  for (let n = 0; ; n++) if (!taken.has(candidates.nth(n))) return candidates.nth(n);
}

const DOWNWARD_ITEMS = [
  { path: 'annotations', fieldPath: 'metadata.annotations' },
  { path: 'labels', fieldPath: 'metadata.labels' },
] as const;

/** A downward-API volume that already exposes what the init container reads, in any item order. */
function isPodInfoVolume(volume: VolumeJson): boolean {
  const items = arrayOrUndefined(volume.downwardAPI?.items);
  return (
    items !== undefined &&
    DOWNWARD_ITEMS.every((want) =>
      items.some((item) => item?.path === want.path && item.fieldRef?.fieldPath === want.fieldPath),
    )
  );
}

function chooseVolume(spec: PodSpecJson, base: string): { name: string; exists: boolean } {
  const volumes = arrayOrUndefined(spec.volumes) ?? [];
  const candidates = nameCandidates(base);
  const own = volumes.find((volume) => candidates.matches(volume?.name) && isPodInfoVolume(volume));
  if (own?.name !== undefined) return { name: own.name, exists: true };
  return { name: firstFreeName(base, [volumes]), exists: false };
}

const podInfoVolumes = new Map<string, VolumeJson>();

/** One frozen volume per name, shared by every pod (see EIP_READINESS_GATE). */
function podInfoVolume(name: string): VolumeJson {
  let volume = podInfoVolumes.get(name);
  if (!volume) podInfoVolumes.set(name, (volume = deepFreeze(buildPodInfoVolume(name))));
  return volume;
}

function buildPodInfoVolume(name: string): VolumeJson {
  return {
    name,
    downwardAPI: {
      items: DOWNWARD_ITEMS.map((item) => ({ path: item.path, fieldRef: { fieldPath: item.fieldPath } })),
    },
  };
}

function planInitContainer(spec: PodSpecJson, policy: MutationPolicy, volumeName: string): JsonPatchOp[] {
  const initContainers = arrayOrUndefined(spec.initContainers);
  const candidates = nameCandidates(policy.initContainer.name);
  if (initContainers?.some((c) => candidates.matches(c?.name) && isWaitForEipContainer(c))) return [];

  // Container names are unique across app, init and ephemeral containers.
  const lists = [spec.containers, spec.initContainers, spec.ephemeralContainers].map((list) => arrayOrUndefined(list));
  const container = waitForEipContainer(firstFreeName(policy.initContainer.name, lists), policy, volumeName);
  // First, so no other init container (or native sidecar) starts before the address is known.
  return [
    initContainers
      ? { op: 'add', path: '/spec/initContainers/0', value: container }
      : { op: 'add', path: '/spec/initContainers', value: [container] },
  ];
}

/**
 * The init container depends only on the policy and two names, so it is built once per combination and
 * frozen: every pod then shares it, and the review encoder keeps its encoded patch (see base64Patch).
 */
const builtWaitForEipContainers = new WeakMap<MutationPolicy, Map<string, ContainerJson>>();

function waitForEipContainer(name: string, policy: MutationPolicy, volumeName: string): ContainerJson {
  let byNames = builtWaitForEipContainers.get(policy);
  if (!byNames) builtWaitForEipContainers.set(policy, (byNames = new Map()));
  const key = `${name}/${volumeName}`;
  let container = byNames.get(key);
  if (!container) byNames.set(key, (container = deepFreeze(buildWaitForEipContainer(name, policy, volumeName))));
  return container;
}

/** Copies only the quantities that are set: a JSON Patch value may not hold `undefined`. */
function resourceList(list: ResourceList | undefined): ResourceList {
  const copy: ResourceList = {};
  if (list?.cpu !== undefined) copy.cpu = list.cpu;
  if (list?.memory !== undefined) copy.memory = list.memory;
  return copy;
}

function annotationsFileUnder(mountPath: string): string {
  return `${mountPath.replace(/\/+$/, '')}/annotations`;
}

function buildWaitForEipContainer(name: string, policy: MutationPolicy, volumeName: string): ContainerJson {
  const config: InitContainerConfig = policy.initContainer;
  const script = waitForEipScript({
    annotationsFile: annotationsFileUnder(policy.mountPath),
    timeoutSeconds: config.timeoutSeconds,
    pollIntervalSeconds: config.pollIntervalSeconds,
  });
  return {
    name,
    image: config.image,
    imagePullPolicy: config.imagePullPolicy,
    command: ['sh', '-c', script],
    // The contract's statement of the timeout, for whatever must act as the script does (the sandbox's kubelet).
    env: [{ name: WAIT_TIMEOUT_SECONDS_ENV, value: String(waitTimeoutWholeSeconds(config.timeoutSeconds)) }],
    resources: { requests: resourceList(config.resources?.requests), limits: resourceList(config.resources?.limits) },
    volumeMounts: [{ name: volumeName, mountPath: policy.mountPath, readOnly: true }],
    // The timeout message then shows in `kubectl describe pod`, not only in the container's log.
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: {
      runAsNonRoot: true,
      runAsUser: config.runAsUser,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}
