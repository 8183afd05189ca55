/**
 * Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`): kubectl's typed
 * clients send them for `kubectl create namespace|secret|configmap|serviceaccount|deployment|service`,
 * `create role|clusterrole|rolebinding|clusterrolebinding`, `create token` and `auth can-i|whoami`. Decoded
 * by field number for those kinds (k8s.io/api
 * generated.proto); any field this table does not know is a 415, never a silent drop. Responses stay
 * JSON, which those clients also accept.
 */
import { unsupportedMediaType } from './errors.js';

type FieldType =
  'string' | 'bytes' | 'int' | 'bool' | 'time' | Schema | { map: 'string' | 'bytes' } | { intOrString: true };

interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
  /** A Go pointer field: present on the wire only when set, so a zero value is meaningful. */
  pointer?: boolean;
}

interface Schema {
  fields: Record<number, Field>;
}

const f = (name: string, type: FieldType, extra: Partial<Field> = {}): Field => ({ name, type, ...extra });

const OWNER_REFERENCE: Schema = {
  fields: {
    1: f('kind', 'string'),
    3: f('name', 'string'),
    4: f('uid', 'string'),
    5: f('apiVersion', 'string'),
    6: f('controller', 'bool', { pointer: true }),
    7: f('blockOwnerDeletion', 'bool', { pointer: true }),
  },
};

const OBJECT_META: Schema = {
  fields: {
    1: f('name', 'string'),
    2: f('generateName', 'string'),
    3: f('namespace', 'string'),
    4: f('selfLink', 'string'),
    5: f('uid', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('generation', 'int'),
    8: f('creationTimestamp', 'time'),
    9: f('deletionTimestamp', 'time'),
    10: f('deletionGracePeriodSeconds', 'int', { pointer: true }),
    11: f('labels', { map: 'string' }),
    12: f('annotations', { map: 'string' }),
    13: f('ownerReferences', OWNER_REFERENCE, { repeated: true }),
    14: f('finalizers', 'string', { repeated: true }),
  },
};

const LOCAL_OBJECT_REFERENCE: Schema = { fields: { 1: f('name', 'string') } };
const OBJECT_REFERENCE: Schema = {
  fields: {
    1: f('kind', 'string'),
    2: f('namespace', 'string'),
    3: f('name', 'string'),
    4: f('uid', 'string'),
    5: f('apiVersion', 'string'),
    6: f('resourceVersion', 'string'),
    7: f('fieldPath', 'string'),
  },
};
const QUANTITY_MAP = { map: 'string' as const };
const RESOURCES: Schema = { fields: { 1: f('limits', QUANTITY_MAP), 2: f('requests', QUANTITY_MAP) } };
const CONTAINER_PORT: Schema = {
  fields: {
    1: f('name', 'string'),
    2: f('hostPort', 'int'),
    3: f('containerPort', 'int'),
    4: f('protocol', 'string'),
    5: f('hostIP', 'string'),
  },
};
const ENV_VAR: Schema = { fields: { 1: f('name', 'string'), 2: f('value', 'string') } };

const CONTAINER: Schema = {
  fields: {
    1: f('name', 'string'),
    2: f('image', 'string'),
    3: f('command', 'string', { repeated: true }),
    4: f('args', 'string', { repeated: true }),
    5: f('workingDir', 'string'),
    6: f('ports', CONTAINER_PORT, { repeated: true }),
    7: f('env', ENV_VAR, { repeated: true }),
    8: f('resources', RESOURCES),
    13: f('terminationMessagePath', 'string'),
    14: f('imagePullPolicy', 'string'),
    16: f('stdin', 'bool'),
    17: f('stdinOnce', 'bool'),
    18: f('tty', 'bool'),
    20: f('terminationMessagePolicy', 'string'),
  },
};

const POD_SPEC: Schema = {
  fields: {
    2: f('containers', CONTAINER, { repeated: true }),
    3: f('restartPolicy', 'string'),
    4: f('terminationGracePeriodSeconds', 'int', { pointer: true }),
    6: f('dnsPolicy', 'string'),
    7: f('nodeSelector', { map: 'string' }),
    8: f('serviceAccountName', 'string'),
    9: f('serviceAccount', 'string'),
    10: f('nodeName', 'string'),
    11: f('hostNetwork', 'bool'),
    12: f('hostPID', 'bool'),
    13: f('hostIPC', 'bool'),
    16: f('hostname', 'string'),
    17: f('subdomain', 'string'),
    19: f('schedulerName', 'string'),
    24: f('priorityClassName', 'string'),
  },
};

const LABEL_SELECTOR: Schema = { fields: { 1: f('matchLabels', { map: 'string' }) } };
const POD_TEMPLATE_SPEC: Schema = { fields: { 1: f('metadata', OBJECT_META), 2: f('spec', POD_SPEC) } };
const DEPLOYMENT_STRATEGY: Schema = { fields: { 1: f('type', 'string') } };
const DEPLOYMENT_SPEC: Schema = {
  fields: {
    1: f('replicas', 'int', { pointer: true }),
    2: f('selector', LABEL_SELECTOR),
    3: f('template', POD_TEMPLATE_SPEC),
    4: f('strategy', DEPLOYMENT_STRATEGY),
    5: f('minReadySeconds', 'int'),
    6: f('revisionHistoryLimit', 'int', { pointer: true }),
    7: f('paused', 'bool'),
    9: f('progressDeadlineSeconds', 'int', { pointer: true }),
  },
};
const SERVICE_PORT: Schema = {
  fields: {
    1: f('name', 'string'),
    2: f('protocol', 'string'),
    3: f('port', 'int'),
    4: f('targetPort', { intOrString: true }),
    5: f('nodePort', 'int'),
    6: f('appProtocol', 'string', { pointer: true }),
  },
};
const SERVICE_SPEC: Schema = {
  fields: {
    1: f('ports', SERVICE_PORT, { repeated: true }),
    2: f('selector', { map: 'string' }),
    3: f('clusterIP', 'string'),
    4: f('type', 'string'),
    5: f('externalIPs', 'string', { repeated: true }),
    7: f('sessionAffinity', 'string'),
    8: f('loadBalancerIP', 'string'),
    10: f('externalName', 'string'),
    11: f('externalTrafficPolicy', 'string'),
    12: f('healthCheckNodePort', 'int'),
    13: f('publishNotReadyAddresses', 'bool'),
  },
};
/** Status travels on create too (empty); the server resets it, so its fields are read and ignored. */
const ANY_STATUS: Schema = { fields: {} };

// rbac.authorization.k8s.io/v1: kubectl create role|clusterrole|rolebinding|clusterrolebinding.
const POLICY_RULE: Schema = {
  fields: {
    1: f('verbs', 'string', { repeated: true }),
    2: f('apiGroups', 'string', { repeated: true }),
    3: f('resources', 'string', { repeated: true }),
    4: f('resourceNames', 'string', { repeated: true }),
    5: f('nonResourceURLs', 'string', { repeated: true }),
  },
};
const RBAC_SUBJECT: Schema = {
  fields: { 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') },
};
const ROLE_REF: Schema = { fields: { 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') } };
const ROLE: Schema = { fields: { 1: f('metadata', OBJECT_META), 2: f('rules', POLICY_RULE, { repeated: true }) } };
const ROLE_BINDING: Schema = {
  fields: {
    1: f('metadata', OBJECT_META),
    2: f('subjects', RBAC_SUBJECT, { repeated: true }),
    3: f('roleRef', ROLE_REF),
  },
};
// authorization.k8s.io/v1 and authentication.k8s.io/v1: kubectl auth can-i, auth whoami, create token.
const RESOURCE_ATTRIBUTES: Schema = {
  fields: {
    1: f('namespace', 'string'),
    2: f('verb', 'string'),
    3: f('group', 'string'),
    4: f('version', 'string'),
    5: f('resource', 'string'),
    6: f('subresource', 'string'),
    7: f('name', 'string'),
  },
};
const ACCESS_REVIEW_SPEC: Schema = {
  fields: {
    1: f('resourceAttributes', RESOURCE_ATTRIBUTES),
    2: f('nonResourceAttributes', { fields: { 1: f('path', 'string'), 2: f('verb', 'string') } }),
    3: f('user', 'string'),
    4: f('groups', 'string', { repeated: true }),
    6: f('uid', 'string'),
  },
};
const TOKEN_REQUEST_SPEC: Schema = {
  fields: {
    1: f('audiences', 'string', { repeated: true }),
    3: f('boundObjectRef', {
      fields: { 1: f('kind', 'string'), 2: f('apiVersion', 'string'), 3: f('name', 'string'), 4: f('uid', 'string') },
    }),
    4: f('expirationSeconds', 'int', { pointer: true }),
  },
};

const KINDS: Record<string, Schema> = {
  'rbac.authorization.k8s.io/v1/Role': ROLE,
  'rbac.authorization.k8s.io/v1/ClusterRole': ROLE,
  'rbac.authorization.k8s.io/v1/RoleBinding': ROLE_BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ROLE_BINDING,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    fields: { 1: f('metadata', OBJECT_META), 2: f('spec', ACCESS_REVIEW_SPEC), 3: f('status', ANY_STATUS) },
  },
  'authorization.k8s.io/v1/SubjectAccessReview': {
    fields: { 1: f('metadata', OBJECT_META), 2: f('spec', ACCESS_REVIEW_SPEC), 3: f('status', ANY_STATUS) },
  },
  'authentication.k8s.io/v1/SelfSubjectReview': {
    fields: { 1: f('metadata', OBJECT_META), 2: f('status', ANY_STATUS) },
  },
  'authentication.k8s.io/v1/TokenRequest': {
    fields: { 1: f('metadata', OBJECT_META), 2: f('spec', TOKEN_REQUEST_SPEC), 3: f('status', ANY_STATUS) },
  },
  'v1/Namespace': {
    fields: {
      1: f('metadata', OBJECT_META),
      2: f('spec', { fields: { 1: f('finalizers', 'string', { repeated: true }) } }),
      3: f('status', ANY_STATUS),
    },
  },
  'v1/Secret': {
    fields: {
      1: f('metadata', OBJECT_META),
      2: f('data', { map: 'bytes' }),
      3: f('type', 'string'),
      4: f('stringData', { map: 'string' }),
      5: f('immutable', 'bool', { pointer: true }),
    },
  },
  'v1/ConfigMap': {
    fields: {
      1: f('metadata', OBJECT_META),
      2: f('data', { map: 'string' }),
      3: f('binaryData', { map: 'bytes' }),
      4: f('immutable', 'bool', { pointer: true }),
    },
  },
  'v1/ServiceAccount': {
    fields: {
      1: f('metadata', OBJECT_META),
      2: f('secrets', OBJECT_REFERENCE, { repeated: true }),
      3: f('imagePullSecrets', LOCAL_OBJECT_REFERENCE, { repeated: true }),
      4: f('automountServiceAccountToken', 'bool', { pointer: true }),
    },
  },
  'v1/Service': { fields: { 1: f('metadata', OBJECT_META), 2: f('spec', SERVICE_SPEC), 3: f('status', ANY_STATUS) } },
  'apps/v1/Deployment': {
    fields: { 1: f('metadata', OBJECT_META), 2: f('spec', DEPLOYMENT_SPEC), 3: f('status', ANY_STATUS) },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  private position = 0;
  constructor(private readonly buffer: Buffer) {}

  done(): boolean {
    return this.position >= this.buffer.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.position >= this.buffer.length) throw new Error('truncated varint');
      const byte = this.buffer[this.position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    const slice = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.position += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.position += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function unsupported(detail: string): Error {
  const error = unsupportedMediaType('application/json, application/yaml');
  error.status.message = `${error.status.message} (this stand-in decodes protobuf only for the kinds kubectl's typed clients create: ${detail})`;
  error.message = error.status.message;
  return error;
}

function toSigned(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}

function decodeMessage(buffer: Buffer, schema: Schema, path: string): Record<string, unknown> {
  const reader = new Reader(buffer);
  const result: Record<string, unknown> = {};
  while (!reader.done()) {
    const key = reader.varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    const field = schema.fields[number];
    if (field === undefined) {
      if (schema === ANY_STATUS) {
        reader.skip(wireType);
        continue;
      }
      throw unsupported(`unknown field ${number} in ${path}`);
    }
    const value = decodeValue(reader, field, wireType, `${path}.${field.name}`);
    if (field.repeated === true) {
      const list = (result[field.name] as unknown[] | undefined) ?? [];
      list.push(value);
      result[field.name] = list;
    } else if (typeof field.type === 'object' && 'map' in field.type)
      result[field.name] = {
        ...((result[field.name] as Record<string, unknown>) ?? {}),
        ...(value as Record<string, unknown>),
      };
    else result[field.name] = value;
  }
  // Go's JSON omits zero values of non-pointer fields (omitempty); a zero Time is null.
  for (const field of Object.values(schema.fields)) {
    const value = result[field.name];
    if (field.pointer === true || field.repeated === true) continue;
    if (value === '' || value === 0 || value === false || value === null) delete result[field.name];
  }
  return result;
}

function decodeValue(reader: Reader, field: Field, wireType: number, path: string): unknown {
  const type = field.type;
  if (type === 'int') return toSigned(reader.varint());
  if (type === 'bool') return reader.varint() !== 0n;
  const payload = reader.bytes();
  if (wireType !== 2) throw unsupported(`unexpected wire type at ${path}`);
  if (type === 'string') return payload.toString('utf8');
  if (type === 'bytes') return payload.toString('base64');
  if (type === 'time') {
    const time = decodeMessage(payload, { fields: { 1: f('seconds', 'int'), 2: f('nanos', 'int') } }, path);
    const seconds = Number(time.seconds ?? 0);
    return seconds === 0 ? null : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if ('map' in type) {
    const entry = decodeMessage(
      payload,
      { fields: { 1: f('key', 'string', { pointer: true }), 2: f('value', type.map, { pointer: true }) } },
      path,
    );
    return { [String(entry.key ?? '')]: entry.value ?? '' };
  }
  if ('intOrString' in type) {
    const value = decodeMessage(
      payload,
      {
        fields: {
          1: f('type', 'int', { pointer: true }),
          2: f('intVal', 'int', { pointer: true }),
          3: f('strVal', 'string', { pointer: true }),
        },
      },
      path,
    );
    return value.type === 1 ? String(value.strVal ?? '') : Number(value.intVal ?? 0);
  }
  return decodeMessage(payload, type, path);
}

/** Decodes a `k8s\0`-framed runtime.Unknown carrying one of the supported kinds into its JSON form. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw unsupported('the body lacks the k8s protobuf envelope');
  const envelope = decodeMessage(
    body.subarray(4),
    {
      fields: {
        1: f('typeMeta', { fields: { 1: f('apiVersion', 'string'), 2: f('kind', 'string') } }),
        2: f('raw', 'bytes'),
        3: f('contentEncoding', 'string'),
        4: f('contentType', 'string'),
      },
    },
    'Unknown',
  );
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const schema = KINDS[`${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`];
  if (schema === undefined) throw unsupported(`got ${typeMeta.apiVersion ?? '?'} ${typeMeta.kind ?? '?'}`);
  const object = decodeMessage(Buffer.from(String(envelope.raw ?? ''), 'base64'), schema, typeMeta.kind!);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...object };
}
