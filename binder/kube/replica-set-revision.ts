/**
 * The Deployment revision a ReplicaSet runs: the `deployment.kubernetes.io/revision` annotation the Deployment
 * controller writes on each of its ReplicaSets, one higher for every new template, and renumbered to the
 * highest when a rollback makes an old ReplicaSet current again (docs/kubernetes.md#deployment-revisions).
 * Read with a GET when two pods of one Deployment contend for a static EIP, which is rare.
 */
import type { AppsV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isNotFound } from '../../api/kube/api-clients.js';

export const DEPLOYMENT_REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** The revision, or undefined when the ReplicaSet is gone, carries none, or cannot be read. */
export async function replicaSetRevision(
  apps: AppsV1Api,
  namespace: string,
  name: string,
  logger: Logger,
): Promise<number | undefined> {
  try {
    const replicaSet = await apps.readNamespacedReplicaSet({ namespace, name });
    const revision = Number(replicaSet.metadata?.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]);
    return Number.isInteger(revision) && revision > 0 ? revision : undefined;
  } catch (error) {
    // Without it the pods are ordered by creation, as before the binder read revisions; an install whose role
    // lacks `get replicasets` (one upgraded without its RBAC) is told so here.
    if (!isNotFound(error))
      logger.warn(
        { err: error, replicaSet: `${namespace}/${name}` },
        "reading a ReplicaSet's revision failed; ordering its pods by creation time",
      );
    return undefined;
  }
}
