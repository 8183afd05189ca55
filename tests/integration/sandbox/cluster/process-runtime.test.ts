/**
 * The sandbox's kubelet runs pods of local images as processes, the way a node runs containers: in the
 * pod's own network namespace with the pod's IP, as the user and groups the securityContext names, with a
 * read-only root filesystem when asked, its volumes at the paths the manifest names (ConfigMap changes
 * reaching the files), the downward API and in-cluster configuration in its environment, a ServiceAccount
 * token the API server authorises by RBAC, a Service leading to it once its readiness probe passes, a
 * restart when it crashes, and SIGTERM then removal when the pod is deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { processIsolationProblem } from '../../../../sandbox/kube/cluster/index.js';
import { startSandbox, type Sandbox } from '../../../../sandbox/index.js';
import type { KubeObject } from '../../../../sandbox/kube/index.js';
import { eventually } from '../../binder/kube/support.js';

/** The container: a small HTTP server that reports what it sees from inside. */
const CONTAINER_SCRIPT = `
import { createServer } from 'node:http';
import { request } from 'node:https';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
const token = '/var/run/secrets/kubernetes.io/serviceaccount';
function tryWrite(path) { try { writeFileSync(path, 'x'); return 'ok'; } catch (e) { return e.code; } }
function api(path) {
  return new Promise((resolve) => {
    const req = request({ host: process.env.KUBERNETES_SERVICE_HOST, port: +process.env.KUBERNETES_SERVICE_PORT, path,
      ca: readFileSync(token + '/ca.crt'), headers: { Authorization: 'Bearer ' + readFileSync(token + '/token', 'utf8') } },
      (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}
const server = createServer(async (req, res) => {
  if (req.url === '/crash') { res.end('bye'); setTimeout(() => process.exit(3), 10); return; }
  if (req.url === '/readyz') { res.end('ok'); return; }
  const namespace = readFileSync(token + '/namespace', 'utf8');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
    podName: process.env.POD_NAME, podIp: process.env.POD_IP, greeting: process.env.GREETING,
    serviceHost: process.env.KUBERNETES_SERVICE_HOST,
    addresses: Object.values(networkInterfaces()).flat().map((a) => a.address),
    settings: readFileSync('/etc/app/settings.txt', 'utf8'),
    secretMode: (statSync('/etc/secret/key').mode & 0o777).toString(8),
    secret: readFileSync('/etc/secret/key', 'utf8'),
    rootWrite: tryWrite('/podeip-sandbox-test'), tmpWrite: tryWrite('/tmp/x'),
    namespace,
    readConfigMaps: await api('/api/v1/namespaces/' + namespace + '/configmaps'),
    readSecrets: await api('/api/v1/namespaces/' + namespace + '/secrets'),
  }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(8080);
`;

const IMAGE = 'example.com/reporter';
/** A marker in the container's command line, to find its processes on the host. */
const MARKER = `reporter-${process.pid}`;
let sandbox: Sandbox;
let scratch: string;

function types(plural: string) {
  return sandbox.kube.store.resourceType('', plural)!;
}
async function create(plural: string, body: Record<string, unknown>, group = ''): Promise<void> {
  const type = group === '' ? types(plural) : sandbox.kube.store.resourceType(group, plural)!;
  await sandbox.kube.api.create(type, (body.metadata as { namespace?: string }).namespace, body);
}
function pod(name: string): KubeObject | undefined {
  return sandbox.kube.store.get(types('pods'), 'default', name);
}
function containerStatus(name: string): Record<string, unknown> | undefined {
  const statuses = (pod(name)?.status as { containerStatuses?: Record<string, unknown>[] } | undefined)
    ?.containerStatuses;
  return statuses?.[0];
}
const isReady = (p: KubeObject | undefined): boolean =>
  ((p?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/** GET through the Service, as kube-proxy would route it. */
function viaService(path: string): Promise<{ status: number; body: string } | undefined> {
  const address = sandbox.cluster.serviceAddress({ namespace: 'default', name: 'reporter', port: 80 });
  if (address === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const req = request({ socketPath: address.socketPath, path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

function reporterPod(name: string, secretName = 'reporter-key'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'reporter' } },
    spec: {
      serviceAccountName: 'reporter',
      terminationGracePeriodSeconds: 30,
      securityContext: { runAsNonRoot: true, runAsUser: 1234, runAsGroup: 1234, fsGroup: 2345 },
      containers: [
        {
          name: 'main',
          image: `${IMAGE}:1.0`,
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'reporter-settings', key: 'greeting' } } },
          ],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [
            { name: 'settings', mountPath: '/etc/app', readOnly: true },
            { name: 'key', mountPath: '/etc/secret', readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        {
          name: 'settings',
          configMap: { name: 'reporter-settings', items: [{ key: 'settings', path: 'settings.txt' }] },
        },
        { name: 'key', secret: { secretName, defaultMode: 0o400 } },
        { name: 'tmp', emptyDir: {} },
      ],
    },
  };
}

beforeAll(async () => {
  // These machines run as root with Linux namespaces; anywhere else this says why it cannot run.
  expect(processIsolationProblem()).toBeUndefined();
  // The image's files, in a folder whose parent only root may enter, as a checkout under /root would be.
  scratch = mkdtempSync(join(tmpdir(), 'podeip-process-runtime-'));
  const image = join(scratch, 'image');
  mkdirSync(image, { mode: 0o755 });
  chmodSync(image, 0o755);
  writeFileSync(join(image, 'reporter.mjs'), CONTAINER_SCRIPT, { mode: 0o644 });
  sandbox = await startSandbox({
    installPodEipCrd: false,
    cluster: {
      processes: {
        images: {
          [IMAGE]: {
            entrypoint: [process.execPath, '/app/reporter.mjs', MARKER],
            files: [{ from: image, at: '/app' }],
          },
        },
        probePeriodCapMs: 200,
      },
    },
  });
  await create('serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'reporter', namespace: 'default' },
  });
  await create(
    'roles',
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'read-configmaps', namespace: 'default' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }],
    },
    'rbac.authorization.k8s.io',
  );
  await create(
    'rolebindings',
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reporter-reads-configmaps', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
      subjects: [{ kind: 'ServiceAccount', name: 'reporter', namespace: 'default' }],
    },
    'rbac.authorization.k8s.io',
  );
  await create('configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'reporter-settings', namespace: 'default' },
    data: { settings: 'first', greeting: 'hello' },
  });
  await create('secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'reporter-key', namespace: 'default' },
    data: { key: Buffer.from('s3cret').toString('base64') },
  });
  await create('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reporter', namespace: 'default' },
    spec: { selector: { app: 'reporter' }, ports: [{ port: 80, targetPort: 'http' }] },
  });
}, 60_000);

afterAll(async () => {
  await sandbox?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('pods of local images run as processes', () => {
  it('runs the container as its manifest says, reachable through its Service once Ready', async () => {
    await create('pods', reporterPod('reporter-1'));
    await eventually(() => (isReady(pod('reporter-1')) ? true : undefined), 30_000, 'reporter-1 Ready');
    const answer = await eventually(() => viaService('/report'), 10_000, 'an answer through the Service');
    expect(answer.status).toBe(200);
    const report = JSON.parse(answer.body) as Record<string, unknown>;
    const podIp = (pod('reporter-1')!.status as { podIP: string }).podIP;
    expect(report).toMatchObject({
      uid: 1234,
      gid: 1234,
      podName: 'reporter-1',
      podIp,
      greeting: 'hello',
      serviceHost: '10.96.0.1',
      settings: 'first',
      secret: 's3cret',
      // defaultMode 0400, and the pod's fsGroup may read it, as the kubelet's volume ownership does.
      secretMode: '440',
      rootWrite: 'EROFS',
      tmpWrite: 'ok',
      namespace: 'default',
      readConfigMaps: 200,
      readSecrets: 403,
    });
    expect(report.groups).toContain(2345);
    expect(report.addresses).toContain(podIp);
  }, 60_000);

  it('updates a mounted ConfigMap when the ConfigMap changes', async () => {
    await sandbox.kube.api.patch(types('configmaps'), 'default', 'reporter-settings', 'merge', {
      data: { settings: 'second' },
    });
    await eventually(
      async () => {
        const answer = await viaService('/report');
        return answer !== undefined && (JSON.parse(answer.body) as { settings: string }).settings === 'second'
          ? true
          : undefined;
      },
      30_000,
      'the new settings in the mounted file',
    );
  }, 60_000);

  it('restarts a container that exits, and records how it ended', async () => {
    expect((await viaService('/crash'))?.status).toBe(200);
    // Until its back-off ends, the kubelet shows the wait and the crash.
    const waiting = await eventually(
      () => {
        const s = containerStatus('reporter-1') as { state: { waiting?: { reason: string } } } | undefined;
        return s?.state.waiting?.reason === 'CrashLoopBackOff' ? s : undefined;
      },
      30_000,
      'reporter-1 in CrashLoopBackOff',
    );
    expect(waiting).toMatchObject({ ready: false, lastState: { terminated: { exitCode: 3, reason: 'Error' } } });
    const status = await eventually(
      () => {
        const s = containerStatus('reporter-1') as { restartCount: number; ready: boolean } | undefined;
        return s !== undefined && s.restartCount === 1 && s.ready ? s : undefined;
      },
      60_000,
      'reporter-1 restarted and Ready again',
    );
    expect(status).toMatchObject({ lastState: { terminated: { exitCode: 3, reason: 'Error' } } });
  }, 90_000);

  it('stops the process on deletion before the pod is gone', async () => {
    await sandbox.kube.api.delete(types('pods'), 'default', 'reporter-1');
    await eventually(() => (pod('reporter-1') === undefined ? true : undefined), 30_000, 'reporter-1 gone');
    // Its process ended (on SIGTERM) before the kubelet finished the deletion.
    expect(() => execFileSync('pgrep', ['-f', MARKER])).toThrow();
  }, 60_000);

  it('keeps a pod whose Secret is missing in ContainerCreating with a FailedMount Event', async () => {
    await create('pods', reporterPod('reporter-2', 'not-yet'));
    const events = sandbox.kube.store.resourceType('', 'events')!;
    const failure = await eventually(
      () =>
        sandbox.kube.store
          .list(events, { namespace: 'default' })
          .items.find(
            (e) =>
              (e as { reason?: string }).reason === 'FailedMount' &&
              (e as { involvedObject?: { name?: string } }).involvedObject?.name === 'reporter-2',
          ) as { message: string } | undefined,
      30_000,
      'the FailedMount Event',
    );
    expect(failure.message).toBe('MountVolume.SetUp failed for volume "key" : secret "not-yet" not found');
    expect(containerStatus('reporter-2')).toMatchObject({ state: { waiting: { reason: 'ContainerCreating' } } });
    await create('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'not-yet', namespace: 'default' },
      data: { key: Buffer.from('late').toString('base64') },
    });
    await eventually(() => (isReady(pod('reporter-2')) ? true : undefined), 30_000, 'reporter-2 Ready');
  }, 60_000);
});
