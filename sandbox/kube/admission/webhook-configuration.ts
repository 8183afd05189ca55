/**
 * MutatingWebhookConfigurations as the dispatcher uses them: read from the store on every admission (so a
 * configuration written a moment ago takes effect at once), in kube-apiserver's order — configurations by
 * name, webhooks in the order they are listed — with the v1 defaults filled in.
 */
import { isRecord } from '../../../api/is-record.js';
import type { LabelSelector } from '../../../api/label-selector.js';
import type { ClusterStore } from '../types.js';

export type { LabelSelector, LabelSelectorRequirement } from '../../../api/label-selector.js';

export interface RuleWithOperations {
  operations: string[];
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  scope: 'Cluster' | 'Namespaced' | '*';
}

export interface ServiceReference {
  namespace: string;
  name: string;
  port: number;
  path?: string;
}

export interface WebhookClientConfig {
  url?: string;
  service?: ServiceReference;
  /** Base64 of PEM certificates; absent or empty means the system roots. */
  caBundle?: string;
}

export interface MatchCondition {
  name: string;
  expression: string;
}

export interface MutatingWebhook {
  name: string;
  configurationName: string;
  /** `<configuration>/<webhook>/<index>`: how kube-apiserver tells webhooks apart when it reinvokes them. */
  id: string;
  clientConfig: WebhookClientConfig;
  rules: RuleWithOperations[];
  failurePolicy: 'Fail' | 'Ignore';
  matchPolicy: 'Exact' | 'Equivalent';
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  matchConditions: MatchCondition[];
  sideEffects: string;
  timeoutSeconds: number;
  admissionReviewVersions: string[];
  reinvocationPolicy: 'Never' | 'IfNeeded';
}

type Json = Record<string, unknown>;

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export function readSelector(value: unknown): LabelSelector {
  if (!isRecord(value)) return {};
  const selector: LabelSelector = {};
  if (isRecord(value.matchLabels))
    selector.matchLabels = Object.fromEntries(Object.entries(value.matchLabels).map(([k, v]) => [k, String(v)]));
  if (Array.isArray(value.matchExpressions)) {
    selector.matchExpressions = records(value.matchExpressions).map((e) => ({
      key: String(e.key ?? ''),
      operator: String(e.operator ?? ''),
      ...(Array.isArray(e.values) ? { values: strings(e.values) } : {}),
    }));
  }
  return selector;
}

function readClientConfig(value: unknown): WebhookClientConfig {
  if (!isRecord(value)) return {};
  const config: WebhookClientConfig = {};
  if (typeof value.url === 'string') config.url = value.url;
  if (typeof value.caBundle === 'string' && value.caBundle !== '') config.caBundle = value.caBundle;
  if (isRecord(value.service)) {
    const service = value.service;
    config.service = {
      namespace: String(service.namespace ?? ''),
      name: String(service.name ?? ''),
      port: typeof service.port === 'number' ? service.port : 443,
      ...(typeof service.path === 'string' ? { path: service.path } : {}),
    };
  }
  return config;
}

function readRule(value: Json): RuleWithOperations {
  const scope = value.scope === 'Cluster' || value.scope === 'Namespaced' ? value.scope : '*';
  return {
    operations: strings(value.operations),
    apiGroups: strings(value.apiGroups),
    apiVersions: strings(value.apiVersions),
    resources: strings(value.resources),
    scope,
  };
}

function readWebhook(
  value: Json,
  configurationName: string,
  index: number,
  defaultTimeoutSeconds: number,
): MutatingWebhook {
  const name = String(value.name ?? '');
  return {
    name,
    configurationName,
    id: `${configurationName}/${name}/${index}`,
    clientConfig: readClientConfig(value.clientConfig),
    rules: records(value.rules).map(readRule),
    failurePolicy: value.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
    matchPolicy: value.matchPolicy === 'Exact' ? 'Exact' : 'Equivalent',
    namespaceSelector: readSelector(value.namespaceSelector),
    objectSelector: readSelector(value.objectSelector),
    matchConditions: records(value.matchConditions).map((c) => ({
      name: String(c.name ?? ''),
      expression: String(c.expression ?? ''),
    })),
    sideEffects: typeof value.sideEffects === 'string' ? value.sideEffects : '',
    timeoutSeconds: typeof value.timeoutSeconds === 'number' ? value.timeoutSeconds : defaultTimeoutSeconds,
    admissionReviewVersions: strings(value.admissionReviewVersions),
    reinvocationPolicy: value.reinvocationPolicy === 'IfNeeded' ? 'IfNeeded' : 'Never',
  };
}

/** Every mutating webhook in the store, in the order kube-apiserver calls them. */
export function readMutatingWebhooks(store: ClusterStore, defaultTimeoutSeconds: number): MutatingWebhook[] {
  const type = store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations');
  if (type === undefined) return [];
  const configurations = store.list(type).items;
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  configurations.sort((a, b) => byName(a.metadata.name ?? '', b.metadata.name ?? ''));
  return configurations.flatMap((configuration) =>
    records(configuration.webhooks).map((webhook, index) =>
      readWebhook(webhook, configuration.metadata.name ?? '', index, defaultTimeoutSeconds),
    ),
  );
}
