/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), which is what
 * `kubectl get` shows: the built-in printers' columns (pkg/printers/internalversion) for the kinds the
 * project touches, a custom resource's additionalPrinterColumns, and Name/Created At otherwise.
 */
import { isRecord } from '../../api/is-record.js';
import { evaluateJsonPath } from './jsonpath.js';
import type { KubeObject, ResourceType } from './types.js';

type Json = Record<string, unknown>;

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface Printer {
  columns: ColumnDefinition[];
  cells(object: KubeObject, now: number): unknown[];
}

function column(name: string, type = 'string', priority = 0, format = '', description = ''): ColumnDefinition {
  return { name, type, format, description, priority };
}

const NAME = column(
  'Name',
  'string',
  0,
  'name',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
);
const AGE = column(
  'Age',
  'string',
  0,
  '',
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
);

/** apimachinery's duration.HumanDuration, the AGE column's format. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const d = Math.floor(hours / 24) % 365;
    return d === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${d}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(object: KubeObject, now: number): string {
  const created = Date.parse(object.metadata.creationTimestamp ?? '');
  return Number.isNaN(created) ? '<unknown>' : humanDuration(now - created);
}

function obj(value: unknown): Json {
  return isRecord(value) ? value : {};
}

function arr(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter(isRecord) as Json[]) : [];
}

function orNone(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : '<none>';
}

/** printPod: the STATUS column's reason precedence, READY counts, and the wide READINESS GATES column. */
function podCells(pod: KubeObject, now: number): unknown[] {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const containers = arr(spec.containers);
  const statuses = arr(status.containerStatuses);
  let reason = typeof status.reason === 'string' && status.reason !== '' ? status.reason : String(status.phase ?? '');
  let restarts = 0;
  let ready = 0;
  const initStatuses = arr(status.initContainerStatuses);
  let initializing = false;
  initStatuses.forEach((c, i) => {
    restarts += Number(c.restartCount ?? 0);
    const terminated = obj(obj(c.state).terminated);
    const waiting = obj(obj(c.state).waiting);
    if (terminated.exitCode === 0) return;
    if (initializing) return;
    initializing = true;
    if (Object.keys(terminated).length > 0)
      reason = `Init:${String(terminated.reason ?? `ExitCode:${String(terminated.exitCode)}`)}`;
    else if (typeof waiting.reason === 'string' && waiting.reason !== '' && waiting.reason !== 'PodInitializing')
      reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${arr(spec.initContainers).length}`;
  });
  if (!initializing) {
    for (const c of [...statuses].reverse()) {
      restarts += Number(c.restartCount ?? 0);
      const state = obj(c.state);
      const waiting = obj(state.waiting);
      const terminated = obj(state.terminated);
      if (typeof waiting.reason === 'string' && waiting.reason !== '') reason = waiting.reason;
      else if (typeof terminated.reason === 'string' && terminated.reason !== '') reason = terminated.reason;
      else if (Object.keys(terminated).length > 0)
        reason =
          terminated.signal !== undefined
            ? `Signal:${String(terminated.signal)}`
            : `ExitCode:${String(terminated.exitCode)}`;
      else if (c.ready === true && state.running !== undefined) ready++;
    }
  }
  if (pod.metadata.deletionTimestamp !== undefined) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  const gates = arr(spec.readinessGates);
  const conditions = arr(status.conditions);
  const trueGates = gates.filter((g) =>
    conditions.some((c) => c.type === g.conditionType && c.status === 'True'),
  ).length;
  return [
    pod.metadata.name,
    `${ready}/${containers.length}`,
    reason,
    String(restarts),
    age(pod, now),
    orNone(status.podIP),
    orNone(spec.nodeName),
    orNone(status.nominatedNodeName),
    gates.length === 0 ? '<none>' : `${trueGates}/${gates.length}`,
  ];
}

function containersAndImages(template: Json): [string, string] {
  const containers = arr(obj(template.spec).containers);
  return [containers.map((c) => String(c.name)).join(','), containers.map((c) => String(c.image)).join(',')];
}

function selectorString(selector: unknown): string {
  const s = obj(selector);
  const parts = Object.entries(obj(s.matchLabels)).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of arr(s.matchExpressions)) {
    const values = Array.isArray(e.values) ? e.values.join(',') : '';
    if (e.operator === 'In') parts.push(`${String(e.key)} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${String(e.key)} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(String(e.key));
    else parts.push(`!${String(e.key)}`);
  }
  return parts.length === 0 ? '<none>' : parts.join(',');
}

function servicePorts(spec: Json): string {
  const ports = arr(spec.ports);
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) =>
      p.nodePort !== undefined
        ? `${String(p.port)}:${String(p.nodePort)}/${String(p.protocol ?? 'TCP')}`
        : `${String(p.port)}/${String(p.protocol ?? 'TCP')}`,
    )
    .join(',');
}

function nodeStatus(node: KubeObject): string {
  const ready = arr(obj(node.status).conditions).find((c) => c.type === 'Ready');
  let status =
    ready === undefined
      ? 'Unknown'
      : ready.status === 'True'
        ? 'Ready'
        : ready.status === 'False'
          ? 'NotReady'
          : 'Unknown';
  if (obj(node.spec).unschedulable === true) status += ',SchedulingDisabled';
  return status;
}

function nodeAddress(node: KubeObject, type: string): string {
  return orNone(arr(obj(node.status).addresses).find((a) => a.type === type)?.address);
}

const PRINTERS: Record<string, Printer> = {
  '/pods': {
    columns: [
      NAME,
      column('Ready'),
      column('Status'),
      column('Restarts', 'string'),
      AGE,
      column('IP', 'string', 1),
      column('Node', 'string', 1),
      column('Nominated Node', 'string', 1),
      column('Readiness Gates', 'string', 1),
    ],
    cells: podCells,
  },
  '/namespaces': {
    columns: [NAME, column('Status'), AGE],
    cells: (o, now) => [o.metadata.name, obj(o.status).phase ?? '', age(o, now)],
  },
  '/nodes': {
    columns: [
      NAME,
      column('Status'),
      column('Roles'),
      AGE,
      column('Version'),
      column('Internal-IP', 'string', 1),
      column('External-IP', 'string', 1),
      column('OS-Image', 'string', 1),
      column('Kernel-Version', 'string', 1),
      column('Container-Runtime', 'string', 1),
    ],
    cells: (o, now) => {
      const info = obj(obj(o.status).nodeInfo);
      const roles = Object.keys(o.metadata.labels ?? {})
        .filter((l) => l.startsWith('node-role.kubernetes.io/'))
        .map((l) => l.slice('node-role.kubernetes.io/'.length));
      return [
        o.metadata.name,
        nodeStatus(o),
        roles.length === 0 ? '<none>' : roles.join(','),
        age(o, now),
        info.kubeletVersion ?? '',
        nodeAddress(o, 'InternalIP'),
        nodeAddress(o, 'ExternalIP'),
        orNone(info.osImage),
        orNone(info.kernelVersion),
        orNone(info.containerRuntimeVersion),
      ];
    },
  },
  '/services': {
    columns: [
      NAME,
      column('Type'),
      column('Cluster-IP'),
      column('External-IP'),
      column('Port(s)'),
      AGE,
      column('Selector', 'string', 1),
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const ingress = arr(obj(obj(o.status).loadBalancer).ingress).map((i) => String(i.ip ?? i.hostname));
      const external =
        spec.type === 'ExternalName'
          ? String(spec.externalName)
          : ingress.length > 0
            ? ingress.join(',')
            : spec.type === 'LoadBalancer'
              ? '<pending>'
              : '<none>';
      const selector = Object.entries(obj(spec.selector))
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      return [
        o.metadata.name,
        spec.type ?? 'ClusterIP',
        orNone(spec.clusterIP),
        external,
        servicePorts(spec),
        age(o, now),
        selector === '' ? '<none>' : selector,
      ];
    },
  },
  '/endpoints': {
    columns: [NAME, column('Endpoints'), AGE],
    cells: (o, now) => {
      const endpoints = arr(o.subsets).flatMap((s) =>
        arr(s.addresses).flatMap((a) => arr(s.ports).map((p) => `${String(a.ip)}:${String(p.port)}`)),
      );
      return [o.metadata.name, endpoints.length === 0 ? '<none>' : endpoints.join(','), age(o, now)];
    },
  },
  '/secrets': {
    columns: [NAME, column('Type'), column('Data', 'string'), AGE],
    cells: (o, now) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(obj(o.data)).length, age(o, now)],
  },
  '/configmaps': {
    columns: [NAME, column('Data', 'string'), AGE],
    cells: (o, now) => [
      o.metadata.name,
      Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length,
      age(o, now),
    ],
  },
  '/serviceaccounts': {
    columns: [NAME, column('Secrets', 'string'), AGE],
    cells: (o, now) => [o.metadata.name, arr(o.secrets).length, age(o, now)],
  },
  '/events': {
    columns: [
      column('Last Seen'),
      column('Type'),
      column('Reason'),
      column('Object'),
      column('Subobject', 'string', 1),
      column('Source', 'string', 1),
      column('Message'),
      column('First Seen', 'string', 1),
      column('Count', 'string', 1),
      column('Name', 'string', 1, 'name'),
    ],
    cells: (o, now) => {
      const involved = obj(o.involvedObject);
      const last = String(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp ?? '');
      const first = String(o.firstTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp ?? '');
      const since = (t: string): string =>
        Number.isNaN(Date.parse(t)) ? '<unknown>' : humanDuration(now - Date.parse(t));
      const source = obj(o.source);
      return [
        since(last),
        o.type ?? '',
        o.reason ?? '',
        `${String(involved.kind ?? '').toLowerCase()}/${String(involved.name ?? '')}`,
        String(involved.fieldPath ?? ''),
        String(source.component ?? o.reportingComponent ?? ''),
        o.message ?? '',
        since(first),
        Number(o.count ?? 1),
        o.metadata.name,
      ];
    },
  },
  'coordination.k8s.io/leases': {
    columns: [NAME, column('Holder'), AGE],
    cells: (o, now) => [o.metadata.name, String(obj(o.spec).holderIdentity ?? ''), age(o, now)],
  },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': {
    columns: [NAME, column('Webhooks', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, arr(o.webhooks).length, age(o, now)],
  },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': {
    columns: [NAME, column('Webhooks', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, arr(o.webhooks).length, age(o, now)],
  },
  'admissionregistration.k8s.io/validatingadmissionpolicies': {
    columns: [NAME, column('Validations', 'integer'), column('ParamKind'), AGE],
    cells: (o, now) => {
      const paramKind = obj(obj(o.spec).paramKind);
      return [
        o.metadata.name,
        arr(obj(o.spec).validations).length,
        paramKind.kind === undefined ? '<unset>' : `${String(paramKind.apiVersion)}/${String(paramKind.kind)}`,
        age(o, now),
      ];
    },
  },
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': {
    columns: [NAME, column('PolicyName'), column('ParamRef'), AGE],
    cells: (o, now) => {
      const paramRef = obj(obj(o.spec).paramRef);
      return [
        o.metadata.name,
        String(obj(o.spec).policyName ?? ''),
        paramRef.name === undefined && paramRef.selector === undefined ? '<unset>' : JSON.stringify(paramRef),
        age(o, now),
      ];
    },
  },
  'apiextensions.k8s.io/customresourcedefinitions': {
    columns: [NAME, column('Created At', 'date')],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
  },
  'apps/deployments': {
    columns: [
      NAME,
      column('Ready'),
      column('Up-to-date', 'integer'),
      column('Available', 'integer'),
      AGE,
      column('Containers', 'string', 1),
      column('Images', 'string', 1),
      column('Selector', 'string', 1),
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const status = obj(o.status);
      const [names, images] = containersAndImages(obj(spec.template));
      return [
        o.metadata.name,
        `${Number(status.readyReplicas ?? 0)}/${Number(spec.replicas ?? 0)}`,
        Number(status.updatedReplicas ?? 0),
        Number(status.availableReplicas ?? 0),
        age(o, now),
        names,
        images,
        selectorString(spec.selector),
      ];
    },
  },
  'apps/replicasets': {
    columns: [
      NAME,
      column('Desired', 'integer'),
      column('Current', 'integer'),
      column('Ready', 'integer'),
      AGE,
      column('Containers', 'string', 1),
      column('Images', 'string', 1),
      column('Selector', 'string', 1),
    ],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const status = obj(o.status);
      const [names, images] = containersAndImages(obj(spec.template));
      return [
        o.metadata.name,
        Number(spec.replicas ?? 0),
        Number(status.replicas ?? 0),
        Number(status.readyReplicas ?? 0),
        age(o, now),
        names,
        images,
        selectorString(spec.selector),
      ];
    },
  },
  'apps/statefulsets': {
    columns: [NAME, column('Ready'), AGE, column('Containers', 'string', 1), column('Images', 'string', 1)],
    cells: (o, now) => {
      const spec = obj(o.spec);
      const [names, images] = containersAndImages(obj(spec.template));
      return [
        o.metadata.name,
        `${Number(obj(o.status).readyReplicas ?? 0)}/${Number(spec.replicas ?? 0)}`,
        age(o, now),
        names,
        images,
      ];
    },
  },
};

const DEFAULT_PRINTER: Printer = {
  columns: [
    NAME,
    column(
      'Created At',
      'date',
      0,
      '',
      'CreationTimestamp is a timestamp representing the server time when this object was created.',
    ),
  ],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
};

export interface PrinterColumnSpec {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

/** A CRD's additionalPrinterColumns; without any, Name and Age (the apiextensions default). */
export function customResourcePrinter(columns: PrinterColumnSpec[] | undefined): Printer {
  const specs = columns ?? [];
  const all = specs.length === 0 ? [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }] : specs;
  return {
    columns: [NAME, ...all.map((c) => column(c.name, c.type, c.priority ?? 0, c.format ?? '', c.description ?? ''))],
    cells: (o, now) => [
      o.metadata.name,
      ...all.map((c) => cellForJsonValue(c.type, evaluateJsonPath(o, c.jsonPath)[0], now)),
    ],
  };
}

/** The apiextensions table convertor's cell rendering: dates become ages, strings print values as text. */
function cellForJsonValue(type: string, value: unknown, now: number): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'date': {
      const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      return Number.isNaN(at) ? '<invalid>' : humanDuration(now - at);
    }
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return isRecord(value) || Array.isArray(value) ? JSON.stringify(value) : String(value);
  }
}

export function builtInPrinter(type: Pick<ResourceType, 'group' | 'plural'>): Printer {
  return PRINTERS[`${type.group}/${type.plural}`] ?? DEFAULT_PRINTER;
}
