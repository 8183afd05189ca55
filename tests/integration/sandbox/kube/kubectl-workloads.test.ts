/**
 * kubectl for apps/v1 workloads and webhook configurations: apply twice (generation), workload
 * validation messages, garbage collection of dependents through ownerReferences (background, orphan,
 * foreground), and MutatingWebhookConfiguration defaults.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../../../sandbox/kube/types.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const deployment = (name: string, image: string, replicas = 2): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: app
        image: ${image}
        env: [{name: MODE, value: fast}]
`;

/** What the Deployment and ReplicaSet controllers would create: a ReplicaSet and a pod, each owned by the last. */
function createOwnedChain(owner: KubeObject): { replicaSet: KubeObject; pod: KubeObject } {
  const store = h.sandbox.store;
  const name = owner.metadata.name!;
  const labels = { app: name };
  const replicaSet = store.create(store.resourceType('apps', 'replicasets')!, {
    metadata: {
      name: `${name}-5d4f8`,
      namespace: 'default',
      labels,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name,
          uid: owner.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    },
  });
  const pod = store.create(store.resourceType('', 'pods')!, {
    metadata: {
      name: `${name}-5d4f8-x2x4q`,
      namespace: 'default',
      labels,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: replicaSet.metadata.name!,
          uid: replicaSet.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'nginx' }] },
  });
  return { replicaSet, pod };
}

describe('deployments, replicasets and statefulsets', () => {
  it('applies a deployment twice, bumping generation only when the spec changes', async () => {
    const file = await h.manifest('web.yaml', deployment('web', 'nginx:1.25'));
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('deployment.apps/web created');
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('deployment.apps/web unchanged');
    await h.manifest('web.yaml', deployment('web', 'nginx:1.26'));
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('deployment.apps/web configured');
    await h.kubectl(['annotate', 'deployment', 'web', 'example.com/owner=team-a']);
    const object = JSON.parse((await h.kubectl(['get', 'deployment', 'web', '-o', 'json'])).stdout);
    expect(object.metadata.generation).toBe(2);
    expect(object.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
    });
    expect(object.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    const wide = await h.kubectl(['get', 'deployment', 'web', '-o', 'wide']);
    expect(wide.stdout.trim().split('\n')[1]).toMatch(/^web\s+0\/2\s+0\s+0\s+\S+\s+app\s+nginx:1\.26\s+app=web$/);
  });

  it('merges container env by name in a strategic patch of the template', async () => {
    await h.kubectl(['apply', '-f', '-'], { input: deployment('envs', 'nginx') });
    await h.kubectl([
      'patch',
      'deployment',
      'envs',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"EXTRA","value":"1"}]}]}}}}',
    ]);
    const env = JSON.parse(
      (await h.kubectl(['get', 'deployment', 'envs', '-o', 'jsonpath={.spec.template.spec.containers[0].env}'])).stdout,
    );
    expect(env).toEqual([
      { name: 'MODE', value: 'fast' },
      { name: 'EXTRA', value: '1' },
    ]);
    await h.kubectl([
      'patch',
      'deployment',
      'envs',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"MODE","$patch":"delete"}]}]}}}}',
    ]);
    expect(
      JSON.parse(
        (await h.kubectl(['get', 'deployment', 'envs', '-o', 'jsonpath={.spec.template.spec.containers[0].env}']))
          .stdout,
      ),
    ).toEqual([{ name: 'EXTRA', value: '1' }]);
  });

  it('rejects a selector that does not match the template, and a changed selector', async () => {
    const mismatched = await h.kubectl(['apply', '-f', '-'], {
      input: deployment('odd', 'nginx').replace('matchLabels: {app: odd}', 'matchLabels: {app: other}'),
    });
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr.trim()).toBe(
      'The Deployment "odd" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"odd"}: `selector` does not match template `labels`',
    );
    await h.kubectl(['apply', '-f', '-'], { input: deployment('fixed', 'nginx') });
    const changed = await h.kubectl([
      'patch',
      'deployment',
      'fixed',
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"matchLabels":{"app":"fixed","v":"2"}},"template":{"metadata":{"labels":{"v":"2"}}}}}',
    ]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('spec.selector: Invalid value:');
    expect(changed.stderr).toContain('field is immutable');
  });

  it('deletes dependents with their owner (background), and leaves them with --cascade=orphan', async () => {
    const store = h.sandbox.store;
    await h.kubectl(['apply', '-f', '-'], { input: deployment('bg', 'nginx') });
    const owner = store.get(store.resourceType('apps', 'deployments')!, 'default', 'bg')!;
    const { replicaSet, pod } = createOwnedChain(owner);
    expect((await h.kubectl(['get', 'rs', 'bg-5d4f8', '--no-headers'])).stdout).toMatch(/^bg-5d4f8\s+1\s+0\s+0\s/);
    expect((await h.kubectl(['delete', 'deployment', 'bg'])).stdout.trim()).toBe('deployment.apps "bg" deleted');
    expect((await h.kubectl(['get', 'rs', replicaSet.metadata.name!])).code).toBe(1);
    expect((await h.kubectl(['get', 'pod', pod.metadata.name!])).code).toBe(1);

    await h.kubectl(['apply', '-f', '-'], { input: deployment('keep', 'nginx') });
    const keeper = store.get(store.resourceType('apps', 'deployments')!, 'default', 'keep')!;
    const orphaned = createOwnedChain(keeper);
    expect((await h.kubectl(['delete', 'deployment', 'keep', '--cascade=orphan'])).code).toBe(0);
    const rs = JSON.parse((await h.kubectl(['get', 'rs', orphaned.replicaSet.metadata.name!, '-o', 'json'])).stdout);
    expect(rs.metadata.ownerReferences).toBeUndefined();
    expect((await h.kubectl(['get', 'pod', orphaned.pod.metadata.name!, '-o', 'name'])).stdout.trim()).toBe(
      `pod/${orphaned.pod.metadata.name}`,
    );
  });

  it('deletes in the foreground: the owner waits, with foregroundDeletion, for a Terminating dependent', async () => {
    const store = h.sandbox.store;
    await h.kubectl(['apply', '-f', '-'], { input: deployment('fg', 'nginx') });
    const owner = store.get(store.resourceType('apps', 'deployments')!, 'default', 'fg')!;
    const { replicaSet, pod } = createOwnedChain(owner);
    const pods = store.resourceType('', 'pods')!;
    store.bindPod('default', pod.metadata.name!, 'node-1');
    expect((await h.kubectl(['delete', 'deployment', 'fg', '--cascade=foreground', '--wait=false'])).code).toBe(0);
    const waiting = JSON.parse((await h.kubectl(['get', 'deployment', 'fg', '-o', 'json'])).stdout);
    expect(waiting.metadata.finalizers).toEqual(['foregroundDeletion']);
    expect(store.get(pods, 'default', pod.metadata.name!)!.metadata.deletionTimestamp).toBeDefined();
    store.delete(pods, 'default', pod.metadata.name!, { gracePeriodSeconds: 0 });
    expect(store.get(store.resourceType('apps', 'replicasets')!, 'default', replicaSet.metadata.name!)).toBeUndefined();
    expect((await h.kubectl(['get', 'deployment', 'fg'])).code).toBe(1);
  });

  it('creates replicasets and statefulsets, and refuses statefulset spec changes the API forbids', async () => {
    const rs = `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs1}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: rs1}}\n  template:\n    metadata: {labels: {app: rs1}}\n    spec: {containers: [{name: app, image: nginx}]}\n`;
    expect((await h.kubectl(['create', '-f', '-'], { input: rs })).stdout.trim()).toBe('replicaset.apps/rs1 created');
    const sts = (serviceName: string): string =>
      `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: ${serviceName}\n  replicas: 1\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: postgres:16}]}\n`;
    expect((await h.kubectl(['apply', '-f', '-'], { input: sts('db') })).stdout.trim()).toBe(
      'statefulset.apps/db created',
    );
    expect((await h.kubectl(['apply', '-f', '-'], { input: sts('db') })).stdout.trim()).toBe(
      'statefulset.apps/db unchanged',
    );
    const changed = await h.kubectl(['apply', '-f', '-'], { input: sts('db-headless') });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(
      "The StatefulSet \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    const object = JSON.parse((await h.kubectl(['get', 'sts', 'db', '-o', 'json'])).stdout);
    expect(object.spec.podManagementPolicy).toBe('OrderedReady');
    expect(object.status).toEqual({});
    expect((await h.kubectl(['scale', 'sts', 'db', '--replicas=3'])).stdout.trim()).toBe('statefulset.apps/db scaled');
    expect((await h.kubectl(['get', 'sts', 'db', '--no-headers'])).stdout).toMatch(/^db\s+0\/3\s/);
  });
});

describe('mutating webhook configurations', () => {
  const config = (timeout: number): string => `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: podeip}
webhooks:
- name: pods.podeip.alibabacloud.com
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: ${timeout}
  clientConfig:
    service: {name: podeip-webhook, namespace: kube-system, path: /mutate-v1-pod}
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}
`;

  it('defaults what the dispatcher relies on, applies twice, and deletes', async () => {
    expect((await h.kubectl(['apply', '-f', '-'], { input: config(5) })).stdout.trim()).toBe(
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/podeip created',
    );
    const object = JSON.parse(
      (await h.kubectl(['get', 'mutatingwebhookconfiguration', 'podeip', '-o', 'json'])).stdout,
    );
    expect(object.webhooks[0]).toMatchObject({
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      namespaceSelector: {},
      objectSelector: {},
      reinvocationPolicy: 'Never',
      timeoutSeconds: 5,
      clientConfig: {
        service: { name: 'podeip-webhook', namespace: 'kube-system', path: '/mutate-v1-pod', port: 443 },
      },
    });
    expect(object.webhooks[0].rules[0].scope).toBe('*');
    expect((await h.kubectl(['apply', '-f', '-'], { input: config(7) })).stdout.trim()).toBe(
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/podeip configured',
    );
    expect((await h.kubectl(['get', 'mutatingwebhookconfigurations', '--no-headers'])).stdout).toMatch(/^podeip\s+1\s/);
    const invalid = await h.kubectl(['apply', '-f', '-'], { input: config(40).replace('podeip}', 'podeip-bad}') });
    expect(invalid.stderr).toContain(
      'webhooks[0].timeoutSeconds: Invalid value: 40: the timeout value must be between 1 and 30 seconds',
    );
    expect((await h.kubectl(['delete', 'mutatingwebhookconfiguration', 'podeip'])).stdout.trim()).toBe(
      'mutatingwebhookconfiguration.admissionregistration.k8s.io "podeip" deleted',
    );
  });
});
