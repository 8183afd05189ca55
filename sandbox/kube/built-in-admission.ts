/**
 * The compiled-in mutating admission plugins that run before any webhook and change what a webhook sees
 * of a new pod: ServiceAccount (the account name and the projected API token volume in every container)
 * and DefaultTolerationSeconds (five minutes of tolerance for not-ready and unreachable nodes).
 */
import { isRecord } from '../../api/is-record.js';
import { forbidden } from './errors.js';
import { randomSuffix } from './object-meta.js';
import type { ClusterStore, KubeObject, ResourceType } from './types.js';

type Json = Record<string, unknown>;

const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter(isRecord) as Json[]) : [];
}

function admitServiceAccount(pod: KubeObject, store: ClusterStore, podType: ResourceType): void {
  const spec = pod.spec as Json;
  const namespace = pod.metadata.namespace ?? 'default';
  if (typeof spec.serviceAccountName !== 'string' || spec.serviceAccountName === '')
    spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const accountName = spec.serviceAccountName as string;
  const accountType = store.resourceType('', 'serviceaccounts')!;
  const account = store.get(accountType, namespace, accountName);
  if (account === undefined) {
    throw forbidden(
      podType,
      pod.metadata.name ?? '',
      `error looking up service account ${namespace}/${accountName}: serviceaccount "${accountName}" not found`,
    );
  }
  const automount = spec.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true;
  if (automount === false) return;
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  if (containers.some((c) => list(c.volumeMounts).some((m) => m.mountPath === TOKEN_MOUNT_PATH))) return;
  const volumeName = `kube-api-access-${randomSuffix()}`;
  spec.volumes = [
    ...list(spec.volumes),
    {
      name: volumeName,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
            },
          },
        ],
        defaultMode: 420,
      },
    },
  ];
  for (const container of containers)
    container.volumeMounts = [
      ...list(container.volumeMounts),
      { name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH },
    ];
}

const NODE_PROBLEM_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

function admitDefaultTolerations(pod: KubeObject): void {
  const spec = pod.spec as Json;
  const tolerations = list(spec.tolerations);
  for (const key of NODE_PROBLEM_TAINTS) {
    const tolerated = tolerations.some(
      (t) =>
        (t.key === key || (t.key === undefined && t.operator === 'Exists')) &&
        (t.effect === undefined || t.effect === 'NoExecute'),
    );
    if (!tolerated) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/** Runs the built-in plugins for a CREATE; only pods are touched. */
export function admitBuiltIn(type: ResourceType, object: KubeObject, store: ClusterStore): void {
  if (type.group !== '' || type.plural !== 'pods' || !isRecord(object.spec)) return;
  admitServiceAccount(object, store, type);
  admitDefaultTolerations(object);
}
