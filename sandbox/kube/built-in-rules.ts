/**
 * Rules for the built-in resources other than pods and workloads: namespaces, nodes, services (cluster
 * IP allocation), secrets (stringData, base64), leases (MicroTime), webhook configurations (defaults
 * the admission dispatcher relies on), admission policies (admission/policy-rules.ts) and CRDs.
 */
import { randomInt } from 'node:crypto';
import { isRecord } from '../../api/is-record.js';
import { badRequest, causes, GoValue, type FieldCause } from './errors.js';
import { validatingAdmissionPolicyBindingRules, validatingAdmissionPolicyRules } from './admission/policy-rules.js';
import { bindingRules, roleRules } from './auth/rbac-rules.js';
import { validateCrd } from './crd.js';
import { microTimeParseError } from './object-meta.js';
import { podRules } from './pod-rules.js';
import { storageKey } from './resource-types.js';
import { DEFAULT_RULES, deepEqual, type TypeRules } from './type-rules.js';
import { workloadRules } from './workload-rules.js';
import type { KubeObject, ResourceType } from './types.js';

type Json = Record<string, unknown>;

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter(isRecord) as Json[]) : [];
}

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

const namespaceRules: TypeRules = {
  ...DEFAULT_RULES,
  nameRule: 'label',
  applyDefaults(object) {
    // The NamespaceDefaultLabelName feature: the label namespaceSelectors match namespaces by name with.
    object.metadata.labels = {
      ...(object.metadata.labels ?? {}),
      'kubernetes.io/metadata.name': object.metadata.name ?? '',
    };
    const spec = isRecord(object.spec) ? object.spec : {};
    spec.finalizers ??= ['kubernetes'];
    object.spec = spec;
  },
  prepareForCreate(object) {
    object.status = { phase: 'Active' };
  },
  prepareForUpdate(object, old) {
    object.spec = structuredClone(old.spec);
  },
  refuseDelete(object) {
    return PROTECTED_NAMESPACES.has(object.metadata.name ?? '') ? 'this namespace may not be deleted' : undefined;
  },
};

const nodeRules: TypeRules = {
  ...DEFAULT_RULES,
  prepareForCreate() {
    // Nodes keep the status they register with.
  },
  prepareForStatusUpdate(object, old) {
    object.spec = structuredClone(old.spec);
  },
};

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

/** A free address in the default service CIDR 10.96.0.0/12 (10.96.0.1 is the `kubernetes` service). */
function allocateClusterIp(used: Set<string>): string {
  for (;;) {
    const n = randomInt(2, 0x100000 - 1);
    const ip = `10.${96 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
    if (!used.has(ip)) return ip;
  }
}

const serviceRules: TypeRules = {
  ...DEFAULT_RULES,
  nameRule: 'dns1035',
  returnsDeletedObject: true,
  applyDefaults(object) {
    const spec = isRecord(object.spec) ? object.spec : {};
    object.spec = spec;
    spec.type ??= 'ClusterIP';
    if (spec.type === 'ExternalName') return;
    spec.sessionAffinity ??= 'None';
    spec.internalTrafficPolicy ??= 'Cluster';
    for (const port of list(spec.ports)) {
      port.protocol ??= 'TCP';
      port.targetPort ??= port.port;
    }
  },
  prepareForCreate(object, context) {
    object.status = { loadBalancer: {} };
    const spec = object.spec as Json;
    if (spec.type === 'ExternalName') return;
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      const services = context.store.resourceType('', 'services')!;
      const used = new Set(
        context.store.list(services).items.map((s) => String((s.spec as Json | undefined)?.clusterIP ?? '')),
      );
      spec.clusterIP = allocateClusterIp(used);
    }
    spec.clusterIPs ??= [spec.clusterIP];
    if (spec.clusterIP !== 'None') {
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      for (const port of list(spec.ports)) port.nodePort ??= randomInt(30000, 32768);
    }
  },
  prepareForUpdate(object, old) {
    const spec = isRecord(object.spec) ? object.spec : {};
    const oldSpec = isRecord(old.spec) ? old.spec : {};
    for (const field of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
      if ((spec[field] === undefined || spec[field] === '') && oldSpec[field] !== undefined)
        spec[field] = structuredClone(oldSpec[field]);
    }
  },
  validate(object) {
    const spec = isRecord(object.spec) ? object.spec : {};
    const problems: FieldCause[] = [];
    if (!SERVICE_TYPES.includes(String(spec.type)))
      problems.push(causes.notSupported('spec.type', spec.type, SERVICE_TYPES));
    if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && list(spec.ports).length === 0)
      problems.push(causes.required('spec.ports'));
    list(spec.ports).forEach((port, i) => {
      if (typeof port.port !== 'number' || port.port < 1 || port.port > 65535) {
        problems.push(
          causes.invalid(`spec.ports[${i}].port`, port.port ?? 0, 'must be between 1 and 65535, inclusive'),
        );
      }
    });
    return problems;
  },
  validateUpdate(object, old) {
    const now = (object.spec as Json | undefined)?.clusterIP;
    const before = (old.spec as Json | undefined)?.clusterIP;
    return before !== undefined && now !== before
      ? [
          causes.invalid(
            'spec.clusterIPs[0]',
            new GoValue(`[]string{${JSON.stringify(now)}}`),
            'may not change once set',
          ),
        ]
      : [];
  },
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function validateDataKeys(data: unknown, field: string): FieldCause[] {
  return Object.keys(isRecord(data) ? data : {})
    .filter((key) => !CONFIG_KEY.test(key) || key.length > 253)
    .map((key) =>
      causes.invalid(
        `${field}[${key}]`,
        key,
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      ),
    );
}

const secretRules: TypeRules = {
  ...DEFAULT_RULES,
  decode(object) {
    for (const [key, value] of Object.entries(isRecord(object.data) ? object.data : {})) {
      if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
        throw badRequest(
          `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${typeof value === 'string' ? Math.max(0, value.search(/[^A-Za-z0-9+/=]/)) : 0} (key ${key})`,
        );
      }
    }
  },
  applyDefaults(object) {
    object.type ??= 'Opaque';
    // stringData is write-only: it lands in data, base64-encoded, and is never stored.
    if (isRecord(object.stringData)) {
      const data = isRecord(object.data) ? object.data : {};
      for (const [key, value] of Object.entries(object.stringData))
        data[key] = Buffer.from(String(value), 'utf8').toString('base64');
      object.data = data;
      delete object.stringData;
    }
  },
  validate(object) {
    return validateDataKeys(object.data, 'data');
  },
};

const configMapRules: TypeRules = {
  ...DEFAULT_RULES,
  validate(object) {
    return [...validateDataKeys(object.data, 'data'), ...validateDataKeys(object.binaryData, 'binaryData')];
  },
};

function checkMicroTime(object: KubeObject, fields: string[]): void {
  const spec = isRecord(object.spec) ? object.spec : {};
  for (const field of fields) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    const problem = typeof value === 'string' ? microTimeParseError(value) : 'expected a string';
    if (problem !== undefined) throw badRequest(`Lease in version "v1" cannot be handled as a Lease: ${problem}`);
  }
}

const leaseRules: TypeRules = {
  ...DEFAULT_RULES,
  decode: (object) => checkMicroTime(object, ['acquireTime', 'renewTime']),
  validate(object) {
    const spec = isRecord(object.spec) ? object.spec : {};
    const problems: FieldCause[] = [];
    if (
      spec.leaseDurationSeconds !== undefined &&
      (typeof spec.leaseDurationSeconds !== 'number' || spec.leaseDurationSeconds <= 0)
    ) {
      problems.push(causes.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
    }
    if (
      spec.leaseTransitions !== undefined &&
      (typeof spec.leaseTransitions !== 'number' || spec.leaseTransitions < 0)
    ) {
      problems.push(
        causes.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'),
      );
    }
    return problems;
  },
};

function webhookConfigurationRules(mutating: boolean): TypeRules {
  return {
    ...DEFAULT_RULES,
    tracksGeneration: true,
    specChanged: (object, old) => !deepEqual(object.webhooks, old.webhooks),
    applyDefaults(object) {
      for (const webhook of list(object.webhooks)) {
        webhook.failurePolicy ??= 'Fail';
        webhook.matchPolicy ??= 'Equivalent';
        webhook.namespaceSelector ??= {};
        webhook.objectSelector ??= {};
        webhook.timeoutSeconds ??= 10;
        if (mutating) webhook.reinvocationPolicy ??= 'Never';
        const service =
          isRecord(webhook.clientConfig) && isRecord(webhook.clientConfig.service)
            ? webhook.clientConfig.service
            : undefined;
        if (service !== undefined) service.port ??= 443;
        for (const rule of list(webhook.rules)) rule.scope ??= '*';
      }
    },
    validate(object) {
      const problems: FieldCause[] = [];
      const names = new Set<string>();
      list(object.webhooks).forEach((webhook, i) => {
        const at = `webhooks[${i}]`;
        const name = String(webhook.name ?? '');
        if (name === '') problems.push(causes.required(`${at}.name`));
        else if (!name.includes('.'))
          problems.push(
            causes.invalid(`${at}.name`, name, 'should be a domain with at least three segments separated by dots'),
          );
        if (names.has(name)) problems.push(causes.duplicate(`${at}.name`, name));
        names.add(name);
        if (!['None', 'NoneOnDryRun'].includes(String(webhook.sideEffects))) {
          problems.push(
            webhook.sideEffects === undefined
              ? causes.required(`${at}.sideEffects`)
              : causes.notSupported(`${at}.sideEffects`, webhook.sideEffects, ['None', 'NoneOnDryRun']),
          );
        }
        if (!Array.isArray(webhook.admissionReviewVersions) || webhook.admissionReviewVersions.length === 0)
          problems.push(causes.required(`${at}.admissionReviewVersions`));
        const client = isRecord(webhook.clientConfig) ? webhook.clientConfig : {};
        if ((client.url === undefined) === (client.service === undefined))
          problems.push(causes.required(`${at}.clientConfig`, 'exactly one of url or service is required'));
        if (typeof client.url === 'string' && !client.url.startsWith('https://'))
          problems.push(causes.invalid(`${at}.clientConfig.url`, client.url, "'https' is the only allowed URL scheme"));
        const timeout = webhook.timeoutSeconds;
        if (typeof timeout === 'number' && (timeout < 1 || timeout > 30))
          problems.push(
            causes.invalid(`${at}.timeoutSeconds`, timeout, 'the timeout value must be between 1 and 30 seconds'),
          );
        if (!['Fail', 'Ignore'].includes(String(webhook.failurePolicy)))
          problems.push(causes.notSupported(`${at}.failurePolicy`, webhook.failurePolicy, ['Fail', 'Ignore']));
      });
      return problems;
    },
  };
}

const crdRules: TypeRules = {
  ...DEFAULT_RULES,
  tracksGeneration: true,
  allowUnconditionalUpdate: false,
  applyDefaults(object) {
    const spec = isRecord(object.spec) ? object.spec : {};
    const names = isRecord(spec.names) ? spec.names : undefined;
    if (names !== undefined && typeof names.kind === 'string') {
      names.singular ??= names.kind.toLowerCase();
      names.listKind ??= `${names.kind}List`;
    }
    spec.conversion ??= { strategy: 'None' };
  },
  prepareForCreate(object) {
    object.status = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: [] };
  },
  validate: validateCrd,
};

const RULES: Record<string, TypeRules> = {
  '/namespaces': namespaceRules,
  '/pods': podRules,
  '/nodes': nodeRules,
  '/services': serviceRules,
  '/secrets': secretRules,
  '/configmaps': configMapRules,
  'coordination.k8s.io/leases': leaseRules,
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': webhookConfigurationRules(true),
  'admissionregistration.k8s.io/validatingwebhookconfigurations': webhookConfigurationRules(false),
  'admissionregistration.k8s.io/validatingadmissionpolicies': validatingAdmissionPolicyRules,
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': validatingAdmissionPolicyBindingRules,
  'apiextensions.k8s.io/customresourcedefinitions': crdRules,
  'apps/deployments': workloadRules('Deployment'),
  'apps/replicasets': workloadRules('ReplicaSet'),
  'apps/statefulsets': workloadRules('StatefulSet'),
  'rbac.authorization.k8s.io/roles': roleRules,
  'rbac.authorization.k8s.io/clusterroles': roleRules,
  'rbac.authorization.k8s.io/rolebindings': bindingRules(false),
  'rbac.authorization.k8s.io/clusterrolebindings': bindingRules(true),
};

export function rulesForBuiltIn(type: Pick<ResourceType, 'group' | 'plural'>): TypeRules {
  return RULES[storageKey(type)] ?? DEFAULT_RULES;
}
