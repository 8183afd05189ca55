/**
 * PodEIP objects through CustomObjectsApi, in ACK's shape: named after the pod, carrying the shared
 * finalizer and no ownerReference (a TTL or Never EIP must outlive its pod, and garbage collection would
 * delete the record with the pod). Spec and status are merge patches (custom resources answer 415 to a
 * strategic merge patch); status goes through the /status subresource, which is all it accepts.
 */
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import {
  PODEIP_API_VERSION,
  PODEIP_FINALIZER,
  PODEIP_GROUP,
  PODEIP_KIND,
  PODEIP_PLURAL,
  PODEIP_VERSION,
} from '../../api/constants.js';
import { isRecord } from '../../api/is-record.js';
import type { PodEIP, PodEIPMetadata, PodEIPSpec, PodEIPStatus } from '../../api/podeip.js';
import { MERGE_PATCH, isNotFound } from '../../api/kube/api-clients.js';
import { ListWatch, type ListWatchOptions, type RawKubeObject } from '../../api/kube/list-watch.js';
import { toKubeTime } from './pod-projection.js';

export interface PodEipRef {
  namespace: string;
  name: string;
}

export type FinalizerRemoval = 'removed' | 'absent' | 'gone';

const COORDINATES = { group: PODEIP_GROUP, version: PODEIP_VERSION, plural: PODEIP_PLURAL } as const;

/** Keeps what podeip reads of a PodEIP; managedFields and other metadata stay on the server. */
export function projectPodEip(object: RawKubeObject): PodEIP | undefined {
  const raw = object as { metadata?: Record<string, unknown>; spec?: PodEIPSpec; status?: PodEIPStatus };
  const m = raw.metadata;
  if (m === undefined || typeof m.name !== 'string' || typeof m.namespace !== 'string' || raw.spec === undefined)
    return undefined;
  const metadata: PodEIPMetadata = { name: m.name, namespace: m.namespace };
  for (const key of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'] as const) {
    const value = m[key];
    if (typeof value === 'string') metadata[key] = value;
    else if (value instanceof Date) metadata[key] = toKubeTime(value);
  }
  if (typeof m.generation === 'number') metadata.generation = m.generation;
  if (Array.isArray(m.finalizers) && m.finalizers.length > 0) metadata.finalizers = [...(m.finalizers as string[])];
  if (isRecord<Record<string, string>>(m.labels)) metadata.labels = { ...m.labels };
  if (isRecord<Record<string, string>>(m.annotations)) metadata.annotations = { ...m.annotations };
  const podEip: PodEIP = {
    apiVersion: PODEIP_API_VERSION,
    kind: PODEIP_KIND,
    metadata,
    spec: structuredClone(raw.spec),
  };
  if (raw.status !== undefined && raw.status !== null) podEip.status = structuredClone(raw.status);
  return podEip;
}

export class PodEipClient {
  private readonly logger: Logger;

  constructor(
    private readonly api: CustomObjectsApi,
    options: { logger?: Logger } = {},
  ) {
    this.logger = (options.logger ?? pino({ enabled: false })).child({ component: 'podeip-client' });
  }

  /** Every PodEIP in these namespaces (empty: all), as the watch would project them. */
  async list(namespaces: readonly string[]): Promise<PodEIP[]> {
    const lists =
      namespaces.length === 0
        ? [await this.api.listClusterCustomObject(COORDINATES)]
        : await Promise.all(
            namespaces.map((namespace) => this.api.listNamespacedCustomObject({ ...COORDINATES, namespace })),
          );
    return lists
      .flatMap((list) => (list as { items: RawKubeObject[] }).items)
      .map(projectPodEip)
      .filter((podEip): podEip is PodEIP => podEip !== undefined);
  }

  async get(ref: PodEipRef): Promise<PodEIP | undefined> {
    try {
      return projectPodEip((await this.api.getNamespacedCustomObject({ ...COORDINATES, ...ref })) as RawKubeObject);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Creates the record with the finalizer, so the EIP cannot be forgotten by a delete. The server drops
   * status on create (status subresource); set it with patchStatus. 409 AlreadyExists is thrown.
   */
  async create(
    ref: PodEipRef,
    spec: PodEIPSpec,
    extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
  ): Promise<PodEIP> {
    const body = {
      apiVersion: PODEIP_API_VERSION,
      kind: PODEIP_KIND,
      metadata: { name: ref.name, namespace: ref.namespace, finalizers: [PODEIP_FINALIZER], ...extra },
      spec,
    };
    const created = projectPodEip(
      (await this.api.createNamespacedCustomObject({
        ...COORDINATES,
        namespace: ref.namespace,
        body,
      })) as RawKubeObject,
    );
    this.logger.info({ namespace: ref.namespace, pod: ref.name, allocationId: spec.allocationID }, 'created PodEIP');
    return created!;
  }

  /**
   * Merges metadata and spec in one request; undefined when the record is gone. A resourceVersion in
   * `body.metadata` makes a stale write fail with 409 instead of overwriting.
   */
  patchRecord(
    ref: PodEipRef,
    body: { metadata?: Record<string, unknown>; spec?: Partial<PodEIPSpec> },
  ): Promise<PodEIP | undefined> {
    return this.patch(ref, body, false);
  }

  /**
   * Merges `status` through /status; a field set to null is removed. Undefined when the record is gone.
   * `resourceVersion`, when given, makes a stale write fail with 409 instead of overwriting.
   */
  async patchStatus(
    ref: PodEipRef,
    status: { [K in keyof PodEIPStatus]?: PodEIPStatus[K] | null },
    options: { resourceVersion?: string } = {},
  ): Promise<PodEIP | undefined> {
    const metadata =
      options.resourceVersion === undefined ? {} : { metadata: { resourceVersion: options.resourceVersion } };
    return this.patch(ref, { ...metadata, status }, true);
  }

  /**
   * Takes podeip's finalizer off, leaving any other. The whole list is sent with the resourceVersion the
   * caller read as a precondition: a list another controller changed meanwhile gives 409 (thrown; read
   * again and retry) instead of losing that controller's finalizer.
   */
  async removeFinalizer(podEip: PodEIP): Promise<FinalizerRemoval> {
    const finalizers = podEip.metadata.finalizers ?? [];
    if (!finalizers.includes(PODEIP_FINALIZER)) return 'absent';
    const rest = finalizers.filter((f) => f !== PODEIP_FINALIZER);
    const body = {
      metadata: { resourceVersion: podEip.metadata.resourceVersion, finalizers: rest.length === 0 ? null : rest },
    };
    const ref = { namespace: podEip.metadata.namespace, name: podEip.metadata.name };
    const patched = await this.patch(ref, body, false);
    if (patched === undefined) return 'gone';
    this.logger.info(
      { namespace: ref.namespace, pod: ref.name, allocationId: podEip.spec.allocationID },
      'removed PodEIP finalizer',
    );
    return 'removed';
  }

  /**
   * Deletes the record; with `uid`, only that very object (a record recreated under the name is left
   * alone, 409). False when it was already gone. With the finalizer still on, the object only gets a
   * deletionTimestamp until removeFinalizer.
   */
  async delete(ref: PodEipRef, options: { uid?: string } = {}): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({
        ...COORDINATES,
        ...ref,
        body: options.uid === undefined ? {} : { preconditions: { uid: options.uid } },
      });
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    this.logger.info({ namespace: ref.namespace, pod: ref.name, uid: options.uid }, 'deleted PodEIP');
    return true;
  }

  private async patch(ref: PodEipRef, body: object, status: boolean): Promise<PodEIP | undefined> {
    const params = { ...COORDINATES, ...ref, body };
    try {
      const result = status
        ? await this.api.patchNamespacedCustomObjectStatus(params, MERGE_PATCH)
        : await this.api.patchNamespacedCustomObject(params, MERGE_PATCH);
      return projectPodEip(result as RawKubeObject);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

/** A list-watch of PodEIPs, in all namespaces unless one is given. */
export function podEipListWatch(
  kubeConfig: KubeConfig,
  options: Omit<ListWatchOptions<PodEIP>, 'kubeConfig' | 'path' | 'project'> & { namespace?: string } = {},
): ListWatch<PodEIP> {
  const { namespace, ...rest } = options;
  const path =
    namespace === undefined
      ? `/apis/${PODEIP_GROUP}/${PODEIP_VERSION}/${PODEIP_PLURAL}`
      : `/apis/${PODEIP_GROUP}/${PODEIP_VERSION}/namespaces/${namespace}/${PODEIP_PLURAL}`;
  return new ListWatch<PodEIP>({ ...rest, kubeConfig, path, project: projectPodEip });
}
