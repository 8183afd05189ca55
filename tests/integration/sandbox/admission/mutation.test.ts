/**
 * What the chain does with answers: patches applied in order, each webhook seeing the ones before it;
 * denials as the client sees them; warnings; patches that do not apply; dry runs and sideEffects; and
 * kube-apiserver's single reinvocation of IfNeeded webhooks.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  AdmissionRefusal,
  createWebhookAdmission,
  dryRunRefusal,
  type WebhookAdmission,
} from '../../../../sandbox/kube/admission/index.js';
import { createClusterStore, type SandboxClusterStore } from '../../../../sandbox/kube/store.js';
import { StatusError, type KubeObject } from '../../../../sandbox/kube/types.js';
import {
  addWebhookConfiguration,
  allow,
  attributesFor,
  deny,
  HOOK_NAMESPACE,
  patchWith,
  pod,
  refusal,
  review,
  serviceWebhook,
  startReviewServer,
  type ReviewServer,
  type Route,
} from './support.js';

let server: ReviewServer;
beforeAll(async () => {
  server = await startReviewServer();
});
afterAll(async () => {
  await server.close();
});

let store: SandboxClusterStore;
let chain: WebhookAdmission;
beforeEach(() => {
  server.calls.length = 0;
  store = createClusterStore();
  chain = createWebhookAdmission({
    store,
    resolveService: (ref) => (ref.namespace === HOOK_NAMESPACE ? { host: '127.0.0.1', port: server.port } : undefined),
  });
});
afterEach(() => {
  chain.close();
  store.close();
});

/**
 * Adds label `<name>: <how many labels it saw>`, unless the label is already there (idempotent, as IfNeeded webhooks
 * must be).
 */
const labelOnce =
  (name: string): Route =>
  (r) => {
    const labels = (r.request.object?.metadata.labels ?? {}) as Record<string, string>;
    if (labels[name] !== undefined) return allow()(r);
    const ops = [
      ...(r.request.object?.metadata.labels === undefined ? [{ op: 'add', path: '/metadata/labels', value: {} }] : []),
      { op: 'add', path: `/metadata/labels/${name}`, value: String(Object.keys(labels).length) },
    ];
    return patchWith(ops)(r);
  };

const labelsSeen = (path: string): Array<Record<string, string> | undefined> =>
  server.callsTo(path).map((c) => c.review.request.object?.metadata.labels as Record<string, string> | undefined);

describe('mutation', () => {
  it('calls configurations by name and webhooks in order, each with the object the previous ones left', async () => {
    for (const name of ['one', 'two', 'three']) server.route(`/${name}`, labelOnce(name));
    addWebhookConfiguration(store, 'b-second', [serviceWebhook('three.example.com', '/three')]);
    addWebhookConfiguration(store, 'a-first', [
      serviceWebhook('one.example.com', '/one'),
      serviceWebhook('two.example.com', '/two'),
    ]);
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(server.calls.map((c) => c.path)).toEqual(['/one', '/two', '/three']);
    expect(server.calls.map((c) => c.review.request.object?.metadata.labels)).toEqual([
      undefined,
      { one: '0' },
      { one: '0', two: '1' },
    ]);
    expect(result.object?.metadata.labels).toEqual({ one: '0', two: '1', three: '2' });
    expect(result.warnings).toEqual([]);
  });

  it('answers 500 for a patch that does not apply, even under failurePolicy Ignore', async () => {
    server.route(
      '/gate',
      patchWith([{ op: 'add', path: '/spec/readinessGates/-', value: { conditionType: 'k8s.aliyun.com/eip' } }]),
    );
    addWebhookConfiguration(store, 'gate', [serviceWebhook('gate.example.com', '/gate', { failurePolicy: 'Ignore' })]);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    expect(refused.status).toMatchObject({
      code: 500,
      reason: 'InternalError',
      message:
        'Internal error occurred: add operation does not apply: doc is missing path: "/spec/readinessGates/-": missing value',
    });
  });

  it('applies a patch whose path escapes "/" as ~1', async () => {
    server.route(
      '/annotate',
      patchWith([{ op: 'add', path: '/metadata/annotations/k8s.aliyun.com~1allocated-eipAddress', value: '' }]),
    );
    addWebhookConfiguration(store, 'annotate', [serviceWebhook('annotate.example.com', '/annotate')]);
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p', { annotations: { a: 'b' } })));
    expect(result.object?.metadata.annotations).toEqual({ a: 'b', 'k8s.aliyun.com/allocated-eipAddress': '' });
  });

  it('refuses a patch on DELETE, which has no object to patch', async () => {
    server.route('/patch', patchWith([{ op: 'add', path: '/metadata/labels', value: {} }]));
    addWebhookConfiguration(store, 'delete', [
      serviceWebhook('delete.example.com', '/patch', {
        rules: [{ operations: ['DELETE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      }),
    ]);
    const refused = await refusal(
      chain.admit(
        attributesFor(store, 'DELETE', undefined, {
          oldObject: pod('p'),
          options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' },
        }),
      ),
    );
    expect(server.calls[0]!.review.request).toMatchObject({
      operation: 'DELETE',
      object: null,
      oldObject: pod('p'),
      options: { kind: 'DeleteOptions' },
    });
    expect(refused.status.message).toBe(
      'Internal error occurred: admission webhook "delete.example.com" attempted to modify the object, which is not supported for this operation',
    );
  });
});

describe('denial', () => {
  it.each<[string, Record<string, unknown> | undefined, string, Partial<StatusError['status']>]>([
    [
      'with the webhook’s code, reason and message',
      { code: 403, reason: 'Forbidden', message: 'podeip: 1 problem with the EIP annotations' },
      'p',
      {
        code: 403,
        reason: 'Forbidden',
        message:
          'pods "p" is forbidden: admission webhook "deny.example.com" denied the request: podeip: 1 problem with the EIP annotations',
        details: { name: 'p', kind: 'pods' },
      },
    ],
    [
      'without a status: 403 without explanation',
      undefined,
      'p',
      {
        code: 403,
        reason: 'Forbidden',
        message: 'pods "p" is forbidden: admission webhook "deny.example.com" denied the request without explanation',
      },
    ],
    [
      'with a code other than 403, still "is forbidden"',
      { code: 422, reason: 'Invalid', message: 'bad' },
      'p',
      {
        code: 422,
        reason: 'Invalid',
        message: 'pods "p" is forbidden: admission webhook "deny.example.com" denied the request: bad',
      },
    ],
    [
      'with only a reason',
      { code: 400, reason: 'BadRequest' },
      'p',
      {
        code: 400,
        message: 'pods "p" is forbidden: admission webhook "deny.example.com" denied the request: BadRequest',
      },
    ],
    [
      'of a pod named by generateName: "Unknown"',
      { message: 'no' },
      '',
      {
        code: 403,
        message: 'pods "Unknown" is forbidden: admission webhook "deny.example.com" denied the request: no',
      },
    ],
    [
      'with code 500',
      { code: 500, message: 'broken' },
      'p',
      {
        code: 500,
        reason: 'InternalError',
        message: 'Internal error occurred: admission webhook "deny.example.com" denied the request: broken',
        details: { causes: [{ message: 'admission webhook "deny.example.com" denied the request: broken' }] },
      },
    ],
  ])('%s', async (_title, status, name, expected) => {
    server.route('/deny', deny(status));
    server.route('/later', allow());
    addWebhookConfiguration(store, 'deny', [
      serviceWebhook('deny.example.com', '/deny', { failurePolicy: 'Ignore' }),
      serviceWebhook('later.example.com', '/later'),
    ]);
    const subject = name === '' ? pod('', { generateName: 'web-' }) : pod(name);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', subject)));
    expect(refused.status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', ...expected });
    expect(server.calls.map((c) => c.path)).toEqual(['/deny']);
  });
});

describe('warnings', () => {
  it('gathers every webhook’s warnings once each, in order', async () => {
    server.route('/w1', allow({ warnings: ['podeip: first', 'shared'] }));
    server.route(
      '/w2',
      patchWith([{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }], { warnings: ['shared', 'second'] }),
    );
    addWebhookConfiguration(store, 'warn', [
      serviceWebhook('w1.example.com', '/w1'),
      serviceWebhook('w2.example.com', '/w2'),
    ]);
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(result.warnings).toEqual(['podeip: first', 'shared', 'second']);
  });

  it('keeps the warnings given before a refusal, for the error answer', async () => {
    server.route('/w1', allow({ warnings: ['careful'] }));
    server.route('/deny', deny({ code: 403, message: 'no' }, { warnings: ['why'] }));
    addWebhookConfiguration(store, 'warn', [
      serviceWebhook('w1.example.com', '/w1'),
      serviceWebhook('deny.example.com', '/deny'),
    ]);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    expect(refused).toBeInstanceOf(AdmissionRefusal);
    expect((refused as AdmissionRefusal).warnings).toEqual(['careful', 'why']);
  });
});

describe('dry run', () => {
  it('tells webhooks with sideEffects None and NoneOnDryRun that the request is a dry run', async () => {
    server.route('/a', allow());
    addWebhookConfiguration(store, 'dry', [
      serviceWebhook('none.example.com', '/a'),
      serviceWebhook('on-dry-run.example.com', '/a', { sideEffects: 'NoneOnDryRun' }),
    ]);
    const options = { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] };
    await chain.admit(attributesFor(store, 'CREATE', pod('p'), { dryRun: true, options }));
    expect(server.calls.map((c) => [c.review.request.dryRun, c.review.request.options])).toEqual([
      [true, options],
      [true, options],
    ]);
  });

  it('refuses a dry run with 400 for a webhook that may have side effects, whatever its failurePolicy', () => {
    // v1 validation refuses to store sideEffects Some or Unknown, so this is reached only through older configurations.
    expect(dryRunRefusal({ name: 'some.example.com', sideEffects: 'Some' }, true)?.status).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'admission webhook "some.example.com" does not support dry run',
    });
    expect(dryRunRefusal({ name: 'unknown.example.com', sideEffects: 'Unknown' }, true)?.status.code).toBe(400);
    expect(dryRunRefusal({ name: 'unknown.example.com', sideEffects: 'Unknown' }, false)).toBeUndefined();
    expect(dryRunRefusal({ name: 'none.example.com', sideEffects: 'NoneOnDryRun' }, true)).toBeUndefined();
    const stored = (() => {
      try {
        return addWebhookConfiguration(store, 'some', [
          serviceWebhook('some.example.com', '/a', { sideEffects: 'Some' }),
        ]);
      } catch (error) {
        return error;
      }
    })();
    expect((stored as StatusError).status.code).toBe(422);
  });
});

describe('reinvocation', () => {
  const hooks = (first: 'IfNeeded' | 'Never', second: 'IfNeeded' | 'Never') => [
    serviceWebhook('a.example.com', '/a', { reinvocationPolicy: first }),
    serviceWebhook('b.example.com', '/b', { reinvocationPolicy: second }),
  ];

  it('calls an IfNeeded webhook once more when a later webhook changed the object', async () => {
    server.route('/a', labelOnce('a'));
    server.route('/b', labelOnce('b'));
    addWebhookConfiguration(store, 'reinvoke', hooks('IfNeeded', 'Never'));
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(server.calls.map((c) => c.path)).toEqual(['/a', '/b', '/a']);
    expect(labelsSeen('/a')).toEqual([undefined, { a: '0', b: '1' }]);
    expect(result.object?.metadata.labels).toEqual({ a: '0', b: '1' });
  });

  it('does not reinvoke when nothing changed after the webhook, or when it asked for Never', async () => {
    server.route('/a', labelOnce('a'));
    server.route('/b', allow());
    addWebhookConfiguration(store, 'reinvoke', hooks('IfNeeded', 'Never'));
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(server.calls.map((c) => c.path)).toEqual(['/a', '/b']);

    server.calls.length = 0;
    server.route('/b', labelOnce('b'));
    store.delete(
      store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!,
      undefined,
      'reinvoke',
    );
    addWebhookConfiguration(store, 'reinvoke', hooks('Never', 'Never'));
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(server.calls.map((c) => c.path)).toEqual(['/a', '/b']);
  });

  it('runs one reinvocation round: a change made in it reaches later IfNeeded webhooks, and then admission ends', async () => {
    let counter = 0;
    const stamp: Route = (r) =>
      patchWith([{ op: 'add', path: '/metadata/annotations', value: { stamp: String(++counter) } }])(r);
    server.route('/a', stamp);
    server.route('/b', stamp);
    addWebhookConfiguration(store, 'reinvoke', hooks('IfNeeded', 'IfNeeded'));
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    // As kube-apiserver: a's change in the second round makes b (called after the last change) eligible too.
    expect(server.calls.map((c) => c.path)).toEqual(['/a', '/b', '/a', '/b']);
    expect(result.object?.metadata.annotations).toEqual({ stamp: '4' });
  });

  it('never calls a webhook for the first time in the reinvocation round', async () => {
    server.route('/a', labelOnce('a'));
    server.route('/x', labelOnce('x'));
    server.route('/b', labelOnce('b'));
    addWebhookConfiguration(store, 'reinvoke', [
      serviceWebhook('a.example.com', '/a', { reinvocationPolicy: 'IfNeeded' }),
      serviceWebhook('x.example.com', '/x', {
        reinvocationPolicy: 'IfNeeded',
        objectSelector: { matchExpressions: [{ key: 'b', operator: 'Exists' }] },
      }),
      serviceWebhook('b.example.com', '/b'),
    ]);
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(server.calls.map((c) => c.path)).toEqual(['/a', '/b', '/a']);
  });

  it('sends the webhook review to the reinvoked webhook as a fresh call', async () => {
    server.route('/a', labelOnce('a'));
    server.route('/b', (r) => ({
      json: review(r.request, {
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(
          JSON.stringify([{ op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.27' }]),
        ).toString('base64'),
      }),
    }));
    addWebhookConfiguration(store, 'reinvoke', hooks('IfNeeded', 'Never'));
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    const [first, again] = server.callsTo('/a').map((c) => c.review.request);
    expect(again!.uid).not.toBe(first!.uid);
    expect(
      (again!.object as KubeObject & { spec: { containers: Array<{ image: string }> } }).spec.containers[0]!.image,
    ).toBe('nginx:1.27');
  });
});
