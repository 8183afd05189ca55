/**
 * The call to a webhook and what kube-apiserver makes of the answer: the AdmissionReview it sends, url and
 * service references, TLS against the caBundle and the Service's name, the timeout, connection reuse,
 * and every way an answer counts as a failed call, under failurePolicy Fail and Ignore.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  createWebhookAdmission,
  type ServiceResolver,
  type WebhookAdmission,
} from '../../../../sandbox/kube/admission/index.js';
import { createClusterStore, type SandboxClusterStore } from '../../../../sandbox/kube/store.js';
import {
  addWebhookConfiguration,
  allow,
  ALICE,
  attributesFor,
  caBundleOf,
  HOOK_NAMESPACE,
  patchWith,
  pod,
  refusal,
  review,
  serviceWebhook,
  startReviewServer,
  strangerCa,
  trustedCa,
  type ReviewServer,
} from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: ReviewServer;
let closedPort: number;
beforeAll(async () => {
  server = await startReviewServer();
  const gone = await startReviewServer();
  closedPort = gone.port;
  await gone.close();
});
afterAll(async () => {
  await server.close();
});

let store: SandboxClusterStore;
let chain: WebhookAdmission;
/** Every Service in namespace `webhooks` is the test server, except `closed` (nothing listens) and `missing`. */
const resolveService: ServiceResolver = (ref) => {
  if (ref.namespace !== HOOK_NAMESPACE || ref.name === 'missing') return undefined;
  return { host: '127.0.0.1', port: ref.name === 'closed' ? closedPort : server.port };
};
beforeEach(() => {
  server.calls.length = 0;
  store = createClusterStore();
  chain = createWebhookAdmission({ store, resolveService });
});
afterEach(() => {
  chain.close();
  store.close();
});

describe('the AdmissionReview sent', () => {
  it('carries the request as kube-apiserver writes it, with a fresh uid per call', async () => {
    server.route('/review', allow());
    addWebhookConfiguration(store, 'fields', [serviceWebhook('fields.example.com', '/review')]);
    const created = pod('web', { labels: { app: 'web' } });
    await chain.admit(attributesFor(store, 'CREATE', created));
    await chain.admit(attributesFor(store, 'CREATE', created));
    const [first, second] = server.calls;
    expect(first!.path).toBe('/review');
    expect(first!.search).toBe('?timeout=10s');
    expect(first!.headers['content-type']).toBe('application/json');
    expect(first!.review).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: expect.stringMatching(UUID),
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        name: 'web',
        namespace: 'default',
        operation: 'CREATE',
        userInfo: { username: ALICE.username, uid: ALICE.uid, groups: ALICE.groups, extra: ALICE.extra },
        object: created,
        oldObject: null,
        dryRun: false,
        options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      },
    });
    expect(second!.review.request.uid).not.toBe(first!.review.request.uid);
  });

  it('leaves out the name of a pod named by generateName, and names the subresource of a status update', async () => {
    server.route('/review', allow());
    addWebhookConfiguration(store, 'fields', [
      serviceWebhook('fields.example.com', '/review', {
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods', 'pods/status'],
          },
        ],
        timeoutSeconds: 5,
      }),
    ]);
    await chain.admit(attributesFor(store, 'CREATE', pod('', { generateName: 'web-' })));
    const old = pod('web');
    await chain.admit(
      attributesFor(
        store,
        'UPDATE',
        { ...old, status: { phase: 'Running' } },
        { oldObject: old, subresource: 'status' },
      ),
    );
    const [generated, status] = server.calls.map((c) => c.review.request);
    expect(generated).not.toHaveProperty('name');
    expect(generated!.object?.metadata.generateName).toBe('web-');
    expect(status).toMatchObject({
      name: 'web',
      operation: 'UPDATE',
      subResource: 'status',
      requestSubResource: 'status',
      oldObject: old,
    });
    expect(server.calls[1]!.search).toBe('?timeout=5s');
  });
});

describe('reaching the webhook', () => {
  it('calls a url reference by host name or IP address, verified against the caBundle', async () => {
    server.route('/by-url', allow());
    addWebhookConfiguration(store, 'urls', [
      {
        ...serviceWebhook('localhost.example.com', '/by-url'),
        clientConfig: { url: `https://localhost:${server.port}/by-url`, caBundle: caBundleOf(trustedCa) },
      },
      {
        ...serviceWebhook('ip.example.com', '/by-url'),
        clientConfig: { url: `https://127.0.0.1:${server.port}/by-url`, caBundle: caBundleOf(trustedCa) },
      },
    ]);
    await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(server.calls.map((c) => `${c.path}${c.search}`)).toEqual(['/by-url?timeout=10s', '/by-url?timeout=10s']);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a caBundle of another CA',
      { service: { namespace: HOOK_NAMESPACE, name: 'hooks', path: '/a' }, caBundle: caBundleOf(strangerCa) },
      'Post "https://hooks.webhooks.svc:443/a?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    ],
    [
      'a Service whose name the certificate does not carry',
      { service: { namespace: HOOK_NAMESPACE, name: 'other', path: '/a' }, caBundle: caBundleOf(trustedCa) },
      'Post "https://other.webhooks.svc:443/a?timeout=10s": tls: failed to verify certificate: x509: certificate is valid for hooks.webhooks.svc, localhost, not other.webhooks.svc',
    ],
    [
      'a Service nothing listens behind',
      {
        service: { namespace: HOOK_NAMESPACE, name: 'closed', port: 8443, path: '/a' },
        caBundle: caBundleOf(trustedCa),
      },
      'Post "https://closed.webhooks.svc:8443/a?timeout=10s": dial tcp 127.0.0.1:CLOSED: connect: connection refused',
    ],
    [
      'a Service that does not exist',
      { service: { namespace: HOOK_NAMESPACE, name: 'missing', path: '/a' } },
      'Post "https://missing.webhooks.svc:443/a?timeout=10s": service "missing" not found',
    ],
  ])('fails the call for %s', async (_title, clientConfig, reason) => {
    server.route('/a', allow());
    addWebhookConfiguration(store, 'tls', [{ ...serviceWebhook('tls.example.com', '/a'), clientConfig }]);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    expect(refused.status).toMatchObject({
      code: 500,
      reason: 'InternalError',
      message: `Internal error occurred: failed calling webhook "tls.example.com": failed to call webhook: ${reason.replace('CLOSED', String(closedPort))}`,
    });
    expect(server.calls).toEqual([]);
  });

  it('gives up after timeoutSeconds: a failed call under Fail, skipped under Ignore', async () => {
    // The answer is held back 20 s, far past the 1 s timeout: a refusal can only come from the caller giving up.
    server.route('/slow', (r) => ({ json: review(r.request, { allowed: true }), delayMs: 20_000 }));
    server.route('/after', patchWith([{ op: 'add', path: '/metadata/labels', value: { after: 'slow' } }]));
    addWebhookConfiguration(store, 'slow', [serviceWebhook('slow.example.com', '/slow', { timeoutSeconds: 1 })]);
    const startedAt = Date.now();
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
    expect(refused.status.message).toBe(
      'Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "https://hooks.webhooks.svc:443/slow?timeout=1s": context deadline exceeded',
    );

    store.delete(
      store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!,
      undefined,
      'slow',
    );
    addWebhookConfiguration(store, 'slow', [
      serviceWebhook('slow.example.com', '/slow', { timeoutSeconds: 1, failurePolicy: 'Ignore' }),
      serviceWebhook('after.example.com', '/after'),
    ]);
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(result.object?.metadata.labels).toEqual({ after: 'slow' });
  });

  it('keeps one connection alive across reviews', async () => {
    server.route('/a', allow());
    addWebhookConfiguration(store, 'reuse', [serviceWebhook('reuse.example.com', '/a')]);
    for (let i = 0; i < 3; i++) await chain.admit(attributesFor(store, 'CREATE', pod(`p${i}`)));
    expect(server.calls).toHaveLength(3);
    expect(new Set(server.calls.map((c) => c.connection)).size).toBe(1);
  });
});

describe('an answer that counts as a failed call', () => {
  const base64 = (text: string): string => Buffer.from(text).toString('base64');
  it.each<[string, (request: { uid: string }) => { status?: number; json?: unknown; text?: string }, string]>([
    [
      'a uid that is not the request’s',
      () => ({ json: review({ uid: 'someone-else' } as never, { allowed: true }) }),
      'received invalid webhook response: expected response.uid="UID", got "someone-else"',
    ],
    [
      'no response',
      () => ({ json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' } }),
      'received invalid webhook response: webhook response was absent',
    ],
    [
      'another apiVersion',
      (r) => ({
        json: {
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          response: { uid: r.uid, allowed: true },
        },
      }),
      'received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got admission.k8s.io/v1beta1, Kind=AdmissionReview',
    ],
    [
      'a patch without patchType',
      (r) => ({ json: review(r as never, { allowed: true, patch: base64('[]') }) }),
      'received invalid webhook response: webhook returned response.patch but not response.patchType',
    ],
    [
      'a patchType without patch',
      (r) => ({ json: review(r as never, { allowed: true, patchType: 'JSONPatch' }) }),
      'received invalid webhook response: webhook returned response.patchType but not response.patch',
    ],
    [
      'a patch that is not base64',
      (r) => ({ json: review(r as never, { allowed: true, patchType: 'JSONPatch', patch: '[{"op":"add"}]' }) }),
      'failed to call webhook: illegal base64 data at input byte 0',
    ],
    [
      'a patch that is not a JSON Patch',
      (r) => ({ json: review(r as never, { allowed: true, patchType: 'JSONPatch', patch: base64('{"op":"add"}') }) }),
      'received undecodable patch in webhook response: json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    ],
    [
      'a merge patch',
      (r) => ({
        json: review(r as never, {
          allowed: true,
          patchType: 'MergePatch',
          patch: base64('[{"op":"add","path":"/x","value":1}]'),
        }),
      }),
      'unsupported patch type "MergePatch"',
    ],
    [
      'allowed as a string',
      (r) => ({ json: review(r as never, { allowed: 'true' }) }),
      'failed to call webhook: json: cannot unmarshal string into Go struct field AdmissionReview.response.allowed of type bool',
    ],
    [
      'a body that is not JSON',
      () => ({ text: 'ok' }),
      "failed to call webhook: couldn't get version/kind; json parse error: Unexpected token",
    ],
    [
      'HTTP 500 with a text body',
      () => ({ status: 500, text: 'boom' }),
      'failed to call webhook: an error on the server ("boom") has prevented the request from succeeding',
    ],
    [
      'HTTP 403 with a Status',
      () => ({
        status: 403,
        json: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'go away', code: 403 },
      }),
      'failed to call webhook: go away',
    ],
    [
      'HTTP 302',
      () => ({ status: 302, text: '' }),
      'failed to call webhook: the server responded with the status code 302 but did not return more information',
    ],
  ])('%s', async (_title, answer, reason) => {
    server.route('/answer', (r) => answer(r.request));
    server.route('/after', patchWith([{ op: 'add', path: '/metadata/labels', value: { reached: 'yes' } }]));
    addWebhookConfiguration(store, 'answers', [serviceWebhook('answers.example.com', '/answer')]);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    const uid = server.calls[0]!.review.request.uid;
    expect(refused.status.code).toBe(500);
    expect(refused.status.reason).toBe('InternalError');
    expect(
      refused.status.message.startsWith(
        `Internal error occurred: failed calling webhook "answers.example.com": ${reason.replace('UID', uid)}`,
      ),
    ).toBe(true);

    // The same answer under Ignore: the request goes on to the next webhook as if this one had allowed it.
    store.delete(
      store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!,
      undefined,
      'answers',
    );
    addWebhookConfiguration(store, 'answers', [
      serviceWebhook('answers.example.com', '/answer', { failurePolicy: 'Ignore' }),
      serviceWebhook('after.example.com', '/after'),
    ]);
    const result = await chain.admit(attributesFor(store, 'CREATE', pod('p')));
    expect(result.object?.metadata.labels).toEqual({ reached: 'yes' });
  });

  it('accepts any 2xx, as client-go does', async () => {
    server.route('/created', (r) => ({ status: 201, json: review(r.request, { allowed: true }) }));
    addWebhookConfiguration(store, 'created', [serviceWebhook('created.example.com', '/created')]);
    await expect(chain.admit(attributesFor(store, 'CREATE', pod('p')))).resolves.toMatchObject({ warnings: [] });
  });

  it('fails a webhook that speaks no AdmissionReview version the server knows, without calling it', async () => {
    server.route('/a', allow());
    addWebhookConfiguration(store, 'versions', [
      serviceWebhook('old.example.com', '/a', { admissionReviewVersions: ['v1beta1'] }),
    ]);
    const refused = await refusal(chain.admit(attributesFor(store, 'CREATE', pod('p'))));
    expect(refused.status.message).toBe(
      'Internal error occurred: failed calling webhook "old.example.com": could not create admission objects: webhook does not accept known AdmissionReview versions (v1)',
    );
    expect(server.calls).toEqual([]);
  });
});
