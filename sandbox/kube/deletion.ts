/**
 * One DELETE, as the generic registry runs it (BeforeDelete + graceful deletion + finalizers): check the
 * preconditions, then either remove the object at once or mark it Terminating (deletionTimestamp) until
 * its finalizers are gone and, for a pod, until the kubelet finishes it with a grace period of 0.
 */
import { conflict } from './errors.js';
import { rfc3339 } from './object-meta.js';
import type { TypeRules } from './type-rules.js';
import type { DeleteOptions, KubeObject, ResourceType } from './types.js';

export interface DeletionOutcome {
  /** The object as it now is (Terminating), or as it was when removed. */
  object: KubeObject;
  /** Gone from storage (false: still there, Terminating). */
  removed: boolean;
}

export type PropagationPolicy = NonNullable<DeleteOptions['propagationPolicy']>;

/** What the lifecycle controllers contribute to a deletion. */
export interface DeletionHooks {
  /** Server-side finalization the type itself needs (namespace contents, CRD instances); may edit the object. */
  prepareDeletion(type: ResourceType, object: KubeObject): { holds: boolean };
  afterMarkedDeleting(type: ResourceType, object: KubeObject, policy: PropagationPolicy): void;
  orphanDependents(object: KubeObject): void;
  hasDependents(object: KubeObject): boolean;
}

export interface DeletionContext {
  type: ResourceType;
  rules: TypeRules;
  now: () => number;
  markDeleting(object: KubeObject): KubeObject;
  remove(object: KubeObject): KubeObject;
  hooks: DeletionHooks;
}

const FOREGROUND_FINALIZER = 'foregroundDeletion';

function checkPreconditions(context: DeletionContext, current: KubeObject, options: DeleteOptions): void {
  const name = current.metadata.name ?? '';
  const wanted = options.preconditions;
  if (wanted?.uid !== undefined && wanted.uid !== '' && wanted.uid !== current.metadata.uid) {
    throw conflict(
      context.type,
      name,
      `Precondition failed: UID in precondition: ${wanted.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
    );
  }
  if (
    wanted?.resourceVersion !== undefined &&
    wanted.resourceVersion !== '' &&
    wanted.resourceVersion !== current.metadata.resourceVersion
  ) {
    throw conflict(
      context.type,
      name,
      `Precondition failed: ResourceVersion in precondition: ${wanted.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
    );
  }
}

export function runDeletion(context: DeletionContext, current: KubeObject, options: DeleteOptions): DeletionOutcome {
  checkPreconditions(context, current, options);
  const grace = Math.max(0, context.rules.gracePeriodSeconds?.(current, options) ?? 0);
  const meta = current.metadata;
  const finalizers = [...(meta.finalizers ?? [])];

  if (meta.deletionTimestamp !== undefined) {
    // Already Terminating: only a shorter grace period (the kubelet's final delete with 0) changes anything.
    const pending = meta.deletionGracePeriodSeconds ?? 0;
    if (grace >= pending) return { object: current, removed: false };
    if (options.dryRun === true) return { object: current, removed: grace === 0 && finalizers.length === 0 };
    if (grace === 0 && finalizers.length === 0) return { object: context.remove(current), removed: true };
    const shortened = structuredClone(current);
    shortened.metadata.deletionTimestamp = rfc3339(context.now() + grace * 1000);
    shortened.metadata.deletionGracePeriodSeconds = grace;
    return { object: context.markDeleting(shortened), removed: false };
  }

  const policy: PropagationPolicy = options.propagationPolicy ?? 'Background';
  const marked = structuredClone(current);
  const held = context.hooks.prepareDeletion(context.type, marked).holds;
  const markedFinalizers = [...(marked.metadata.finalizers ?? [])];
  if (
    policy === 'Foreground' &&
    context.hooks.hasDependents(current) &&
    !markedFinalizers.includes(FOREGROUND_FINALIZER)
  )
    markedFinalizers.push(FOREGROUND_FINALIZER);

  if (options.dryRun === true) {
    const goesAtOnce = !held && markedFinalizers.length === 0 && grace === 0;
    if (goesAtOnce) return { object: current, removed: true };
    marked.metadata.deletionTimestamp = rfc3339(context.now() + grace * 1000);
    marked.metadata.deletionGracePeriodSeconds = grace;
    return { object: marked, removed: false };
  }

  if (policy === 'Orphan') context.hooks.orphanDependents(current);
  if (!held && markedFinalizers.length === 0 && grace === 0) return { object: context.remove(current), removed: true };

  marked.metadata.deletionTimestamp = rfc3339(context.now() + grace * 1000);
  marked.metadata.deletionGracePeriodSeconds = grace;
  if (markedFinalizers.length > 0) marked.metadata.finalizers = markedFinalizers;
  if (context.rules.tracksGeneration && marked.metadata.generation !== undefined) marked.metadata.generation += 1;
  const result = context.markDeleting(marked);
  context.hooks.afterMarkedDeleting(context.type, result, policy);
  return { object: result, removed: false };
}
