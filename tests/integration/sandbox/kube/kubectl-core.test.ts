/**
 * kubectl 1.32 (real client-go) against the stand-in for the core kinds: discovery, get (wide, json,
 * label selectors), create, apply twice, the three patch types and --subresource=status, annotate,
 * label, delete, graceful pod deletion, and the exact errors kubectl prints.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const podYaml = (name: string, extra = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: ${name}, tier: web}
spec:
${extra}  containers:
  - name: app
    image: nginx:1.25
`;

describe('discovery and errors', () => {
  it('reports the server version and serves every resource kubectl asks about', async () => {
    const version = await h.kubectl(['version', '-o', 'json']);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe('v1.33.1');
    const resources = await h.kubectl(['api-resources', '-o', 'name']);
    expect(resources.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'pods',
        'namespaces',
        'leases.coordination.k8s.io',
        'deployments.apps',
        'customresourcedefinitions.apiextensions.k8s.io',
        'mutatingwebhookconfigurations.admissionregistration.k8s.io',
      ]),
    );
  });

  it('prints the real NotFound for a missing pod and exits 1', async () => {
    const result = await h.kubectl(['get', 'pod', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
  });

  it('prints AlreadyExists when create hits an existing name', async () => {
    const file = await h.manifest('dup.yaml', podYaml('dup'));
    expect((await h.kubectl(['create', '-f', file])).stdout.trim()).toBe('pod/dup created');
    const again = await h.kubectl(['create', '-f', file]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      'Error from server (AlreadyExists): error when creating "' + file + '": pods "dup" already exists',
    );
  });

  it('rejects a token it did not issue with 401', async () => {
    const response = await h.raw('GET', '/api/v1/namespaces', { token: 'wrong' });
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });
});

describe('namespaces', () => {
  it('labels every namespace with its name and empties a namespace before deleting it', async () => {
    expect((await h.kubectl(['create', 'namespace', 'team-a'])).stdout.trim()).toBe('namespace/team-a created');
    const ns = JSON.parse((await h.kubectl(['get', 'namespace', 'team-a', '-o', 'json'])).stdout);
    expect(ns.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'team-a' });
    expect(ns.status.phase).toBe('Active');
    const sa = await h.kubectl(['get', 'serviceaccount', 'default', '-n', 'team-a', '-o', 'name']);
    expect(sa.stdout.trim()).toBe('serviceaccount/default');
    await h.kubectl(['run', 'p', '-n', 'team-a', '--image=nginx']);
    const deleted = await h.kubectl(['delete', 'namespace', 'team-a']);
    expect(deleted.stdout.trim()).toBe('namespace "team-a" deleted');
    expect((await h.kubectl(['get', 'namespace', 'team-a'])).stderr.trim()).toBe(
      'Error from server (NotFound): namespaces "team-a" not found',
    );
    const refused = await h.kubectl(['delete', 'namespace', 'default']);
    expect(refused.stderr.trim()).toBe(
      'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted',
    );
  });
});

describe('pods', () => {
  it('applies twice (created, then unchanged, then configured) and keeps status out of spec writes', async () => {
    const file = await h.manifest('web.yaml', podYaml('web'));
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('pod/web created');
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('pod/web unchanged');
    await h.manifest('web.yaml', podYaml('web').replace('nginx:1.25', 'nginx:1.26'));
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('pod/web configured');
    const pod = JSON.parse((await h.kubectl(['get', 'pod', 'web', '-o', 'json'])).stdout);
    expect(pod.spec.containers[0].image).toBe('nginx:1.26');
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(pod.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('nginx:1.26');
    // The ServiceAccount admission plugin mounted the API token, as on a real cluster.
    expect(pod.spec.serviceAccountName).toBe('default');
    expect(pod.spec.containers[0].volumeMounts[0].mountPath).toBe('/var/run/secrets/kubernetes.io/serviceaccount');
  });

  it('shows READINESS GATES in -o wide: <none>, then true/total as conditions are patched via status', async () => {
    const file = await h.manifest(
      'gated.yaml',
      podYaml('gated', '  readinessGates: [{conditionType: example.com/bound}, {conditionType: example.com/other}]\n'),
    );
    await h.kubectl(['create', '-f', file]);
    // A pod without gates of this test's own, beside the gated one.
    await h.kubectl(['create', '-f', await h.manifest('ungated.yaml', podYaml('ungated'))]);
    const wide = await h.kubectl(['get', 'pods', 'ungated', 'gated', '-o', 'wide']);
    const lines = wide.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    expect(lines.find((l) => l.startsWith('ungated '))).toMatch(/<none>\s+<none>\s+<none>\s+<none>$/);
    expect(lines.find((l) => l.startsWith('gated '))).toMatch(/\s0\/2$/);

    const patched = await h.kubectl([
      'patch',
      'pod',
      'gated',
      '--subresource=status',
      '--type=strategic',
      '-p',
      '{"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"example.com/bound","status":"True"}]}}',
    ]);
    expect(patched.stdout.trim()).toBe('pod/gated patched');
    // A strategic merge of one condition upserts it by type and keeps the others.
    await h.kubectl([
      'patch',
      'pod',
      'gated',
      '--subresource=status',
      '--type=strategic',
      '-p',
      '{"status":{"conditions":[{"type":"example.com/other","status":"True"}]}}',
    ]);
    const conditions = JSON.parse(
      (await h.kubectl(['get', 'pod', 'gated', '-o', 'jsonpath={.status.conditions}'])).stdout,
    ) as Array<{ type: string }>;
    expect(conditions.map((c) => c.type)).toEqual(['Ready', 'example.com/bound', 'example.com/other']);
    expect((await h.kubectl(['get', 'pod', 'gated', '-o', 'wide', '--no-headers'])).stdout.trim()).toMatch(/\s2\/2$/);
  });

  it('patches with json, merge and strategic types, and reports failing JSON patches as the server does', async () => {
    await h.kubectl(['run', 'patchme', '--image=nginx:1.25', '--labels=app=patchme']);
    expect(
      (
        await h.kubectl([
          'patch',
          'pod',
          'patchme',
          '--type=json',
          '-p',
          '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await h.kubectl([
          'patch',
          'pod',
          'patchme',
          '--type=merge',
          '-p',
          '{"metadata":{"labels":{"merge":"yes","app":null}}}',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await h.kubectl([
          'patch',
          'pod',
          'patchme',
          '-p',
          '{"spec":{"containers":[{"name":"patchme","image":"nginx:1.27"}]}}',
        ])
      ).code,
    ).toBe(0);
    const pod = JSON.parse((await h.kubectl(['get', 'pod', 'patchme', '-o', 'json'])).stdout);
    expect(pod.metadata.labels).toEqual({ json: 'yes', merge: 'yes' });
    expect(pod.spec.containers.map((c: { image: string }) => c.image)).toEqual(['nginx:1.27']);

    const failingTest = await h.kubectl([
      'patch',
      'pod',
      'patchme',
      '--type=json',
      '-p',
      '[{"op":"test","path":"/metadata/labels/json","value":"no"}]',
    ]);
    expect(failingTest.code).toBe(1);
    expect(failingTest.stderr.trim()).toBe(
      'The request is invalid: : testing value /metadata/labels/json failed: test failed',
    );
    const malformed = await h.kubectl(['patch', 'pod', 'patchme', '--type=json', '-p', '{"op":"add"}']);
    expect(malformed.stderr).toContain('Error from server (BadRequest)');

    const gates = await h.kubectl([
      'patch',
      'pod',
      'patchme',
      '-p',
      '{"spec":{"readinessGates":[{"conditionType":"example.com/late"}]}}',
    ]);
    expect(gates.code).toBe(1);
    expect(gates.stderr).toContain(
      'The Pod "patchme" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`',
    );
  });

  it('annotates and labels, refusing to overwrite without --overwrite, and selects by label', async () => {
    await h.kubectl(['run', 'labelled', '--image=nginx', '--labels=app=labelled']);
    expect((await h.kubectl(['annotate', 'pod', 'labelled', 'example.com/note=hello'])).stdout.trim()).toBe(
      'pod/labelled annotated',
    );
    expect((await h.kubectl(['label', 'pod', 'labelled', 'tier=front'])).stdout.trim()).toBe('pod/labelled labeled');
    const refused = await h.kubectl(['label', 'pod', 'labelled', 'tier=back']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe("error: 'tier' already has a value (front), and --overwrite is false");
    expect((await h.kubectl(['label', 'pod', 'labelled', 'tier=back', '--overwrite'])).code).toBe(0);
    expect((await h.kubectl(['get', 'pods', '-l', 'tier in (back),app', '-o', 'name'])).stdout.trim()).toBe(
      'pod/labelled',
    );
    expect((await h.kubectl(['get', 'pods', '-l', 'tier!=back,app=labelled', '-o', 'name'])).stdout.trim()).toBe('');
    expect(
      (await h.kubectl(['get', 'pods', '--field-selector', 'metadata.name=labelled', '-o', 'name'])).stdout.trim(),
    ).toBe('pod/labelled');
    const pod = JSON.parse((await h.kubectl(['get', 'pod', 'labelled', '-o', 'json'])).stdout);
    expect(pod.metadata.annotations).toEqual({ 'example.com/note': 'hello' });
  });

  it('keeps a pod bound to a node Terminating until the node finishes it', async () => {
    const file = await h.manifest('bound.yaml', podYaml('bound', '  nodeName: node-1\n'));
    await h.kubectl(['create', '-f', file]);
    const deleted = await h.kubectl(['delete', 'pod', 'bound', '--wait=false']);
    expect(deleted.stdout.trim()).toBe('pod "bound" deleted');
    expect((await h.kubectl(['get', 'pod', 'bound', '--no-headers'])).stdout).toMatch(/^bound\s+0\/1\s+Terminating\s/);
    const pod = JSON.parse((await h.kubectl(['get', 'pod', 'bound', '-o', 'json'])).stdout);
    expect(pod.metadata.deletionGracePeriodSeconds).toBe(30);
    // The kubelet's last word: a delete with grace period 0.
    const pods = h.sandbox.store.resourceType('', 'pods')!;
    h.sandbox.store.delete(pods, 'default', 'bound', { gracePeriodSeconds: 0 });
    expect((await h.kubectl(['get', 'pod', 'bound'])).code).toBe(1);
    await h.kubectl(['create', '-f', file]);
    expect((await h.kubectl(['delete', 'pod', 'bound', '--grace-period=0', '--force'])).code).toBe(0);
    expect(h.sandbox.store.get(pods, 'default', 'bound')).toBeUndefined();
  });

  it('follows changes with get -w', async () => {
    const watch = h.kubectlStream(['get', 'pods', '-l', 'app=watched', '-w']);
    try {
      await eventually(() => (h.sandbox.controls.openWatchCount() > 0 ? true : undefined));
      await h.kubectl(['run', 'watched', '--image=nginx', '--labels=app=watched']);
      await watch.waitFor((l) => /^watched\s+0\/1\s+Pending/.test(l));
      await h.kubectl(['delete', 'pod', 'watched']);
      await h.kubectl(['run', 'watched2', '--image=nginx', '--labels=app=watched']);
      await watch.waitFor((l) => l.startsWith('watched2 '));
    } finally {
      await watch.stop();
    }
  });
});

describe('services, secrets, events and leases', () => {
  it('allocates a cluster IP and prints services wide', async () => {
    const file = await h.manifest(
      'svc.yaml',
      'apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec:\n  selector: {app: api}\n  ports: [{port: 80, targetPort: 8080}]\n',
    );
    expect((await h.kubectl(['create', '-f', file])).stdout.trim()).toBe('service/api created');
    const svc = JSON.parse((await h.kubectl(['get', 'svc', 'api', '-o', 'json'])).stdout);
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    expect(svc.spec.ports[0]).toEqual({ port: 80, targetPort: 8080, protocol: 'TCP' });
    const wide = (await h.kubectl(['get', 'svc', 'api', '-o', 'wide', '--no-headers'])).stdout;
    expect(wide).toMatch(
      new RegExp(
        `^api\\s+ClusterIP\\s+${svc.spec.clusterIP.replace(/\./g, '\\.')}\\s+<none>\\s+80/TCP\\s+\\S+\\s+app=api`,
      ),
    );
    expect((await h.kubectl(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).stdout).toBe(
      '10.96.0.1',
    );
  });

  it('decodes the protobuf bodies of kubectl create secret|configmap|service|deployment', async () => {
    expect((await h.kubectl(['create', 'configmap', 'settings', '--from-literal=mode=fast'])).stdout.trim()).toBe(
      'configmap/settings created',
    );
    expect((await h.kubectl(['get', 'configmap', 'settings', '-o', 'jsonpath={.data.mode}'])).stdout).toBe('fast');
    expect((await h.kubectl(['create', 'service', 'nodeport', 'edge', '--tcp=81:http'])).stdout.trim()).toBe(
      'service/edge created',
    );
    const svc = JSON.parse((await h.kubectl(['get', 'service', 'edge', '-o', 'json'])).stdout);
    expect(svc.spec.ports[0]).toMatchObject({ name: '81-http', port: 81, targetPort: 'http', protocol: 'TCP' });
    expect(svc.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(
      (
        await h.kubectl(['create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=0', '--port=8080'])
      ).stdout.trim(),
    ).toBe('deployment.apps/api created');
    const deployment = JSON.parse((await h.kubectl(['get', 'deployment', 'api', '-o', 'json'])).stdout);
    expect(deployment.spec.replicas).toBe(0);
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({
      name: 'nginx',
      image: 'nginx:1.25',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
    });
  });

  it('stores secret data base64-encoded and deletes it', async () => {
    expect(
      (await h.kubectl(['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2'])).stdout.trim(),
    ).toBe('secret/creds created');
    expect((await h.kubectl(['get', 'secret', 'creds', '-o', 'jsonpath={.data.password}'])).stdout).toBe(
      Buffer.from('hunter2').toString('base64'),
    );
    expect((await h.kubectl(['get', 'secret', 'creds', '--no-headers'])).stdout).toMatch(/^creds\s+Opaque\s+1\s/);
    expect((await h.kubectl(['delete', 'secret', 'creds'])).stdout.trim()).toBe('secret "creds" deleted');
  });

  it('lists events by field selector', async () => {
    const file = await h.manifest(
      'event.yaml',
      'apiVersion: v1\nkind: Event\nmetadata: {name: web.1}\ninvolvedObject: {kind: Pod, name: web, namespace: default}\nreason: EipBound\nmessage: bound eip-1\ntype: Normal\n',
    );
    await h.kubectl(['create', '-f', file]);
    const events = await h.kubectl([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=web,reason=EipBound',
      '--no-headers',
    ]);
    expect(events.stdout).toMatch(/Normal\s+EipBound\s+pod\/web\s+bound eip-1/);
  });

  it('accepts leases with six-digit MicroTime and rejects three digits with a 400', async () => {
    const lease = (time: string): string =>
      `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: binder}\nspec: {holderIdentity: binder-0, leaseDurationSeconds: 15, renewTime: "${time}"}\n`;
    const bad = await h.kubectl(['apply', '-f', '-'], { input: lease('2024-01-02T03:04:05.123Z') });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'Lease in version "v1" cannot be handled as a Lease: parsing time "2024-01-02T03:04:05.123Z" as "2006-01-02T15:04:05.000000Z07:00"',
    );
    expect((await h.kubectl(['apply', '-f', '-'], { input: lease('2024-01-02T03:04:05.123456Z') })).stdout.trim()).toBe(
      'lease.coordination.k8s.io/binder created',
    );
    expect((await h.kubectl(['get', 'lease', 'binder', '--no-headers'])).stdout).toMatch(/^binder\s+binder-0\s/);
    expect((await h.kubectl(['get', 'lease', 'binder', '-o', 'jsonpath={.spec.renewTime}'])).stdout).toBe(
      '2024-01-02T03:04:05.123456Z',
    );
  });
});
