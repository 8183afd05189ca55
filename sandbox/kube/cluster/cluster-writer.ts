/**
 * How the in-process cluster writes: as a named component (kubelet, scheduler, controllers) through the
 * request pipeline when there is one (admission and webhooks see the write, as they would a real
 * controller's request), else straight to the store. Read-modify-write retries on 409 Conflict.
 */
import { isStatusError } from '../errors.js';
import type { RequestPipeline } from '../request-pipeline.js';
import type { ClusterStore, DeleteOptions, KubeObject, ResourceType, UserInfo } from '../types.js';

/** The identities real components authenticate as; webhooks and audit logs see these. */
export const IDENTITIES = {
  scheduler: { username: 'system:kube-scheduler', groups: ['system:authenticated'] } as UserInfo,
  kubelet: (node: string): UserInfo => ({
    username: `system:node:${node}`,
    groups: ['system:nodes', 'system:authenticated'],
  }),
  controller: (name: string): UserInfo => ({
    username: `system:serviceaccount:kube-system:${name}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
  }),
};

/** The resource types the cluster touches, looked up once. */
export interface ClusterTypes {
  pods: ResourceType;
  nodes: ResourceType;
  events: ResourceType;
  replicaSets: ResourceType;
  deployments: ResourceType;
  statefulSets: ResourceType;
  configMaps: ResourceType;
  secrets: ResourceType;
  serviceAccounts: ResourceType;
  services: ResourceType;
}

export function clusterTypes(store: ClusterStore): ClusterTypes {
  const lookup = (group: string, plural: string): ResourceType => {
    const type = store.resourceType(group, plural);
    if (type === undefined) throw new Error(`the store does not serve ${group === '' ? '' : `${group}/`}${plural}`);
    return type;
  };
  return {
    pods: lookup('', 'pods'),
    nodes: lookup('', 'nodes'),
    events: lookup('', 'events'),
    replicaSets: lookup('apps', 'replicasets'),
    deployments: lookup('apps', 'deployments'),
    statefulSets: lookup('apps', 'statefulsets'),
    configMaps: lookup('', 'configmaps'),
    secrets: lookup('', 'secrets'),
    serviceAccounts: lookup('', 'serviceaccounts'),
    services: lookup('', 'services'),
  };
}

export function isConflict(error: unknown): boolean {
  return isStatusError(error) && error.status.code === 409 && error.status.reason === 'Conflict';
}

export function isAlreadyExists(error: unknown): boolean {
  return isStatusError(error) && error.status.reason === 'AlreadyExists';
}

export function isNotFound(error: unknown): boolean {
  return isStatusError(error) && error.status.code === 404;
}

const MAX_CONFLICT_RETRIES = 10;

export class ClusterWriter {
  constructor(
    private readonly store: ClusterStore,
    private readonly api: RequestPipeline | undefined,
  ) {}

  async create(type: ResourceType, object: KubeObject, as: UserInfo, component: string): Promise<KubeObject> {
    if (this.api === undefined) return this.store.create(type, object);
    return (await this.api.create(type, object.metadata.namespace, object, { userInfo: as, fieldManager: component }))
      .object;
  }

  async update(
    type: ResourceType,
    object: KubeObject,
    as: UserInfo,
    component: string,
    subresource?: 'status',
  ): Promise<KubeObject> {
    if (this.api === undefined)
      return this.store.update(type, object, subresource === undefined ? {} : { subresource });
    const options = { userInfo: as, fieldManager: component, ...(subresource === undefined ? {} : { subresource }) };
    return (await this.api.update(type, object.metadata.namespace, object.metadata.name!, object, options)).object;
  }

  /** Deletes; an object already gone counts as done. */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
    as: UserInfo,
  ): Promise<void> {
    try {
      if (this.api === undefined) this.store.delete(type, namespace, name, options);
      else await this.api.delete(type, namespace, name, options, { userInfo: as });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /**
   * Reads the object, lets `change` edit a copy (undefined: nothing to write), writes it with the version it
   * read, and starts again from a fresh read on a conflict. Undefined when the object (with `uid`, if given)
   * is gone.
   */
  async modify(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    change: (current: KubeObject) => KubeObject | undefined,
    as: UserInfo,
    component: string,
    options: { subresource?: 'status'; uid?: string } = {},
  ): Promise<KubeObject | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = this.store.get(type, namespace, name);
      if (current === undefined || (options.uid !== undefined && current.metadata.uid !== options.uid))
        return undefined;
      const next = change(structuredClone(current));
      if (next === undefined) return current;
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      try {
        return await this.update(type, next, as, component, options.subresource);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (!isConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw error;
      }
    }
  }
}
