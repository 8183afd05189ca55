/**
 * The stand-in authenticates ServiceAccount tokens and authorises every request by the RBAC objects
 * applied to it, answering refusals in kube-apiserver's words; kubectl's `create token`, `auth can-i
 * --as` and `auth whoami` work against it, and so does client-node with a ServiceAccount's token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const setup = await h.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: team}
rules:
  - apiGroups: ['']
    resources: ['pods']
    verbs: ['get', 'list', 'watch']
  - apiGroups: ['']
    resources: ['pods/status']
    verbs: ['patch']
  - apiGroups: ['']
    resources: ['secrets']
    resourceNames: ['one']
    verbs: ['get', 'list', 'watch']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-reads-pods, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
  - {kind: ServiceAccount, name: reader}
---
apiVersion: v1
kind: Secret
metadata: {name: one, namespace: team}
stringData: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: two, namespace: team}
stringData: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: team}
spec:
  containers: [{name: app, image: nginx:1.25}]
`,
  });
  expect(setup.stderr).toBe('');
});
afterAll(async () => {
  await h.close();
});

async function tokenFor(account: string, extra: string[] = []): Promise<string> {
  const r = await h.kubectl(['-n', 'team', 'create', 'token', account, ...extra]);
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

function clientWithToken(token: string): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sandbox', server: h.sandbox.url, caData: Buffer.from(h.sandbox.caPem).toString('base64') }],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: 'sandbox', user: 'sa' }],
    currentContext: 'sa',
  });
  return kc.makeApiClient(k8s.CoreV1Api);
}

async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string; reason: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as k8s.ApiException<string>;
    const body = JSON.parse(e.body) as { message: string; reason: string };
    return { code: e.code, message: body.message, reason: body.reason };
  }
  throw new Error('the call was allowed');
}

describe('ServiceAccount tokens and RBAC', () => {
  it('allows what a RoleBinding grants and refuses the rest with the real Forbidden', async () => {
    const token = await tokenFor('reader');
    const pods = await h.kubectl(['--token', token, '-n', 'team', 'get', 'pods', '-o', 'name']);
    expect(pods).toMatchObject({ code: 0, stdout: 'pod/web\n' });

    const secrets = await h.kubectl(['--token', token, '-n', 'team', 'get', 'secrets']);
    expect(secrets.code).toBe(1);
    expect(secrets.stderr).toBe(
      'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:team:reader" cannot list ' +
        'resource "secrets" in API group "" in the namespace "team"\n',
    );

    const core = clientWithToken(token);
    expect((await core.readNamespacedPod({ namespace: 'team', name: 'web' })).metadata?.name).toBe('web');
    expect(await refusal(core.listPodForAllNamespaces())).toEqual({
      code: 403,
      reason: 'Forbidden',
      message:
        'pods is forbidden: User "system:serviceaccount:team:reader" cannot list resource "pods" in API group "" ' +
        'at the cluster scope',
    });
    expect(await refusal(core.deleteNamespacedPod({ namespace: 'team', name: 'web' }))).toMatchObject({
      code: 403,
      message: expect.stringContaining(
        'pods "web" is forbidden: User "system:serviceaccount:team:reader" cannot delete',
      ),
    });
    // A grant on a subresource is not a grant on the object, and the reverse.
    expect(await refusal(core.patchNamespacedPod({ namespace: 'team', name: 'web', body: {} }))).toMatchObject({
      code: 403,
    });
    const status = await core.patchNamespacedPodStatus(
      { namespace: 'team', name: 'web', body: { status: { conditions: [{ type: 'example.com/x', status: 'True' }] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(status.status?.conditions?.some((c) => c.type === 'example.com/x')).toBe(true);
  });

  it('limits a rule with resourceNames to that object, a list or watch of it by field selector included', async () => {
    const core = clientWithToken(await tokenFor('reader'));
    expect((await core.readNamespacedSecret({ namespace: 'team', name: 'one' })).metadata?.name).toBe('one');
    expect(await refusal(core.readNamespacedSecret({ namespace: 'team', name: 'two' }))).toMatchObject({
      code: 403,
      message: expect.stringContaining('secrets "two" is forbidden'),
    });
    const byName = await core.listNamespacedSecret({ namespace: 'team', fieldSelector: 'metadata.name=one' });
    expect(byName.items.map((s) => s.metadata?.name)).toEqual(['one']);
    expect(await refusal(core.listNamespacedSecret({ namespace: 'team' }))).toMatchObject({ code: 403 });
    // Create never carries a name the rule could match.
    expect(
      await refusal(core.createNamespacedSecret({ namespace: 'team', body: { metadata: { name: 'one-more' } } })),
    ).toMatchObject({ code: 403, message: expect.stringContaining('cannot create resource "secrets"') });
  });

  it('answers kubectl auth can-i --as and auth whoami', async () => {
    const asReader = ['--as', 'system:serviceaccount:team:reader', '-n', 'team'];
    expect(await h.kubectl(['auth', 'can-i', ...asReader, 'list', 'pods'])).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await h.kubectl(['auth', 'can-i', ...asReader, 'delete', 'pods'])).toMatchObject({
      code: 1,
      stdout: 'no\n',
    });
    expect(await h.kubectl(['auth', 'can-i', ...asReader, 'get', 'secrets/one'])).toMatchObject({ stdout: 'yes\n' });
    expect(await h.kubectl(['auth', 'can-i', ...asReader, 'get', 'secrets/two'])).toMatchObject({ stdout: 'no\n' });
    expect(await h.kubectl(['auth', 'can-i', ...asReader, 'patch', 'pods', '--subresource', 'status'])).toMatchObject({
      stdout: 'yes\n',
    });
    expect(await h.kubectl(['auth', 'can-i', 'delete', 'nodes'])).toMatchObject({ code: 0, stdout: 'yes\n' });

    const whoami = await h.kubectl(['--token', await tokenFor('reader'), 'auth', 'whoami', '-o', 'json']);
    const userInfo = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } })
      .status.userInfo;
    expect(userInfo.username).toBe('system:serviceaccount:team:reader');
    expect(userInfo.groups).toEqual(
      expect.arrayContaining(['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated']),
    );
  });

  it('grants a ClusterRole to a group everywhere, and takes it away when the binding goes', async () => {
    const core = clientWithToken(await tokenFor('reader'));
    expect(await refusal(core.listNode())).toMatchObject({
      message: expect.stringContaining('cannot list resource "nodes" in API group "" at the cluster scope'),
    });
    const bind = await h.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-lister}
rules: [{apiGroups: [''], resources: ['nodes'], verbs: ['list']}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: team-lists-nodes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-lister}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: 'system:serviceaccounts:team'}]
`,
    });
    expect(bind.code).toBe(0);
    expect(Array.isArray((await core.listNode()).items)).toBe(true);
    expect((await h.kubectl(['delete', 'clusterrolebinding', 'team-lists-nodes'])).code).toBe(0);
    expect(await refusal(core.listNode())).toMatchObject({ code: 403 });
  });

  it('names a missing role as the reason, and never lets a binding change its roleRef', async () => {
    await h.kubectl(['-n', 'team', 'create', 'serviceaccount', 'orphan']);
    const created = await h.kubectl([
      '-n',
      'team',
      'create',
      'rolebinding',
      'orphan-binding',
      '--role',
      'gone',
      '--serviceaccount',
      'team:orphan',
    ]);
    expect(created.code).toBe(0);
    const core = clientWithToken(await tokenFor('orphan'));
    expect(await refusal(core.listNamespacedPod({ namespace: 'team' }))).toMatchObject({
      message:
        'pods is forbidden: User "system:serviceaccount:team:orphan" cannot list resource "pods" in API group "" in ' +
        'the namespace "team": RBAC: role.rbac.authorization.k8s.io "gone" not found',
    });
    const patched = await h.kubectl([
      '-n',
      'team',
      'patch',
      'rolebinding',
      'orphan-binding',
      '--type',
      'merge',
      '-p',
      '{"roleRef":{"name":"pod-reader"}}',
    ]);
    expect(patched.code).toBe(1);
    expect(patched.stderr).toContain('roleRef: Invalid value');
    expect(patched.stderr).toContain('cannot change roleRef');
  });

  it('stops accepting a token when its account or bound pod is gone, and when it was never issued here', async () => {
    await h.kubectl(['-n', 'team', 'create', 'serviceaccount', 'short-lived']);
    const token = await tokenFor('short-lived');
    const bound = await tokenFor('reader', ['--bound-object-kind', 'Pod', '--bound-object-name', 'web']);
    const asReader = clientWithToken(bound);
    await h.kubectl([
      '-n',
      'team',
      'create',
      'rolebinding',
      'short',
      '--role',
      'pod-reader',
      '--serviceaccount',
      'team:short-lived',
    ]);
    const core = clientWithToken(token);
    expect((await core.listNamespacedPod({ namespace: 'team' })).items.length).toBeGreaterThan(0);
    expect((await asReader.listNamespacedPod({ namespace: 'team' })).items.length).toBeGreaterThan(0);

    const listPods = async (bearer: string) =>
      (await h.raw('GET', '/api/v1/namespaces/team/pods', { token: bearer })).json<{ code: number; reason: string }>();
    await h.kubectl(['-n', 'team', 'delete', 'serviceaccount', 'short-lived']);
    expect(await listPods(token)).toMatchObject({ code: 401, reason: 'Unauthorized' });
    await h.kubectl(['-n', 'team', 'delete', 'pod', 'web', '--grace-period=0', '--force']);
    expect(await listPods(bound)).toMatchObject({ code: 401, reason: 'Unauthorized' });

    const forged = `${token.split('.').slice(0, 2).join('.')}.${Buffer.from('not the signature').toString('base64url')}`;
    expect((await h.raw('GET', '/api/v1/namespaces/team/pods', { token: forged })).status).toBe(401);
  });

  it('lets only those allowed to impersonate act as someone else', async () => {
    const token = await tokenFor('reader');
    const r = await h.raw('GET', '/api/v1/namespaces/team/secrets', {
      token,
      headers: { 'Impersonate-User': 'system:admin' },
    });
    expect(r.status).toBe(403);
    expect(r.json<{ message: string }>().message).toBe(
      'users "system:admin" is forbidden: User "system:serviceaccount:team:reader" cannot impersonate resource ' +
        '"users" in API group "" at the cluster scope',
    );
  });
});
