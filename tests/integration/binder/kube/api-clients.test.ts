/**
 * How the binder reaches the apiserver: from a kubeconfig file (option or KUBECONFIG), from the pod's
 * service account, and with a deadline on every request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_API_CONNECTIONS,
  apiErrorStatus,
  createApiClients,
  loadKubeConfig,
  withSignal,
} from '../../../../api/kube/api-clients.js';
import { startKubeEdge, type KubeEdge } from './support.js';

let edge: KubeEdge;
let dir: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  edge = await startKubeEdge();
  dir = await mkdtemp(join(tmpdir(), 'binder-kube-'));
});
afterEach(() => {
  for (const key of ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  edge.sandbox.controls.reset();
});
afterAll(async () => {
  await edge.close();
  await rm(dir, { recursive: true, force: true });
});

describe('loadKubeConfig', () => {
  it('reads a kubeconfig file named by option or by KUBECONFIG', async () => {
    const file = join(dir, 'kubeconfig.yaml');
    await writeFile(file, edge.sandbox.kubeconfig());
    const { core } = createApiClients(loadKubeConfig({ kubeconfigPath: file }));
    expect((await core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
    process.env.KUBECONFIG = `${file}:/nonexistent`;
    const fromEnv = createApiClients(loadKubeConfig());
    expect((await fromEnv.core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
  });

  it('uses the service account in a cluster, and refuses to guess outside one', async () => {
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    expect(() => loadKubeConfig()).toThrow(/not in a cluster/);
    const root = join(dir, 'pod');
    const accountDir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(accountDir, { recursive: true });
    await writeFile(join(accountDir, 'ca.crt'), edge.sandbox.caPem);
    await writeFile(join(accountDir, 'token'), edge.sandbox.token);
    await writeFile(join(accountDir, 'namespace'), 'kube-system');
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = String(edge.sandbox.port);
    const kc = loadKubeConfig({ inClusterRoot: root });
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('kube-system');
    const { core } = createApiClients(kc);
    expect((await core.readNamespace({ name: 'kube-system' })).metadata?.name).toBe('kube-system');
  });
});

describe('connections', () => {
  it('keeps them alive: a hundred calls, ten at a time, open at most ten, and a closed client opens new ones', async () => {
    const clients = createApiClients(edge.kubeConfig);
    const before = edge.sandbox.controls.connectionCount();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 10 }, () => clients.core.readNamespace({ name: 'default' })));
    }
    const opened = edge.sandbox.controls.connectionCount() - before;
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThanOrEqual(10);
    clients.close();
    // After close, requests still work (each on a connection of its own, as client-node does by itself).
    expect((await clients.core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
    expect(edge.sandbox.controls.connectionCount() - before).toBe(opened + 1);
  });

  it('opens no more than MAX_API_CONNECTIONS for a burst: the rest wait their turn, and every call succeeds', async () => {
    const clients = createApiClients(edge.kubeConfig);
    edge.sandbox.controls.setLatency(50);
    const before = edge.sandbox.controls.connectionCount();
    const answers = await Promise.all(
      Array.from({ length: MAX_API_CONNECTIONS * 3 }, () => clients.core.readNamespace({ name: 'default' })),
    );
    expect(answers.every((answer) => answer.metadata?.name === 'default')).toBe(true);
    const opened = edge.sandbox.controls.connectionCount() - before;
    expect(opened).toBe(MAX_API_CONNECTIONS);
    clients.close();
  });

  it('keeps the Lease off that queue: a renewal sent behind a burst is answered before its second round is', async () => {
    const clients = createApiClients(edge.kubeConfig);
    edge.sandbox.controls.setLatency(150);
    let answered = 0;
    let answeredBeforeLease = -1;
    const burst = Array.from({ length: MAX_API_CONNECTIONS * 3 }, () =>
      clients.core.readNamespace({ name: 'default' }).then(() => (answered += 1)),
    );
    const lease = clients.coordination
      .listNamespacedLease({ namespace: 'default' })
      .then(() => (answeredBeforeLease = answered));
    await Promise.all([...burst, lease]);
    // Queued behind the burst it would come after all 48; on its own connection it comes with the first 16.
    expect(answeredBeforeLease).toBeGreaterThanOrEqual(0);
    expect(answeredBeforeLease).toBeLessThan(MAX_API_CONNECTIONS * 2);
    clients.close();
  });
});

describe('request deadlines', () => {
  it('aborts a request that outlives the clients’ timeout, and one bounded by a signal', async () => {
    const { core } = createApiClients(edge.kubeConfig, { requestTimeoutMs: 200 });
    // The server holds every answer back 3 s: an error sooner than that was the client's own doing, and the
    // fifteenfold margin over the 200 ms deadline is for a busy machine.
    edge.sandbox.controls.setLatency(3000);
    const started = Date.now();
    const error = await core.readNamespace({ name: 'default' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((error as Error).name).toBe('AbortError');
    expect(apiErrorStatus(error)).toBeUndefined();

    const slowClients = createApiClients(edge.kubeConfig, { requestTimeoutMs: 10_000 });
    const bounded = Date.now();
    await expect(
      slowClients.core.readNamespace({ name: 'default' }, withSignal(AbortSignal.timeout(200))),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - bounded).toBeLessThan(3000);
  });
});
