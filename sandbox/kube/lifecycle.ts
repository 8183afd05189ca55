/**
 * The controllers a real cluster runs next to the API server whose effects clients rely on, run inside the
 * store, synchronously: the garbage collector (ownerReferences), the namespace lifecycle (a default
 * ServiceAccount and the root CA ConfigMap; deletion empties the namespace first) and the CRD lifecycle
 * (registering served versions, Established/NamesAccepted, deleting instances before the CRD).
 */
import type { Logger } from 'pino';
import { crdResourceTypes, crdRulesFor, establishedStatus, CRD_CLEANUP_FINALIZER } from './crd.js';
import type { DeletionHooks, PropagationPolicy } from './deletion.js';
import { isStatusError } from './errors.js';
import { isBuiltIn } from './resource-types.js';
import type { KubeObject, ResourceType } from './types.js';
import type { TypeRules } from './type-rules.js';

export interface LifecycleHooks extends DeletionHooks {
  afterCreate(type: ResourceType, object: KubeObject): void;
  afterUpdate(type: ResourceType, object: KubeObject): void;
  afterRemove(type: ResourceType, object: KubeObject): void;
  /** A Terminating object whose finalizers are gone still waits (a namespace with contents). */
  holds(type: ResourceType, object: KubeObject): boolean;
}

/** What the controllers need of the store beyond the public contract. */
export interface StoreInternals {
  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  list(type: ResourceType, options?: { namespace?: string }): { items: KubeObject[] };
  create(type: ResourceType, object: KubeObject): KubeObject;
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options?: { propagationPolicy?: PropagationPolicy },
  ): KubeObject;
  typeOf(group: string, plural: string): ResourceType;
  resourceType(group: string, plural: string): ResourceType | undefined;
  objectByUid(uid: string): { type: ResourceType; object: KubeObject } | undefined;
  dependentsOf(uid: string): Array<{ type: ResourceType; object: KubeObject }>;
  objectsInNamespace(namespace: string): Array<{ type: ResourceType; object: KubeObject }>;
  writeInternal(type: ResourceType, object: KubeObject): KubeObject;
  removeInternal(type: ResourceType, object: KubeObject): KubeObject;
  /** Serves exactly these versions of a resource from now on, keeping its stored objects. */
  replaceServedVersions(group: string, plural: string, served: Array<{ type: ResourceType; rules: TypeRules }>): void;
  unregisterResource(group: string, plural: string): void;
}

export interface LifecycleOptions {
  /** The cluster CA, published in every namespace as ConfigMap kube-root-ca.crt. */
  rootCaPem?: string;
  logger?: Logger;
  now?: () => number;
}

function isNamespaces(type: ResourceType): boolean {
  return type.group === '' && type.plural === 'namespaces';
}

function isCrds(type: ResourceType): boolean {
  return type.group === 'apiextensions.k8s.io' && type.plural === 'customresourcedefinitions';
}

/** Deletes, tolerating an object that is already gone (another deletion got there first). */
function deleteQuietly(
  store: StoreInternals,
  type: ResourceType,
  object: KubeObject,
  policy: PropagationPolicy,
  logger?: Logger,
): void {
  try {
    store.delete(type, object.metadata.namespace, object.metadata.name!, { propagationPolicy: policy });
  } catch (error) {
    if (!isStatusError(error) || error.status.code !== 404)
      logger?.warn({ err: error, kind: type.kind, name: object.metadata.name }, 'lifecycle deletion failed');
  }
}

export function attachLifecycleControllers(store: StoreInternals, options: LifecycleOptions = {}): LifecycleHooks {
  const logger = options.logger;
  const now = options.now ?? Date.now;

  function populateNamespace(namespace: string): void {
    const serviceAccounts = store.typeOf('', 'serviceaccounts');
    if (store.get(serviceAccounts, namespace, 'default') === undefined) {
      store.create(serviceAccounts, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace },
      });
    }
    if (options.rootCaPem !== undefined) {
      const configMaps = store.typeOf('', 'configmaps');
      if (store.get(configMaps, namespace, 'kube-root-ca.crt') === undefined) {
        store.create(configMaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'kube-root-ca.crt',
            namespace,
            annotations: {
              'kubernetes.io/description':
                'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
            },
          },
          data: { 'ca.crt': options.rootCaPem },
        });
      }
    }
  }

  function finishNamespaceIfEmpty(namespace: string): void {
    const namespaces = store.typeOf('', 'namespaces');
    const ns = store.get(namespaces, undefined, namespace);
    if (ns === undefined || ns.metadata.deletionTimestamp === undefined) return;
    if (store.objectsInNamespace(namespace).length > 0) return;
    if ((ns.metadata.finalizers ?? []).length > 0) return;
    store.removeInternal(namespaces, ns);
  }

  function registerCrd(crd: KubeObject): void {
    const group = String((crd.spec as Record<string, unknown>).group);
    const plural = String(((crd.spec as Record<string, unknown>).names as Record<string, unknown>).plural);
    store.replaceServedVersions(
      group,
      plural,
      crdResourceTypes(crd).map((type) => ({ type, rules: crdRulesFor(crd, type) })),
    );
  }

  function finishCrdIfEmpty(crd: KubeObject): void {
    const crds = store.typeOf('apiextensions.k8s.io', 'customresourcedefinitions');
    const current = store.get(crds, undefined, crd.metadata.name!);
    if (current === undefined || current.metadata.deletionTimestamp === undefined) return;
    const [served] = crdResourceTypes(current);
    if (
      served !== undefined &&
      store.resourceType(served.group, served.plural) !== undefined &&
      store.list(served).items.length > 0
    )
      return;
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    if (served !== undefined) store.unregisterResource(served.group, served.plural);
    current.metadata.finalizers = finalizers;
    if (finalizers.length === 0) store.removeInternal(crds, current);
    else store.writeInternal(crds, current);
  }

  function collectGarbage(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    if (uid === undefined) return;
    for (const { type, object } of store.dependentsOf(uid)) {
      const others = (object.metadata.ownerReferences ?? []).filter(
        (ref) => ref.uid !== uid && store.objectByUid(ref.uid) !== undefined,
      );
      if (others.length > 0) {
        object.metadata.ownerReferences = (object.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
        store.writeInternal(type, object);
      } else if (object.metadata.deletionTimestamp === undefined) {
        deleteQuietly(store, type, object, 'Background', logger);
      }
    }
  }

  /** An owner in foreground deletion goes once its last dependent has. */
  function releaseForegroundOwners(removed: KubeObject): void {
    for (const ref of removed.metadata.ownerReferences ?? []) {
      const owner = store.objectByUid(ref.uid);
      if (owner === undefined || owner.object.metadata.deletionTimestamp === undefined) continue;
      if (!(owner.object.metadata.finalizers ?? []).includes('foregroundDeletion')) continue;
      if (store.dependentsOf(ref.uid).length > 0) continue;
      const finalizers = (owner.object.metadata.finalizers ?? []).filter((f) => f !== 'foregroundDeletion');
      owner.object.metadata.finalizers = finalizers;
      if (finalizers.length === 0 && (owner.object.metadata.deletionGracePeriodSeconds ?? 0) === 0)
        store.removeInternal(owner.type, owner.object);
      else store.writeInternal(owner.type, owner.object);
    }
  }

  return {
    afterCreate(type, object) {
      if (isNamespaces(type)) populateNamespace(object.metadata.name!);
      if (isCrds(type)) {
        registerCrd(object);
        store.writeInternal(type, { ...object, status: establishedStatus(object, undefined, false, now()) });
      }
    },
    afterUpdate(type, object) {
      if (isCrds(type) && object.metadata.deletionTimestamp === undefined) {
        registerCrd(object);
        const status = establishedStatus(object, object.status as Record<string, unknown> | undefined, false, now());
        if (JSON.stringify(status) !== JSON.stringify(object.status)) store.writeInternal(type, { ...object, status });
      }
    },
    afterRemove(type, object) {
      if (type.namespaced && object.metadata.namespace !== undefined) finishNamespaceIfEmpty(object.metadata.namespace);
      if (isCrds(type)) {
        const [served] = crdResourceTypes(object);
        if (served !== undefined) store.unregisterResource(served.group, served.plural);
      }
      const crdOwner = customResourceCrd(store, type);
      if (crdOwner !== undefined) finishCrdIfEmpty(crdOwner);
      collectGarbage(object);
      releaseForegroundOwners(object);
    },
    holds(type, object) {
      if (isNamespaces(type)) return store.objectsInNamespace(object.metadata.name!).length > 0;
      return false;
    },
    prepareDeletion(type, object) {
      if (isNamespaces(type)) {
        object.status = { ...((object.status as Record<string, unknown>) ?? {}), phase: 'Terminating' };
        return { holds: true };
      }
      if (isCrds(type)) {
        const finalizers = object.metadata.finalizers ?? [];
        if (!finalizers.includes(CRD_CLEANUP_FINALIZER))
          object.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
        object.status = establishedStatus(object, object.status as Record<string, unknown> | undefined, true, now());
        return { holds: true };
      }
      return { holds: false };
    },
    afterMarkedDeleting(type, object, policy) {
      if (isNamespaces(type)) {
        const namespace = object.metadata.name!;
        for (const { type: t, object: o } of store.objectsInNamespace(namespace)) {
          if (o.metadata.deletionTimestamp === undefined) deleteQuietly(store, t, o, 'Background', logger);
        }
        finishNamespaceIfEmpty(namespace);
        return;
      }
      if (isCrds(type)) {
        const [served] = crdResourceTypes(object);
        if (served !== undefined && store.resourceType(served.group, served.plural) !== undefined) {
          for (const instance of store.list(served).items) {
            if (instance.metadata.deletionTimestamp === undefined)
              deleteQuietly(store, served, instance, 'Background', logger);
          }
        }
        finishCrdIfEmpty(object);
        return;
      }
      if (policy === 'Foreground') {
        for (const { type: t, object: o } of store.dependentsOf(object.metadata.uid ?? '')) {
          if (o.metadata.deletionTimestamp === undefined) deleteQuietly(store, t, o, 'Foreground', logger);
        }
      }
    },
    orphanDependents(owner) {
      const uid = owner.metadata.uid ?? '';
      for (const { type, object } of store.dependentsOf(uid)) {
        object.metadata.ownerReferences = (object.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
        if (object.metadata.ownerReferences.length === 0) delete object.metadata.ownerReferences;
        store.writeInternal(type, object);
      }
    },
    hasDependents(owner) {
      return store.dependentsOf(owner.metadata.uid ?? '').length > 0;
    },
  };
}

/** The CRD that serves a custom resource type, if the type is one. */
function customResourceCrd(store: StoreInternals, type: ResourceType): KubeObject | undefined {
  if (isBuiltIn(type)) return undefined;
  return store.get(
    store.typeOf('apiextensions.k8s.io', 'customresourcedefinitions'),
    undefined,
    `${type.plural}.${type.group}`,
  );
}
