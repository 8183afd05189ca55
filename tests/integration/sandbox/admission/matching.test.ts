/**
 * Which webhooks kube-apiserver calls for a request: the rules (operations, groups, versions, resources
 * with subresources, scope), matchPolicy, namespaceSelector against the Namespace's labels,
 * objectSelector against the new or old object, and CEL matchConditions, against a real store and real
 * HTTPS webhooks that record what they receive.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createWebhookAdmission, type WebhookAdmission } from '../../../../sandbox/kube/admission/index.js';
import { compileLabelSelector } from '../../../../api/label-selector.js';
import { ruleMatches, type RuleSubject } from '../../../../sandbox/kube/admission/webhook-matching.js';
import type { RuleWithOperations } from '../../../../sandbox/kube/admission/webhook-configuration.js';
import { createClusterStore, type SandboxClusterStore } from '../../../../sandbox/kube/store.js';
import { StatusError } from '../../../../sandbox/kube/types.js';
import {
  addNamespace,
  addWebhookConfiguration,
  allow,
  attributesFor,
  HOOK_NAMESPACE,
  HOOK_SERVICE,
  pod,
  podeipMatchCondition,
  refusal,
  serviceWebhook,
  startReviewServer,
  type ReviewServer,
} from './support.js';

describe('a rule', () => {
  const rule = (r: Partial<RuleWithOperations>): RuleWithOperations => ({
    operations: ['CREATE'],
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['pods'],
    scope: '*',
    ...r,
  });
  /** A request in short: resource by plural, group and version apart. */
  type Subject = {
    operation?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
  };
  const subject = (s: Subject): RuleSubject => ({
    operation: s.operation ?? 'CREATE',
    resource: { group: s.group ?? '', version: s.version ?? 'v1', resource: s.resource ?? 'pods' },
    subresource: s.subresource ?? '',
    namespace: s.namespace ?? 'default',
  });

  it.each<[string, Partial<RuleWithOperations>, Subject, boolean]>([
    ['matches its operation, group, version and resource', {}, {}, true],
    ['does not match another operation', {}, { operation: 'UPDATE' }, false],
    ['matches every operation with *', { operations: ['*'] }, { operation: 'DELETE' }, true],
    ['does not match another group', { apiGroups: ['apps'] }, {}, false],
    [
      'matches any group and version with *',
      { apiGroups: ['*'], apiVersions: ['*'] },
      { group: 'apps', resource: 'pods' },
      true,
    ],
    ['does not match another version', { apiVersions: ['v1beta1'] }, {}, false],
    ['`pods` does not match pods/status', {}, { subresource: 'status' }, false],
    ['`pods/status` matches pods/status', { resources: ['pods/status'] }, { subresource: 'status' }, true],
    ['`pods/status` does not match the pod itself', { resources: ['pods/status'] }, {}, false],
    ['`*` matches every resource but no subresource', { resources: ['*'] }, { resource: 'services' }, true],
    ['`*` does not match a subresource', { resources: ['*'] }, { subresource: 'status' }, false],
    ['`*/*` matches subresources', { resources: ['*/*'] }, { subresource: 'ephemeralcontainers' }, true],
    [
      '`*/status` matches any status subresource',
      { resources: ['*/status'] },
      { resource: 'nodes', subresource: 'status', namespace: '' },
      true,
    ],
    ['`pods/*` also matches the pod itself, as the real matcher does', { resources: ['pods/*'] }, {}, true],
    ['scope Namespaced matches a namespaced object', { scope: 'Namespaced' }, {}, true],
    [
      'scope Namespaced does not match a cluster-scoped object',
      { scope: 'Namespaced', resources: ['*'] },
      { resource: 'nodes', namespace: '' },
      false,
    ],
    [
      'scope Namespaced does not match a namespace, even one in its own namespace',
      { scope: 'Namespaced', resources: ['*'] },
      { resource: 'namespaces', namespace: 'team-a' },
      false,
    ],
    [
      'scope Cluster matches a namespace',
      { scope: 'Cluster', resources: ['namespaces'] },
      { resource: 'namespaces', namespace: 'team-a' },
      true,
    ],
    [
      'scope Cluster matches a node',
      { scope: 'Cluster', resources: ['nodes'] },
      { resource: 'nodes', namespace: '' },
      true,
    ],
    ['scope Cluster does not match a pod', { scope: 'Cluster' }, {}, false],
  ])('%s', (_title, r, s, expected) => {
    expect(ruleMatches(rule(r), subject(s))).toBe(expected);
  });
});

describe('a label selector', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each<[string, Parameters<typeof compileLabelSelector>[0], Record<string, string> | undefined, boolean]>([
    ['empty matches anything', {}, undefined, true],
    ['matchLabels needs every pair', { matchLabels: { app: 'web', tier: 'back' } }, labels, false],
    ['matchLabels matches', { matchLabels: { app: 'web' } }, labels, true],
    [
      'In matches a listed value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }] },
      labels,
      true,
    ],
    ['In needs the key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, labels, false],
    [
      'NotIn matches when the key is absent',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      labels,
      true,
    ],
    [
      'NotIn refuses a listed value',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
      labels,
      false,
    ],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels, false],
    [
      'matchLabels and matchExpressions are ANDed',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
      labels,
      false,
    ],
  ])('%s', (_title, selector, given, expected) => {
    const matcher = compileLabelSelector(selector);
    if (typeof matcher !== 'function') throw new Error(matcher.error);
    expect(matcher(given)).toBe(expected);
  });

  it('refuses an unknown operator and In without values, as apimachinery does', () => {
    expect(compileLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] })).toEqual({
      error: '"Equals" is not a valid label selector operator',
    });
    expect(compileLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toEqual({
      error: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
    });
  });
});

describe('the webhooks the chain calls', () => {
  let server: ReviewServer;
  let store: SandboxClusterStore;
  let chain: WebhookAdmission;
  beforeAll(async () => {
    server = await startReviewServer();
    for (const path of ['/a', '/b', '/c']) server.route(path, allow());
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.calls.length = 0;
    store = createClusterStore();
    chain = createWebhookAdmission({
      store,
      resolveService: (ref) =>
        ref.namespace === HOOK_NAMESPACE && ref.name === HOOK_SERVICE && ref.port === 443
          ? { host: '127.0.0.1', port: server.port }
          : undefined,
    });
  });
  afterEach(() => {
    chain.close();
    store.close();
  });

  const calledPaths = (): string[] => server.calls.map((c) => c.path);

  it('matches namespaceSelector against the Namespace labels, including kubernetes.io/metadata.name', async () => {
    addNamespace(store, 'team-a', { eip: 'enabled' });
    addWebhookConfiguration(store, 'selectors', [
      serviceWebhook('by-label.example.com', '/a', { namespaceSelector: { matchLabels: { eip: 'enabled' } } }),
      serviceWebhook('by-name.example.com', '/b', {
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['default'] }],
        },
      }),
    ]);
    await chain.admit(attributesFor(store, 'CREATE', pod('p1', { namespace: 'team-a' })));
    expect(calledPaths()).toEqual(['/a']);
    server.calls.length = 0;
    await chain.admit(attributesFor(store, 'CREATE', pod('p2', { namespace: 'default' })));
    expect(calledPaths()).toEqual(['/b']);
  });

  it('never exempts a cluster-scoped object by namespaceSelector, but answers 404 for a namespace that does not exist', async () => {
    addWebhookConfiguration(store, 'nodes-and-pods', [
      serviceWebhook('nodes.example.com', '/a', {
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['nodes', 'pods'] }],
        namespaceSelector: { matchLabels: { nobody: 'has-this' } },
      }),
    ]);
    await chain.admit(attributesFor(store, 'CREATE', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } }));
    expect(calledPaths()).toEqual(['/a']);
    const missing = await chain
      .admit(attributesFor(store, 'CREATE', pod('p', { namespace: 'ghost' })))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(StatusError);
    expect((missing as StatusError).status).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'namespaces "ghost" not found',
    });
  });

  it('uses the namespace object itself for a namespace being created', async () => {
    addWebhookConfiguration(store, 'namespaces', [
      serviceWebhook('ns.example.com', '/a', {
        rules: [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], scope: 'Cluster' },
        ],
        namespaceSelector: { matchLabels: { watched: 'yes' } },
      }),
    ]);
    const namespace = (labels: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'fresh', labels },
    });
    await chain.admit(attributesFor(store, 'CREATE', namespace({ watched: 'no' })));
    expect(calledPaths()).toEqual([]);
    await chain.admit(attributesFor(store, 'CREATE', namespace({ watched: 'yes' })));
    expect(calledPaths()).toEqual(['/a']);
    expect(server.calls[0]!.review.request.namespace).toBeUndefined();
  });

  it('matches objectSelector against the new object, or the old one on UPDATE and DELETE', async () => {
    addWebhookConfiguration(store, 'objects', [
      serviceWebhook('objects.example.com', '/a', {
        rules: [{ operations: ['*'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        objectSelector: { matchLabels: { eip: 'yes' } },
      }),
    ]);
    await chain.admit(attributesFor(store, 'CREATE', pod('plain')));
    expect(calledPaths()).toEqual([]);
    await chain.admit(attributesFor(store, 'CREATE', pod('labelled', { labels: { eip: 'yes' } })));
    expect(calledPaths()).toEqual(['/a']);
    await chain.admit(
      attributesFor(store, 'UPDATE', pod('labelled'), { oldObject: pod('labelled', { labels: { eip: 'yes' } }) }),
    );
    await chain.admit(
      attributesFor(store, 'DELETE', undefined, { oldObject: pod('labelled', { labels: { eip: 'yes' } }) }),
    );
    expect(server.calls.map((c) => c.review.request.operation)).toEqual(['CREATE', 'UPDATE', 'DELETE']);
  });

  it('answers 500 for a selector it cannot parse, but only when the rules match', async () => {
    addWebhookConfiguration(store, 'broken', [
      serviceWebhook('broken.example.com', '/a', {
        objectSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] },
      }),
    ]);
    await chain.admit(
      attributesFor(store, 'CREATE', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'default' },
      }),
    );
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    expect(refused.status).toMatchObject({
      code: 500,
      reason: 'InternalError',
      message: 'Internal error occurred: "Equals" is not a valid label selector operator',
    });
    expect(calledPaths()).toEqual([]);
  });

  it("calls podeip's webhook only for pods whose annotations ask for an EIP", async () => {
    addWebhookConfiguration(store, 'podeip', [
      serviceWebhook('podeip.example.com', '/a', { matchConditions: [podeipMatchCondition()] }),
    ]);
    await chain.admit(attributesFor(store, 'CREATE', pod('none')));
    await chain.admit(
      attributesFor(store, 'CREATE', pod('other-annotations', { annotations: { 'example.com/x': 'y' } })),
    );
    expect(calledPaths()).toEqual([]);
    await chain.admit(
      attributesFor(store, 'CREATE', pod('auto', { annotations: { 'k8s.aliyun.com/pod-with-eip': 'true' } })),
    );
    await chain.admit(
      attributesFor(
        store,
        'CREATE',
        pod('static', { annotations: { 'network.alibabacloud.com/pod-eip-instanceid': 'eip-1' } }),
      ),
    );
    await chain.admit(
      attributesFor(store, 'CREATE', pod('legacy', { annotations: { 'k8s.aliyun.com/eci-with-eip': 'true' } })),
    );
    expect(server.calls.map((c) => c.review.request.name)).toEqual(['auto', 'static', 'legacy']);
  });

  it('binds object, oldObject and request, with JSON integers as CEL ints', async () => {
    const conditions = [
      { name: 'user', expression: "request.userInfo.username == 'alice' && 'devs' in request.userInfo.groups" },
      {
        name: 'create',
        expression: "request.operation == 'CREATE' && oldObject == null && request.namespace == 'default'",
      },
      { name: 'int', expression: 'object.spec.containers.size() + 1 == 2' },
    ];
    addWebhookConfiguration(store, 'cel', [serviceWebhook('cel.example.com', '/a', { matchConditions: conditions })]);
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(calledPaths()).toEqual(['/a']);
  });

  it('refuses with 403 when a condition fails to evaluate under Fail, skips under Ignore, and lets a false condition win', async () => {
    const failing = { name: 'labels', expression: "object.metadata.labels['team'] == 'net'" };
    addWebhookConfiguration(store, 'cel-fail', [
      serviceWebhook('fail.example.com', '/a', { matchConditions: [failing] }),
    ]);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('no-labels'))));
    expect(refused).toBeInstanceOf(StatusError);
    expect(refused.status.code).toBe(403);
    expect(refused.status.reason).toBe('Forbidden');
    expect(refused.status.message).toMatch(
      /^pods "no-labels" is forbidden: expression 'object\.metadata\.labels\['team'\] == 'net'' resulted in error: .*labels/i,
    );

    store.delete(
      store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!,
      undefined,
      'cel-fail',
    );
    addWebhookConfiguration(store, 'cel-ignore', [
      serviceWebhook('ignore.example.com', '/a', { failurePolicy: 'Ignore', matchConditions: [failing] }),
      serviceWebhook('false-wins.example.com', '/b', {
        matchConditions: [failing, { name: 'never', expression: 'false' }],
      }),
    ]);
    await expect(chain.admit(attributesFor(store, 'CREATE', pod('no-labels')))).resolves.toMatchObject({
      warnings: [],
    });
    expect(calledPaths()).toEqual([]);
  });

  it('under matchPolicy Equivalent sends the object in the version the rule names; Exact skips it', async () => {
    const crds = store.resourceType('apiextensions.k8s.io', 'customresourcedefinitions')!;
    const schema = {
      openAPIV3Schema: {
        type: 'object',
        properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
      },
    };
    store.create(crds, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        scope: 'Namespaced',
        versions: [
          { name: 'v1', served: true, storage: true, schema },
          { name: 'v1beta1', served: true, storage: false, schema },
        ],
      },
    });
    const oldRule = [
      { operations: ['CREATE'], apiGroups: ['example.com'], apiVersions: ['v1beta1'], resources: ['widgets'] },
    ];
    addWebhookConfiguration(store, 'widgets', [
      serviceWebhook('equivalent.example.com', '/a', { rules: oldRule }),
      serviceWebhook('exact.example.com', '/b', { rules: oldRule, matchPolicy: 'Exact' }),
    ]);
    await chain.admit(
      attributesFor(store, 'CREATE', {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w', namespace: 'default' },
        spec: { size: 3 },
      }),
    );
    expect(calledPaths()).toEqual(['/a']);
    const request = server.calls[0]!.review.request;
    expect(request.kind).toEqual({ group: 'example.com', version: 'v1beta1', kind: 'Widget' });
    expect(request.resource).toEqual({ group: 'example.com', version: 'v1beta1', resource: 'widgets' });
    expect(request.requestKind).toEqual({ group: 'example.com', version: 'v1', kind: 'Widget' });
    expect(request.object?.apiVersion).toBe('example.com/v1beta1');
  });

  it('never calls a webhook for webhook configurations themselves', async () => {
    addWebhookConfiguration(store, 'everything', [
      serviceWebhook('everything.example.com', '/a', {
        rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] }],
      }),
    ]);
    const configuration = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'another' },
      webhooks: [],
    };
    await chain.admit(attributesFor(store, 'CREATE', configuration));
    expect(calledPaths()).toEqual([]);
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(calledPaths()).toEqual(['/a']);
  });
});
