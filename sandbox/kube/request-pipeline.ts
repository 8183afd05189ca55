/**
 * One write as kube-apiserver handles it after authentication: decode checks, defaulting, the built-in
 * admission plugins, the mutating webhook chain (dry run included), then the store's validation, the
 * ValidatingAdmissionPolicies and storage. The HTTP handlers and in-process callers that want webhooks
 * to see their writes share it.
 */
import { isRecord } from '../../api/is-record.js';
import { badRequest, causes, invalid, notFound, statusSuccess } from './errors.js';
import { pruneUnknownFields } from './crd-schema.js';
import { crdVersion } from './crd.js';
import { admitBuiltIn } from './built-in-admission.js';
import { applyPatch, type PatchType } from './patch.js';
import { isBuiltIn } from './resource-types.js';
import type { SandboxClusterStore } from './store.js';
import { createPolicyValidation } from './admission/policy-dispatcher.js';
import type { Logger } from 'pino';
import {
  StatusError,
  type AdmissionChain,
  type DeleteOptions,
  type KubeObject,
  type KubeStatus,
  type ListOptions,
  type ResourceType,
  type UserInfo,
} from './types.js';

export interface RequestOptions {
  userInfo?: UserInfo;
  dryRun?: boolean;
  fieldManager?: string;
  /** Unknown fields of a custom resource: Strict fails the request, Warn (the default) warns, Ignore is silent. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  subresource?: string;
}

export interface WriteResult<T = KubeObject> {
  object: T;
  warnings: string[];
  /** 201 for a create (an apply that created), 200 otherwise. */
  code: number;
}

export interface RequestPipeline {
  create(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options?: RequestOptions,
  ): Promise<WriteResult>;
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options?: RequestOptions,
  ): Promise<WriteResult>;
  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    options?: RequestOptions,
  ): Promise<WriteResult>;
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    deleteOptions?: DeleteOptions,
    options?: RequestOptions,
  ): Promise<WriteResult<KubeObject | KubeStatus>>;
  deleteCollection(
    type: ResourceType,
    list: ListOptions,
    deleteOptions?: DeleteOptions,
    options?: RequestOptions,
  ): Promise<WriteResult<KubeObject[]>>;
}

export const ADMIN_USER: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

/** Webhooks are never called for webhook configurations, so a broken webhook cannot lock itself in. */
function skipsAdmission(type: ResourceType): boolean {
  return (
    type.group === 'admissionregistration.k8s.io' &&
    (type.plural === 'mutatingwebhookconfigurations' || type.plural === 'validatingwebhookconfigurations')
  );
}

const MAX_PATCH_ATTEMPTS = 5;

export function createRequestPipeline(
  store: SandboxClusterStore,
  admission: () => AdmissionChain | undefined,
  logger?: Logger,
): RequestPipeline {
  // Built in, as in kube-apiserver: policies hold whether or not a webhook chain is configured.
  const policies = createPolicyValidation(store, logger);

  /** The store's validating admission for one write; the Warn bindings' warnings go into `warnings`. */
  function validating(
    operation: 'CREATE' | 'UPDATE' | 'DELETE',
    type: ResourceType,
    namespace: string | undefined,
    options: RequestOptions,
    requestOptions: Record<string, unknown>,
    warnings: string[],
  ): (object: KubeObject | undefined, old: KubeObject | undefined) => void {
    return (object, old) => {
      warnings.push(
        ...policies.validate({
          operation,
          type,
          ...(options.subresource === undefined ? {} : { subresource: options.subresource }),
          ...(namespace === undefined ? {} : { namespace }),
          name: (object ?? old)?.metadata.name ?? '',
          ...(object === undefined ? {} : { object }),
          ...(old === undefined ? {} : { oldObject: old }),
          dryRun: options.dryRun === true,
          userInfo: options.userInfo ?? ADMIN_USER,
          options: requestOptions,
        }),
      );
    };
  }

  async function admit(
    operation: 'CREATE' | 'UPDATE' | 'DELETE',
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
    options: RequestOptions,
    requestOptions: Record<string, unknown>,
  ): Promise<{ object: KubeObject | undefined; warnings: string[] }> {
    const chain = admission();
    if (chain === undefined || skipsAdmission(type)) return { object, warnings: [] };
    const result = await chain.admit({
      operation,
      type,
      ...(options.subresource === undefined ? {} : { subresource: options.subresource }),
      ...(namespace === undefined ? {} : { namespace }),
      name,
      ...(object === undefined ? {} : { object: structuredClone(object) }),
      ...(oldObject === undefined ? {} : { oldObject: structuredClone(oldObject) }),
      dryRun: options.dryRun === true,
      userInfo: options.userInfo ?? ADMIN_USER,
      options: requestOptions,
    });
    return { object: result.object ?? object, warnings: result.warnings };
  }

  /** Decoding: the wire checks, scheme defaults and, for custom resources, pruning with fieldValidation. */
  function decode(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: RequestOptions,
  ): { object: KubeObject; warnings: string[] } {
    if (!isRecord(body)) throw badRequest(`the object provided is unrecognized (must be of type ${type.kind})`);
    const object = structuredClone(body) as KubeObject;
    if (!isRecord(object.metadata)) object.metadata = {};
    if (typeof object.kind === 'string' && object.kind !== type.kind && object.kind !== '') {
      throw badRequest(`the kind of the object (${object.kind}) does not match the expected kind (${type.kind})`);
    }
    if (type.namespaced) {
      const given = object.metadata.namespace;
      if (typeof given === 'string' && given !== '' && given !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace;
    } else {
      delete object.metadata.namespace;
    }
    const rules = store.rulesFor(type);
    rules.decode?.(object);
    const warnings: string[] = [];
    if (!isBuiltIn(type)) {
      const schema = store.get(
        store.resourceType('apiextensions.k8s.io', 'customresourcedefinitions')!,
        undefined,
        `${type.plural}.${type.group}`,
      );
      const unknown =
        schema === undefined
          ? []
          : pruneUnknownFields(structuredClone(object), crdVersion(schema, type.version)?.schema?.openAPIV3Schema);
      const mode = options.fieldValidation ?? 'Warn';
      if (unknown.length > 0 && mode === 'Strict')
        throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
      if (mode === 'Warn') warnings.push(...unknown.map((f) => `unknown field "${f}"`));
    }
    rules.applyDefaults?.(object, store.ruleContext());
    return { object, warnings };
  }

  async function create(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<WriteResult> {
    const decoded = decode(type, namespace, body, options);
    // NamespaceLifecycle runs before any webhook, so webhooks never see writes into a missing namespace.
    if (type.namespaced) store.requireLiveNamespace(type, namespace!, decoded.object.metadata.name ?? '');
    admitBuiltIn(type, decoded.object, store);
    const admitted = await admit(
      'CREATE',
      type,
      namespace,
      decoded.object.metadata.name ?? '',
      decoded.object,
      undefined,
      options,
      createOptions(options),
    );
    const validated: string[] = [];
    const object = store.create(type, admitted.object!, {
      dryRun: options.dryRun === true,
      validate: validating('CREATE', type, namespace, options, createOptions(options), validated),
    });
    return { object, warnings: [...decoded.warnings, ...admitted.warnings, ...validated], code: 201 };
  }

  async function update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<WriteResult> {
    const decoded = decode(type, namespace, body, options);
    const bodyName = decoded.object.metadata.name;
    if (bodyName !== undefined && bodyName !== name)
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    decoded.object.metadata.name = name;
    const current = store.get(type, namespace, name);
    if (current === undefined) throw notFound(type, name);
    const admitted = await admit(
      'UPDATE',
      type,
      namespace,
      name,
      decoded.object,
      current,
      options,
      updateOptions(options),
    );
    const validated: string[] = [];
    const object = store.update(type, admitted.object!, {
      dryRun: options.dryRun === true,
      ...(options.subresource === undefined ? {} : { subresource: options.subresource }),
      validate: validating('UPDATE', type, namespace, options, updateOptions(options), validated),
    });
    return { object, warnings: [...decoded.warnings, ...admitted.warnings, ...validated], code: 200 };
  }

  async function patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<WriteResult> {
    if (patchType === 'apply' && (options.fieldManager === undefined || options.fieldManager === '')) {
      throw badRequest('PATCH, fieldManager is required for apply requests (use the fieldManager query parameter)');
    }
    for (let attempt = 1; ; attempt++) {
      const current = store.get(type, namespace, name);
      if (current === undefined) {
        if (patchType !== 'apply' || options.subresource !== undefined) throw notFound(type, name);
        return create(type, namespace, body, options);
      }
      const patched = applyPatch(type, current, patchType, body);
      if (!isRecord(patched.metadata)) patched.metadata = {};
      if (patched.metadata.name !== name)
        throw badRequest(
          `the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${name})`,
        );
      // A patch has no uid precondition: a uid that differs from the object's fails validation instead.
      if (typeof patched.metadata.uid === 'string' && patched.metadata.uid !== current.metadata.uid) {
        throw invalid(type, name, [causes.invalid('metadata.uid', patched.metadata.uid, 'field is immutable')]);
      }
      // A resourceVersion the patch itself sets is a precondition; otherwise the patch applies to the latest.
      const precondition = patched.metadata.resourceVersion !== current.metadata.resourceVersion;
      const decoded = decode(type, namespace, patched, options);
      try {
        const admitted = await admit(
          'UPDATE',
          type,
          namespace,
          name,
          decoded.object,
          current,
          options,
          updateOptions(options),
        );
        const validated: string[] = [];
        const object = store.update(type, admitted.object!, {
          dryRun: options.dryRun === true,
          ...(options.subresource === undefined ? {} : { subresource: options.subresource }),
          validate: validating('UPDATE', type, namespace, options, updateOptions(options), validated),
        });
        return { object, warnings: [...decoded.warnings, ...admitted.warnings, ...validated], code: 200 };
      } catch (error) {
        const retriable =
          error instanceof StatusError &&
          error.status.reason === 'Conflict' &&
          !precondition &&
          attempt < MAX_PATCH_ATTEMPTS;
        if (!retriable) throw error;
      }
    }
  }

  async function remove(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    deleteOptions: DeleteOptions = {},
    options: RequestOptions = {},
  ): Promise<WriteResult<KubeObject | KubeStatus>> {
    const current = store.get(type, namespace, name);
    if (current === undefined) throw notFound(type, name);
    const dryRun = options.dryRun === true || deleteOptions.dryRun === true;
    const requestOptions = {
      kind: 'DeleteOptions',
      apiVersion: 'meta.k8s.io/v1',
      ...deleteOptions,
      ...(dryRun ? { dryRun: ['All'] } : {}),
    };
    const admitted = await admit(
      'DELETE',
      type,
      namespace,
      name,
      undefined,
      current,
      { ...options, dryRun },
      requestOptions,
    );
    // kube-apiserver validates a deletion against the stored object, before the store removes it.
    validating(
      'DELETE',
      type,
      namespace,
      { ...options, dryRun },
      requestOptions,
      admitted.warnings,
    )(undefined, current);
    const outcome = store.deleteWithOutcome(type, namespace, name, { ...deleteOptions, dryRun });
    if (outcome.removed && !store.rulesFor(type).returnsDeletedObject) {
      const details: NonNullable<KubeStatus['details']> & { uid?: string } = {
        name,
        kind: type.plural,
        uid: current.metadata.uid,
      };
      if (type.group !== '') details.group = type.group;
      return { object: statusSuccess(details), warnings: admitted.warnings, code: 200 };
    }
    return { object: outcome.object, warnings: admitted.warnings, code: 200 };
  }

  async function deleteCollection(
    type: ResourceType,
    list: ListOptions,
    deleteOptions: DeleteOptions = {},
    options: RequestOptions = {},
  ): Promise<WriteResult<KubeObject[]>> {
    const deleted: KubeObject[] = [];
    const warnings: string[] = [];
    for (const item of store.list(type, list).items) {
      try {
        const result = await remove(type, item.metadata.namespace, item.metadata.name!, deleteOptions, options);
        warnings.push(...result.warnings);
        deleted.push(item);
      } catch (error) {
        if (!(error instanceof StatusError && error.status.code === 404)) throw error;
      }
    }
    return { object: deleted, warnings, code: 200 };
  }

  return { create, update, patch, delete: remove, deleteCollection };
}

function createOptions(options: RequestOptions): Record<string, unknown> {
  return {
    kind: 'CreateOptions',
    apiVersion: 'meta.k8s.io/v1',
    ...(options.dryRun === true ? { dryRun: ['All'] } : {}),
    ...(options.fieldManager === undefined ? {} : { fieldManager: options.fieldManager }),
  };
}

function updateOptions(options: RequestOptions): Record<string, unknown> {
  return {
    kind: 'UpdateOptions',
    apiVersion: 'meta.k8s.io/v1',
    ...(options.dryRun === true ? { dryRun: ['All'] } : {}),
    ...(options.fieldManager === undefined ? {} : { fieldManager: options.fieldManager }),
  };
}
