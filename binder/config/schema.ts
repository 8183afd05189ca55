/** The binder's configuration schema: defaults live here and nowhere else. */
import { DEFAULT_STATEFUL_WORKLOAD_KINDS } from '../../api/release-strategy.js';
import type { JSONSchemaType } from 'ajv';
import { FILLED_FROM_NESTED_DEFAULTS, listenSection, logSection, type SettingSource } from '../../api/settings.js';
import { CLOUD_API_NAMES } from '../cloud/eip-cloud.js';
import type { BinderCloudConfig, BinderConfig, CloudCredentialsConfig, LeaderElectionConfig } from './types.js';

/** Where a leader-elected binder keeps its Lease when neither the config nor the pod says otherwise. */
export const DEFAULT_LEASE_NAMESPACE = 'podeip-system';

/** A DNS-1123 label: the rule for namespace names. */
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const DNS_LABEL_MEANS = 'a DNS label: lower-case letters, digits and dashes, at most 63';
/** A DNS-1123 subdomain: the rule for Lease names. */
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
const DNS_SUBDOMAIN_MEANS = 'a DNS subdomain: lower-case letters, digits, dashes and dots, at most 253';
// The cluster id becomes a tag value on every EIP: Alibaba refuses values over 128 characters, ones that
// start with aliyun or acs:, and ones holding http(s)://; blanks would make the tag unreadable in the console.
const CLUSTER_ID = '^(?![Aa][Ll][Ii][Yy][Uu][Nn]|[Aa][Cc][Ss]:)(?!.*[Hh][Tt][Tt][Pp][Ss]?://)\\S{1,128}$';
const CLUSTER_ID_MEANS = '1 to 128 characters without blanks, not starting with aliyun or acs:, without http(s)://';
const REGION_ID = '^[a-z]{2,}(-[a-z0-9]+)+$';
const REGION_ID_MEANS = 'a region id such as cn-hangzhou or ap-southeast-1';
const VPC_ID = '^vpc-[0-9a-z]+$';
const VPC_ID_MEANS = 'a VPC id such as vpc-bp1abc…';
const ENDPOINT = '^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$';
const ENDPOINT_MEANS = 'host[:port] without a scheme, e.g. vpc.cn-hangzhou.aliyuncs.com';

// A file that names a key file but no source means the key file; the `then`/`else` defaults say so.
const credentials = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: ['source'],
  properties: {
    source: { type: 'string', enum: ['default-chain', 'key-file'] },
    path: { type: 'string', minLength: 1 },
  },
  if: { properties: { path: { type: 'string' } }, required: ['path'] },
  then: { properties: { source: { default: 'key-file' } } },
  else: { properties: { source: { default: 'default-chain' } } },
  // JSONSchemaType cannot express a union of object shapes with defaults; the checks in validate.ts close the gap.
} as unknown as JSONSchemaType<CloudCredentialsConfig>;

const rateLimitsPerMinute = {
  type: 'object',
  additionalProperties: false,
  default: {},
  required: [],
  properties: Object.fromEntries(CLOUD_API_NAMES.map((api) => [api, { type: 'integer', minimum: 1, maximum: 100000 }])),
} as unknown as JSONSchemaType<Record<string, number>>;

const cloud: JSONSchemaType<BinderCloudConfig> = {
  type: 'object',
  additionalProperties: false,
  default: FILLED_FROM_NESTED_DEFAULTS,
  required: [
    'regionId',
    'vpcId',
    'protocol',
    'credentials',
    'readTimeoutMs',
    'connectTimeoutMs',
    'rateLimitsPerMinute',
    'rateLimitWindowSeconds',
  ],
  properties: {
    regionId: { type: 'string', pattern: REGION_ID, description: REGION_ID_MEANS },
    vpcId: { type: 'string', pattern: VPC_ID, description: VPC_ID_MEANS },
    endpoint: { type: 'string', pattern: ENDPOINT, description: ENDPOINT_MEANS, nullable: true },
    ecsEndpoint: { type: 'string', pattern: ENDPOINT, description: ENDPOINT_MEANS, nullable: true },
    protocol: { type: 'string', enum: ['https', 'http'], default: 'https' },
    credentials,
    readTimeoutMs: { type: 'integer', minimum: 100, maximum: 120000, default: 10000 },
    connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
    rateLimitsPerMinute,
    // The cloud counts per minute; only a scaled-down sandbox has a reason to change this.
    rateLimitWindowSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 60 },
  },
};

function leaderElection(leaseNamespace: string): JSONSchemaType<LeaderElectionConfig> {
  return {
    type: 'object',
    additionalProperties: false,
    default: FILLED_FROM_NESTED_DEFAULTS,
    required: [
      'enabled',
      'namespace',
      'leaseName',
      'leaseDurationSeconds',
      'renewDeadlineSeconds',
      'retryPeriodSeconds',
    ],
    properties: {
      enabled: { type: 'boolean', default: true },
      namespace: { type: 'string', pattern: DNS_LABEL, description: DNS_LABEL_MEANS, default: leaseNamespace },
      leaseName: { type: 'string', pattern: DNS_SUBDOMAIN, description: DNS_SUBDOMAIN_MEANS, default: 'podeip-binder' },
      identity: { type: 'string', minLength: 1, maxLength: 128, nullable: true },
      // The Lease stores whole seconds; the other two are only timers and may be fractions.
      leaseDurationSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 15 },
      renewDeadlineSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600, default: 10 },
      retryPeriodSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600, default: 2 },
    },
  };
}

/**
 * The schema with the Lease's namespace defaulting to `leaseNamespace`: the pod's own namespace when the
 * binder runs in a cluster, so a release installed elsewhere than podeip-system needs no extra setting.
 */
export function createBinderConfigSchema(options: { leaseNamespace?: string } = {}): JSONSchemaType<BinderConfig> {
  return {
    type: 'object',
    additionalProperties: false,
    required: [
      'clusterId',
      'namespaces',
      'workers',
      'resyncSeconds',
      'statefulWorkloadKinds',
      'gc',
      'verifySeconds',
      'watch',
      'cloud',
      'leaderElection',
      'server',
      'log',
    ],
    properties: {
      clusterId: { type: 'string', pattern: CLUSTER_ID, description: CLUSTER_ID_MEANS },
      kubeconfig: { type: 'string', minLength: 1, nullable: true },
      namespaces: {
        type: 'array',
        items: { type: 'string', pattern: DNS_LABEL, description: DNS_LABEL_MEANS },
        uniqueItems: true,
        default: [],
      },
      // Workers are async tasks that mostly wait on the cloud (its transitions, its rate limits), so many are
      // cheap; with few, a burst queues behind the Allocate bucket before any Associate starts.
      workers: { type: 'integer', minimum: 1, maximum: 256, default: 32 },
      resyncSeconds: { type: 'integer', minimum: 10, maximum: 86400, default: 600 },
      verifySeconds: { type: 'integer', minimum: 5, maximum: 86400, default: 90 },
      gc: {
        type: 'object',
        additionalProperties: false,
        default: FILLED_FROM_NESTED_DEFAULTS,
        required: ['periodSeconds', 'orphanGraceSeconds'],
        properties: {
          periodSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 300 },
          // Longer than any Allocate-to-record gap a binder restart could leave, so recovery gets there first.
          orphanGraceSeconds: { type: 'integer', minimum: 0, maximum: 604800, default: 600 },
        },
      },
      statefulWorkloadKinds: {
        type: 'array',
        items: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$', description: 'a kind, e.g. StatefulSet' },
        uniqueItems: true,
        default: [...DEFAULT_STATEFUL_WORKLOAD_KINDS],
      },
      watch: {
        type: 'object',
        additionalProperties: false,
        default: FILLED_FROM_NESTED_DEFAULTS,
        required: ['inactivityTimeoutSeconds'],
        properties: {
          // A watch that has said nothing (not even a bookmark) for this long is restarted.
          inactivityTimeoutSeconds: { type: 'integer', minimum: 10, maximum: 3600, default: 90 },
        },
      },
      cloud,
      leaderElection: leaderElection(options.leaseNamespace ?? DEFAULT_LEASE_NAMESPACE),
      server: listenSection(8080),
      log: logSection,
    },
  };
}

/**
 * Flags and environment variables of `podeip binder`, each mapped onto one path of the configuration.
 * `namespaces` is a comma list on the command line and in the environment.
 */
export const binderSettings: readonly SettingSource[] = [
  {
    path: 'kubeconfig',
    flag: 'kubeconfig',
    description: 'kubeconfig file (default: KUBECONFIG, else the pod’s service account)',
  },
  {
    path: 'clusterId',
    flag: 'cluster-id',
    env: 'PODEIP_CLUSTER_ID',
    description: 'this cluster’s id, written into the ownership tags of every EIP (required)',
  },
  {
    path: 'cloud.regionId',
    flag: 'region',
    env: 'ALIBABA_CLOUD_REGION_ID',
    description: 'Alibaba Cloud region, e.g. cn-hangzhou (required)',
  },
  { path: 'cloud.vpcId', flag: 'vpc', env: 'PODEIP_VPC_ID', description: 'the cluster’s VPC (required)' },
  {
    path: 'cloud.endpoint',
    flag: 'cloud-endpoint',
    env: 'PODEIP_CLOUD_ENDPOINT',
    description: 'host[:port] of the VPC and ECS APIs (default: the region’s)',
  },
  {
    path: 'cloud.protocol',
    flag: 'cloud-protocol',
    env: 'PODEIP_CLOUD_PROTOCOL',
    description: 'https (default) or http',
  },
  {
    path: 'cloud.credentials.source',
    flag: 'cloud-credentials',
    env: 'PODEIP_CLOUD_CREDENTIALS',
    description: 'default-chain (default) or key-file',
  },
  {
    path: 'cloud.credentials.path',
    flag: 'cloud-key-file',
    env: 'PODEIP_CLOUD_KEY_FILE',
    description:
      'JSON file with accessKeyId, accessKeySecret [, securityToken], re-read when it changes; implies --cloud-credentials key-file',
    implies: { path: 'cloud.credentials.source', value: 'key-file' },
  },
  { path: 'workers', flag: 'workers', env: 'PODEIP_WORKERS', description: 'pods reconciled at once (default 32)' },
  {
    path: 'statefulWorkloadKinds',
    flag: 'stateful-workload-kinds',
    env: 'PODEIP_STATEFUL_WORKLOAD_KINDS',
    description:
      'comma list of controller kinds whose pods keep their names, where Never and TTL apply (default StatefulSet)',
    list: true,
  },
  {
    path: 'namespaces',
    flag: 'namespaces',
    env: 'PODEIP_NAMESPACES',
    description: 'comma list of namespaces to watch (default: all)',
    list: true,
  },
  {
    path: 'server.port',
    flag: 'port',
    env: 'PODEIP_PORT',
    description: 'port of /healthz, /readyz and /metrics (default 8080)',
  },
  { path: 'server.host', flag: 'host', env: 'PODEIP_HOST', description: 'address to listen on (default 0.0.0.0)' },
  {
    path: 'log.level',
    flag: 'log-level',
    env: 'PODEIP_LOG_LEVEL',
    description: 'fatal|error|warn|info|debug|trace|silent',
  },
  {
    path: 'leaderElection.enabled',
    flag: 'leader-elect',
    env: 'PODEIP_LEADER_ELECT',
    description: 'true (default) or false: take a Lease so one replica acts',
  },
];
