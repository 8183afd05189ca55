/** The webhook's configuration schema: defaults live here and nowhere else. */
import { DEFAULT_STATEFUL_WORKLOAD_KINDS } from '../../api/release-strategy.js';
import type { JSONSchemaType } from 'ajv';
import { FILLED_FROM_NESTED_DEFAULTS, listenSection, logSection, type SettingSource } from '../../api/settings.js';
import type { CertificatesConfig, InitContainerConfig, MutationPolicy, ResourceList, WebhookConfig } from './types.js';

/** Kubernetes quantities such as `10m`, `0.5`, `32Mi`, `1G`. */
const QUANTITY = '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$';
/** A DNS-1123 label, the rule for container and volume names. */
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
// Pattern errors quote these instead of the regular expression.
const QUANTITY_MEANS = 'a Kubernetes quantity such as 100m or 32Mi';
const DNS_LABEL_MEANS = 'a DNS label: lower-case letters, digits and dashes, at most 63';

const resourceList: JSONSchemaType<ResourceList> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cpu: { type: 'string', pattern: QUANTITY, nullable: true, description: QUANTITY_MEANS },
    memory: { type: 'string', pattern: QUANTITY, nullable: true, description: QUANTITY_MEANS },
  },
};

const initContainer: JSONSchemaType<InitContainerConfig> = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: ['name', 'image', 'imagePullPolicy', 'timeoutSeconds', 'pollIntervalSeconds', 'resources', 'runAsUser'],
  properties: {
    name: { type: 'string', pattern: DNS_LABEL, description: DNS_LABEL_MEANS, default: 'podeip-wait-eip' },
    image: { type: 'string', minLength: 1, default: 'busybox:1.36.1' },
    imagePullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'], default: 'IfNotPresent' },
    timeoutSeconds: { type: 'integer', minimum: 10, maximum: 86400, default: 600 },
    pollIntervalSeconds: { type: 'number', minimum: 0.1, maximum: 60, default: 2 },
    resources: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['requests', 'limits'],
      properties: {
        requests: { ...resourceList, default: { cpu: '10m', memory: '16Mi' } },
        limits: { ...resourceList, default: { cpu: '100m', memory: '32Mi' } },
      },
    },
    runAsUser: { type: 'integer', minimum: 1, default: 65534 },
  },
};

const mutation: JSONSchemaType<MutationPolicy> = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: ['injection', 'initContainer', 'volumeName', 'mountPath', 'statefulWorkloadKinds'],
  properties: {
    injection: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['readinessGate', 'initContainer'],
      properties: {
        readinessGate: { type: 'boolean', default: true },
        initContainer: { type: 'boolean', default: true },
      },
    },
    initContainer,
    volumeName: { type: 'string', pattern: DNS_LABEL, description: DNS_LABEL_MEANS, default: 'podeip-podinfo' },
    mountPath: {
      type: 'string',
      pattern: '^/[^:]*$',
      description: 'an absolute path without a colon',
      default: '/etc/podeip',
    },
    statefulWorkloadKinds: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$', description: 'a kind, e.g. StatefulSet' },
      uniqueItems: true,
      default: [...DEFAULT_STATEFUL_WORKLOAD_KINDS],
    },
  },
};

/** The schema's default of certificates.mode, never seen after validation. */
export const AUTO_MODE = 'auto' as CertificatesConfig['mode'];

const certificates: JSONSchemaType<CertificatesConfig> = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: [
    'mode',
    'service',
    'namespace',
    'secretName',
    'leaseName',
    'lifetimeSeconds',
    'rotationStepSeconds',
    'repairIntervalSeconds',
    'registration',
    'kubeconfig',
  ],
  properties: {
    // Resolved by validateWebhookConfig: files when a certificate file is named, self-managed otherwise.
    mode: {
      type: 'string',
      enum: ['files', 'self-managed', AUTO_MODE],
      default: AUTO_MODE,
    },
    service: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['name', 'port'],
      properties: {
        name: { type: 'string', pattern: DNS_LABEL, description: DNS_LABEL_MEANS, default: 'podeip-webhook' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 443 },
      },
    },
    namespace: { type: 'string', default: '' },
    secretName: { type: 'string', minLength: 1, default: 'podeip-webhook-tls' },
    leaseName: { type: 'string', minLength: 1, default: 'podeip-webhook-certs' },
    // A year; at least a minute, so that a renewal's steps fit in the third that is left.
    lifetimeSeconds: { type: 'integer', minimum: 30, maximum: 315360000, default: 31536000 },
    // Longer than a replica takes to re-read the Secret (the repair period is its backstop).
    rotationStepSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 180 },
    repairIntervalSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 60 },
    registration: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['failurePolicy', 'timeoutSeconds', 'excludedNamespaces'],
      properties: {
        failurePolicy: { type: 'string', enum: ['Fail', 'Ignore'], default: 'Fail' },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 10, default: 5 },
        excludedNamespaces: { type: 'array', items: { type: 'string' }, default: ['kube-system'] },
      },
    },
    kubeconfig: { type: 'string', default: '' },
  },
};

export const webhookConfigSchema: JSONSchemaType<WebhookConfig> = {
  type: 'object',
  additionalProperties: false,
  required: [
    'listen',
    'certificates',
    'tls',
    'mutation',
    'bodyLimitBytes',
    'connections',
    'shutdownTimeoutSeconds',
    'eipPolicies',
    'log',
  ],
  properties: {
    listen: listenSection(9443),
    certificates,
    tls: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['certFile', 'keyFile', 'minVersion', 'reloadIntervalSeconds'],
      properties: {
        certFile: { type: 'string', default: '' },
        keyFile: { type: 'string', default: '' },
        minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2' },
        reloadIntervalSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 30 },
      },
    },
    mutation,
    // The API server caps admission bodies near 3 MiB of object; 7 MiB leaves room for oldObject.
    bodyLimitBytes: { type: 'integer', minimum: 65536, maximum: 67108864, default: 7340032 },
    connections: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['requestTimeoutSeconds', 'idleTimeoutSeconds', 'max'],
      properties: {
        // The API server gives up on a review after the registration's timeoutSeconds (at most 30), so a
        // request still arriving after 10 s has no one waiting for its answer.
        requestTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 10 },
        // Longer than the API server's own (Go's 90 s): when the server closes a kept-alive connection first,
        // a review the API server sends on it at that moment fails, and a POST is not retried.
        idleTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 600, default: 120 },
        max: { type: 'integer', minimum: 1, maximum: 65536, default: 256 },
      },
    },
    // Below the pod's default 30 s termination grace, so in-flight reviews finish before SIGKILL.
    shutdownTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 25 },
    // Off by default, since it needs the Kubernetes API (a webhook run from files alone has none); the
    // shipped configuration turns it on, and the binder enforces the policies either way.
    eipPolicies: {
      type: 'object',
      additionalProperties: false,
      default: FILLED_FROM_NESTED_DEFAULTS,
      required: ['enabled', 'kubeconfig'],
      properties: {
        enabled: { type: 'boolean', default: false },
        kubeconfig: { type: 'string', default: '' },
      },
    },
    log: logSection,
  },
};

/** Flags and environment variables of `podeip webhook`, each mapped onto one path of the configuration. */
export const webhookSettings: readonly SettingSource[] = [
  {
    path: 'tls.certFile',
    flag: 'tls-cert',
    env: 'PODEIP_TLS_CERT',
    description: 'PEM certificate served to the API server',
  },
  { path: 'tls.keyFile', flag: 'tls-key', env: 'PODEIP_TLS_KEY', description: 'PEM private key of that certificate' },
  {
    path: 'certificates.mode',
    flag: 'certificates',
    env: 'PODEIP_CERTIFICATES',
    description:
      'files or self-managed (a Secret podeip keeps); default: files when --tls-cert/--tls-key are given, else self-managed',
  },
  {
    path: 'certificates.kubeconfig',
    flag: 'kubeconfig',
    env: 'PODEIP_KUBECONFIG',
    description: 'kubeconfig for self-managed certificates (default: in-cluster)',
  },
  { path: 'listen.port', flag: 'port', env: 'PODEIP_PORT', description: 'HTTPS port (default 9443)' },
  { path: 'listen.host', flag: 'host', env: 'PODEIP_HOST', description: 'address to listen on (default 0.0.0.0)' },
  {
    path: 'log.level',
    flag: 'log-level',
    env: 'PODEIP_LOG_LEVEL',
    description: 'fatal|error|warn|info|debug|trace|silent',
  },
  {
    path: 'mutation.initContainer.image',
    flag: 'wait-image',
    env: 'PODEIP_WAIT_IMAGE',
    description: 'image of the injected wait-for-EIP init container (needs a POSIX sh)',
  },
];
