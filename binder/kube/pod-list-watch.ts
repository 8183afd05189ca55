/** The binder's pod cache: every pod in the cluster (or a namespace), kept as a PodProjection. */
import type { KubeConfig } from '@kubernetes/client-node';
import { ListWatch, type ListWatchOptions } from '../../api/kube/list-watch.js';
import { projectPod, type PodLike, type PodProjection } from './pod-projection.js';

export function podListWatch(
  kubeConfig: KubeConfig,
  options: Omit<ListWatchOptions<PodProjection>, 'kubeConfig' | 'path' | 'project'> & { namespace?: string } = {},
): ListWatch<PodProjection> {
  const { namespace, ...rest } = options;
  const path = namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`;
  return new ListWatch<PodProjection>({
    ...rest,
    kubeConfig,
    path,
    project: (object) => projectPod(object as PodLike),
  });
}
