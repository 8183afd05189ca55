/** A ReplicaSet's Deployment revision, read with the real client-node against the stand-in API server. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { createApiClients } from '../../../../api/kube/api-clients.js';
import { DEPLOYMENT_REVISION_ANNOTATION, replicaSetRevision } from '../../../../binder/kube/replica-set-revision.js';
import { captureLogs } from '../../captured-logs.js';
import { createNamespace, startKubeEdge, type KubeEdge } from './support.js';

let edge: KubeEdge;

beforeAll(async () => {
  edge = await startKubeEdge();
  await createNamespace(edge, 'apps');
});
afterAll(async () => {
  await edge?.close();
});

async function createReplicaSet(name: string, annotations: Record<string, string>): Promise<void> {
  const labels = { app: name };
  await edge.apps.createNamespacedReplicaSet({
    namespace: 'apps',
    body: {
      metadata: { name, annotations },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      },
    },
  });
}

describe('replicaSetRevision', () => {
  it('reads the revision the Deployment controller wrote, and nothing from a ReplicaSet without one', async () => {
    const logs = captureLogs();
    await createReplicaSet('web-5f7c9d', { [DEPLOYMENT_REVISION_ANNOTATION]: '4' });
    await createReplicaSet('bare-rs', {});
    await createReplicaSet('odd-rs', { [DEPLOYMENT_REVISION_ANNOTATION]: 'four' });
    expect(await replicaSetRevision(edge.apps, 'apps', 'web-5f7c9d', logs.logger)).toBe(4);
    expect(await replicaSetRevision(edge.apps, 'apps', 'bare-rs', logs.logger)).toBeUndefined();
    expect(await replicaSetRevision(edge.apps, 'apps', 'odd-rs', logs.logger)).toBeUndefined();
    expect(logs.lines).toEqual([]);
  });

  it('is undefined, quietly, for a ReplicaSet that is gone', async () => {
    const logs = captureLogs();
    expect(await replicaSetRevision(edge.apps, 'apps', 'gone-rs', logs.logger)).toBeUndefined();
    expect(logs.lines).toEqual([]);
  });

  it('is undefined, with a warning that names the ReplicaSet, when the API server refuses the read', async () => {
    const logs = captureLogs();
    // A client whose token the stand-in does not know: every call is refused, as a role without the rule is.
    const config = new k8s.KubeConfig();
    config.loadFromString(edge.sandbox.kubeconfig());
    const user = config.getCurrentUser();
    if (user === null) throw new Error('the stand-in kubeconfig has no user');
    (user as { token?: string }).token = 'not-a-token-the-stand-in-issued';
    const refused = createApiClients(config, { requestTimeoutMs: 10_000 });
    try {
      expect(await replicaSetRevision(refused.apps, 'apps', 'web-5f7c9d', logs.logger)).toBeUndefined();
    } finally {
      refused.close();
    }
    expect(logs.lines).toEqual([
      expect.objectContaining({
        level: 40,
        replicaSet: 'apps/web-5f7c9d',
        msg: "reading a ReplicaSet's revision failed; ordering its pods by creation time",
      }),
    ]);
    expect(JSON.stringify(logs.lines)).not.toContain('not-a-token-the-stand-in-issued');
  });
});
