/**
 * Where a Service sends a connection, as kube-proxy would: to one of the Ready, not terminating pods its
 * selector matches, at the target port (a number, or a container port's name), taking turns. Only pods run
 * as processes have something listening, so only they are endpoints here.
 */
import type { ClusterStore, KubeObject } from '../../types.js';
import type { ClusterTypes } from '../cluster-writer.js';
import { isPodReady, isTerminating, jsonList, specOf, statusOf } from '../object-facts.js';
import { resolvePort } from './probes.js';

export interface RoutedAddress {
  host: string;
  port: number;
  socketPath: string;
}

function matches(selector: Record<string, string>, pod: KubeObject): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

export class ServiceRouter {
  private turn = 0;

  constructor(
    private readonly store: ClusterStore,
    private readonly types: ClusterTypes,
    private readonly socketFor: (podUid: string, port: number) => string | undefined,
  ) {}

  route(ref: { namespace: string; name: string; port: number }): RoutedAddress | undefined {
    const service = this.store.get(this.types.services, ref.namespace, ref.name);
    if (service === undefined) return undefined;
    const spec = specOf(service);
    const selector = (spec.selector ?? {}) as Record<string, string>;
    if (Object.keys(selector).length === 0) return undefined;
    const servicePort = jsonList(spec.ports).find((p) => p.port === ref.port);
    if (servicePort === undefined) return undefined;
    const endpoints: RoutedAddress[] = [];
    for (const pod of this.store.list(this.types.pods, { namespace: ref.namespace }).items) {
      if (!matches(selector, pod) || !isPodReady(pod) || isTerminating(pod)) continue;
      const target = servicePort.targetPort ?? servicePort.port;
      const port = jsonList(specOf(pod).containers)
        .map((container) => resolvePort(container, target))
        .find((p) => p !== undefined);
      const socketPath = port === undefined ? undefined : this.socketFor(pod.metadata.uid!, port);
      if (port === undefined || socketPath === undefined) continue;
      endpoints.push({ host: String(statusOf(pod).podIP ?? ''), port, socketPath });
    }
    if (endpoints.length === 0) return undefined;
    this.turn = (this.turn + 1) % endpoints.length;
    return endpoints[this.turn];
  }
}
