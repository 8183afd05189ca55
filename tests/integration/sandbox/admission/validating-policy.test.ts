/**
 * The stand-in evaluates ValidatingAdmissionPolicies and their bindings as kube-apiserver does, whoever
 * writes and whether or not a webhook is registered: matchConstraints and the binding's matchResources,
 * matchConditions, composited variables, validations with message, messageExpression and reason,
 * failurePolicy, the Deny, Warn and Audit actions, params, and the variables object, oldObject, request
 * and namespaceObject. Every write here is kubectl's, through the HTTPS API.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHarness, type Harness } from '../kube/harness.js';

let h: Harness;

/** A policy on ConfigMaps and a binding of it, as YAML; `policy` and `binding` are spec fields. */
function policyYaml(name: string, policy: string, binding = 'validationActions: [Deny]'): string {
  const indent = (text: string): string =>
    text
      .trim()
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n');
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${name}}
spec:
${indent(policy)}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${name}-binding}
spec:
  policyName: ${name}
${indent(binding)}
`;
}

const CONFIGMAPS = `matchConstraints:
  resourceRules:
    - {apiGroups: [''], apiVersions: [v1], resources: [configmaps], operations: [CREATE, UPDATE]}`;

function configMap(name: string, data: Record<string, string>, namespace = 'team'): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
}

async function apply(yaml: string): Promise<void> {
  const r = await h.kubectl(['create', '-f', '-'], { input: yaml });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

async function remove(name: string): Promise<void> {
  const r = await h.kubectl(['delete', 'validatingadmissionpolicybinding', `${name}-binding`, '--ignore-not-found']);
  expect(r.code).toBe(0);
  await h.kubectl(['delete', 'validatingadmissionpolicy', name, '--ignore-not-found']);
}

beforeAll(async () => {
  h = await startHarness();
  const setup = await h.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {tier: tenant}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: dev, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: configmap-writer}
rules:
  - {apiGroups: [''], resources: [configmaps], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: dev-writes-configmaps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: configmap-writer}
subjects:
  - {kind: ServiceAccount, name: dev, namespace: team}
`,
  });
  expect(setup.stderr).toBe('');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('ValidatingAdmissionPolicy in the sandbox', () => {
  it('denies what a bound policy rejects, in kube-apiserver words, and allows what it accepts', async () => {
    await apply(
      policyYaml(
        'size',
        `${CONFIGMAPS}
validations:
  - expression: "!has(object.data) || size(object.data) <= 2"
    message: at most two keys`,
      ),
    );
    const denied = await h.kubectl(['create', '-f', '-'], { input: configMap('big', { a: '1', b: '2', c: '3' }) });
    expect(denied.code).not.toBe(0);
    // kubectl prints an Invalid status by its causes, as it does against kube-apiserver.
    expect(denied.stderr).toContain(
      `The configmaps "big" is invalid: : ValidatingAdmissionPolicy 'size' with binding 'size-binding' denied request: at most two keys`,
    );
    const raw = await h.raw('POST', '/api/v1/namespaces/team/configmaps', {
      body: configMap('big', { a: '1', b: '2', c: '3' }),
      contentType: 'application/json',
    });
    expect(raw.status).toBe(422);
    expect(JSON.parse(raw.body)).toMatchObject({
      reason: 'Invalid',
      code: 422,
      message: `configmaps "big" is forbidden: ValidatingAdmissionPolicy 'size' with binding 'size-binding' denied request: at most two keys`,
    });

    const allowed = await h.kubectl(['create', '-f', '-'], { input: configMap('small', { a: '1' }) });
    expect(allowed).toMatchObject({ code: 0, stderr: '' });
    // Dry runs are validated too.
    const dry = await h.kubectl(['create', '--dry-run=server', '-f', '-'], {
      input: configMap('dry', { a: '1', b: '2', c: '3' }),
    });
    expect(dry.stderr).toContain('at most two keys');
    await remove('size');
  });

  it('does nothing without a binding, and a binding of a missing policy does nothing', async () => {
    await apply(
      policyYaml(
        'unbound',
        `${CONFIGMAPS}
validations: [{expression: 'false'}]`,
        'validationActions: [Deny]',
      ),
    );
    await h.kubectl(['delete', 'validatingadmissionpolicybinding', 'unbound-binding']);
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('free', {}) })).code).toBe(0);
    await h.kubectl(['delete', 'validatingadmissionpolicy', 'unbound']);
    await apply(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: orphan}
spec: {policyName: nowhere, validationActions: [Deny]}
`);
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('free-2', {}) })).code).toBe(0);
    await h.kubectl(['delete', 'validatingadmissionpolicybinding', 'orphan']);
  });

  it('binds request.userInfo and oldObject; messageExpression and reason shape the denial', async () => {
    await apply(
      policyYaml(
        'owner',
        `${CONFIGMAPS}
variables:
  - name: isDev
    expression: "request.userInfo.username == 'system:serviceaccount:team:dev'"
validations:
  - expression: "!variables.isDev || oldObject == null || object.data == oldObject.data"
    messageExpression: "'user ' + request.userInfo.username + ' may not change ' + object.metadata.name"
    reason: Forbidden`,
      ),
    );
    await apply(configMap('settings', { mode: 'a' }));
    const asDev = ['--as', 'system:serviceaccount:team:dev'];
    const changed = await h.kubectl([
      ...asDev,
      '-n',
      'team',
      'patch',
      'configmap',
      'settings',
      '-p',
      '{"data":{"mode":"b"}}',
    ]);
    expect(changed.stderr).toContain('user system:serviceaccount:team:dev may not change settings');
    const raw = await h.raw('PATCH', '/api/v1/namespaces/team/configmaps/settings', {
      body: '{"data":{"mode":"b"}}',
      contentType: 'application/merge-patch+json',
      headers: { 'Impersonate-User': 'system:serviceaccount:team:dev' },
    });
    expect(raw.status).toBe(403);
    expect(JSON.parse(raw.body)).toMatchObject({ reason: 'Forbidden' });
    // A label change keeps data as it was: allowed. So is any change by the admin.
    const labelled = await h.kubectl([...asDev, '-n', 'team', 'label', 'configmap', 'settings', 'x=y']);
    expect(labelled).toMatchObject({ code: 0, stderr: '' });
    const byAdmin = await h.kubectl(['-n', 'team', 'patch', 'configmap', 'settings', '-p', '{"data":{"mode":"c"}}']);
    expect(byAdmin).toMatchObject({ code: 0, stderr: '' });
    // A new object has no oldObject: creating is allowed.
    const created = await h.kubectl([...asDev, 'create', '-f', '-'], { input: configMap('devs', { mode: 'a' }) });
    expect(created).toMatchObject({ code: 0, stderr: '' });
    await remove('owner');
  });

  it('warns instead of denying with validationActions Warn', async () => {
    await apply(
      policyYaml(
        'advice',
        `${CONFIGMAPS}
validations: [{expression: "has(object.metadata.labels)", message: please label it}]`,
        'validationActions: [Warn, Audit]',
      ),
    );
    const r = await h.kubectl(['create', '-f', '-'], { input: configMap('plain', {}) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "Warning: Validation failed for ValidatingAdmissionPolicy 'advice' with binding 'advice-binding': please label it",
    );
    await remove('advice');
  });

  it('skips requests its matchConditions exclude, and requests its selectors or exclusions leave out', async () => {
    await apply(
      policyYaml(
        'narrow',
        `matchConstraints:
  resourceRules:
    - {apiGroups: [''], apiVersions: [v1], resources: [configmaps], operations: [CREATE]}
  excludeResourceRules:
    - {apiGroups: [''], apiVersions: [v1], resources: [configmaps], operations: [CREATE], resourceNames: [exempt]}
matchConditions:
  - name: not-drafts
    expression: "!object.metadata.name.startsWith('draft-')"
validations: [{expression: 'false', message: refused}]`,
        `validationActions: [Deny]
matchResources:
  namespaceSelector: {matchLabels: {tier: tenant}}`,
      ),
    );
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('refused', {}) })).stderr).toContain('refused');
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('draft-1', {}) })).code).toBe(0);
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('exempt', {}) })).code).toBe(0);
    // The binding's namespaceSelector leaves ops out.
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('refused', {}, 'ops') })).code).toBe(0);
    await remove('narrow');
  });

  it('follows failurePolicy when an expression fails, and evaluates a composited variable only when used', async () => {
    const policy = (failurePolicy: string): string => `${CONFIGMAPS}
failurePolicy: ${failurePolicy}
variables:
  - {name: broken, expression: "object.data['missing'] == 'x'"}
  - {name: fine, expression: "true"}
validations:
  - {expression: "variables.fine", message: never}
  - {expression: "object.metadata.name != 'uses-broken' || variables.broken", message: never}`;
    await apply(policyYaml('fragile', policy('Fail')));
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('ok-1', { a: '1' }) })).code).toBe(0);
    const failed = await h.kubectl(['create', '-f', '-'], { input: configMap('uses-broken', { a: '1' }) });
    expect(failed.stderr).toContain(
      `denied request: expression 'object.metadata.name != 'uses-broken' || variables.broken' resulted in error: composited variable "broken" fails to evaluate`,
    );
    await remove('fragile');
    await apply(policyYaml('fragile', policy('Ignore')));
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('uses-broken', { a: '1' }) })).code).toBe(0);
    await remove('fragile');
  });

  it('evaluates with params, and denies when the binding says Deny and none is found', async () => {
    await apply(
      policyYaml(
        'limits',
        `paramKind: {apiVersion: v1, kind: ConfigMap}
matchConstraints:
  resourceRules:
    - {apiGroups: [''], apiVersions: [v1], resources: [secrets], operations: [CREATE]}
validations:
  - expression: "size(object.data) <= int(params.data.maxKeys)"
    messageExpression: "'at most ' + params.data.maxKeys + ' keys'"`,
        `validationActions: [Deny]
paramRef: {name: secret-limits, namespace: ops, parameterNotFoundAction: Deny}`,
      ),
    );
    const secret = (name: string, keys: number): string =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: 'team' },
        data: Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 'eA=='])),
      });
    const missing = await h.kubectl(['create', '-f', '-'], { input: secret('s1', 1) });
    expect(missing.stderr).toContain('no params found for policy binding with `Deny` parameterNotFoundAction');
    await apply(configMap('secret-limits', { maxKeys: '2' }, 'ops'));
    expect((await h.kubectl(['create', '-f', '-'], { input: secret('s1', 2) })).code).toBe(0);
    expect((await h.kubectl(['create', '-f', '-'], { input: secret('s2', 3) })).stderr).toContain('at most 2 keys');
    await remove('limits');
  });

  it('sees the status subresource, namespaceObject and DELETE', async () => {
    await apply(
      policyYaml(
        'pods',
        `matchConstraints:
  resourceRules:
    - {apiGroups: [''], apiVersions: [v1], resources: [pods/status], operations: [UPDATE]}
    - {apiGroups: [''], apiVersions: [v1], resources: [pods], operations: [DELETE]}
validations:
  - expression: "request.operation != 'UPDATE' || object.status.conditions.all(c, c.type != 'example.com/gate')"
    message: the gate is not yours
  - expression: "request.operation != 'DELETE' || namespaceObject.metadata.labels['tier'] != 'tenant' || oldObject.metadata.name != 'kept'"
    message: kept stays`,
      ),
    );
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: kept, namespace: team}
spec: {containers: [{name: app, image: registry.k8s.io/pause:3.10}]}
`);
    const gate = JSON.stringify({
      status: { conditions: [{ type: 'example.com/gate', status: 'True' }] },
    });
    const patched = await h.kubectl(['-n', 'team', 'patch', 'pod', 'kept', '--subresource=status', '-p', gate]);
    expect(patched.stderr).toContain('the gate is not yours');
    // The main resource ignores status, so the policy on pods/status does not see that write at all.
    const mainResource = await h.kubectl(['-n', 'team', 'patch', 'pod', 'kept', '-p', gate]);
    expect(mainResource.code).toBe(0);
    const deleted = await h.kubectl(['-n', 'team', 'delete', 'pod', 'kept', '--wait=false']);
    expect(deleted.stderr).toContain('kept stays');
    await remove('pods');
  });

  it('refuses a policy whose expression does not compile, and never applies policies to policies', async () => {
    const bad = await h.kubectl(['create', '-f', '-'], {
      input: policyYaml('bad', `${CONFIGMAPS}\nvalidations: [{expression: "object.data ==="}]`),
    });
    expect(bad.stderr).toContain('spec.validations[0].expression');
    expect(bad.stderr).toContain('compilation failed');
    await apply(
      policyYaml(
        'lockdown',
        `matchConstraints:
  resourceRules:
    - {apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['*']}
validations: [{expression: 'false', message: locked}]`,
      ),
    );
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('locked', {}) })).stderr).toContain('locked');
    // The way out stays open: policies and bindings are exempt.
    await remove('lockdown');
    expect((await h.kubectl(['create', '-f', '-'], { input: configMap('unlocked', {}) })).code).toBe(0);
  });
});
