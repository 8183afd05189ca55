import { describe, expect, it } from '@jest/globals';
import {
  base64Patch,
  ADMISSION_API_VERSION,
  allowResponse,
  denyResponse,
  parseAdmissionReview,
  patchResponse,
} from '../../../webhook/admission/review.js';
import type { JsonPatchOp } from '../../../webhook/mutation/types.js';

/** What kube-apiserver sends for `kubectl create` of a pod from a ReplicaSet (trimmed pod, every review field). */
function createReview(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: '',
      namespace: 'games',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: 'u1',
        groups: ['system:serviceaccounts'],
      },
      object: {
        metadata: { generateName: 'web-7d4b9-', namespace: 'games' },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      ...overrides,
    },
  };
}

function reasonOf(body: unknown): string {
  const parsed = parseAdmissionReview(body);
  if (parsed.ok) throw new Error('expected a malformed review');
  return parsed.reason;
}

describe('parseAdmissionReview', () => {
  it('reads a CREATE review as the API server sends it', () => {
    const parsed = parseAdmissionReview(createReview());
    expect(parsed).toEqual({
      ok: true,
      request: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource: '',
        name: '',
        namespace: 'games',
        operation: 'CREATE',
        object: {
          metadata: { generateName: 'web-7d4b9-', namespace: 'games' },
          spec: { containers: [{ name: 'web', image: 'nginx' }] },
        },
        oldObject: null,
        dryRun: false,
      },
    });
  });

  it('reads dryRun, a subresource, and a DELETE without object', () => {
    const parsed = parseAdmissionReview(
      createReview({
        operation: 'DELETE',
        object: null,
        oldObject: { metadata: { name: 'p' } },
        dryRun: true,
        subResource: 'status',
        name: 'p',
      }),
    );
    expect(parsed.ok && parsed.request).toMatchObject({
      operation: 'DELETE',
      object: null,
      dryRun: true,
      subResource: 'status',
      name: 'p',
    });
  });

  it('fills optional strings with "" and dryRun with false when absent', () => {
    const review = createReview();
    const request = review.request as Record<string, unknown>;
    delete request.name;
    delete request.namespace;
    delete request.dryRun;
    delete request.resource;
    const parsed = parseAdmissionReview(review);
    expect(parsed.ok && parsed.request).toMatchObject({ name: '', namespace: '', subResource: '', dryRun: false });
    expect(parsed.ok && 'resource' in parsed.request).toBe(false);
  });

  it.each([
    ['a JSON array', [], 'body must be a JSON object'],
    ['null', null, 'body must be a JSON object'],
    [
      'v1beta1',
      { ...createReview(), apiVersion: 'admission.k8s.io/v1beta1' },
      'apiVersion must be "admission.k8s.io/v1", got "admission.k8s.io/v1beta1"',
    ],
    ['another kind', { ...createReview(), kind: 'Pod' }, 'kind must be "AdmissionReview", got "Pod"'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request must be an object'],
    [
      'a response instead of a request',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'x', allowed: true } },
      'request must be an object',
    ],
  ])('refuses %s', (_name, body, reason) => {
    expect(reasonOf(body)).toBe(reason);
  });

  it.each([
    ['no uid', { uid: undefined }, 'request.uid must be a non-empty string'],
    ['an empty uid', { uid: '' }, 'request.uid must be a non-empty string'],
    ['a numeric uid', { uid: 42 }, 'request.uid must be a non-empty string'],
  ])('refuses a request with %s', (_name, overrides, reason) => {
    expect(parseAdmissionReview(createReview(overrides))).toEqual({ ok: false, reason });
  });

  it.each([
    [
      'an unknown operation',
      { operation: 'PATCH' },
      'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"',
    ],
    ['no kind', { kind: undefined }, 'request.kind must be an object with group, version, kind'],
    ['a kind without group', { kind: { version: 'v1', kind: 'Pod' } }, 'request.kind.group must be a string'],
    ['a malformed resource', { resource: 'pods' }, 'request.resource must be an object with group, version, resource'],
    ['a numeric namespace', { namespace: 7 }, 'request.namespace must be a string'],
    ['CREATE without object', { object: null }, 'request.object is required for CREATE'],
    ['UPDATE without object', { operation: 'UPDATE', object: undefined }, 'request.object is required for UPDATE'],
    ['an object that is an array', { object: [] }, 'request.object must be an object or null'],
    ['a string dryRun', { dryRun: 'true' }, 'request.dryRun must be a boolean'],
  ])('refuses %s, and still reports the uid for the log', (_name, overrides, reason) => {
    expect(parseAdmissionReview(createReview(overrides))).toEqual({
      ok: false,
      reason,
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    });
  });
});

describe('response builders', () => {
  const uid = 'a1b2c3';

  it('allowResponse echoes the uid and sends no warnings field when there are none', () => {
    expect(allowResponse(uid)).toEqual({
      apiVersion: ADMISSION_API_VERSION,
      kind: 'AdmissionReview',
      response: { uid, allowed: true },
    });
    expect(allowResponse(uid, ['eip-isp ignored'])).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true, warnings: ['eip-isp ignored'] },
    });
  });

  it('patchResponse sends the patch as base64 JSON with patchType JSONPatch', () => {
    const patch: JsonPatchOp[] = [
      { op: 'add', path: '/spec/readinessGates', value: [{ conditionType: 'k8s.aliyun.com/eip' }] },
      { op: 'add', path: '/metadata/annotations/podeip.io~1injected', value: 'true' },
    ];
    const review = patchResponse(uid, patch, ['w']);
    expect(review.apiVersion).toBe('admission.k8s.io/v1');
    expect(review.kind).toBe('AdmissionReview');
    expect(review.response).toMatchObject({ uid, allowed: true, patchType: 'JSONPatch', warnings: ['w'] });
    expect(JSON.parse(Buffer.from(review.response.patch as string, 'base64').toString('utf8'))).toEqual(patch);
  });

  it('patchResponse with an empty patch sends neither patch nor patchType', () => {
    const review = patchResponse(uid, []);
    expect(review).toEqual(allowResponse(uid));
    expect('patch' in review.response || 'patchType' in review.response).toBe(false);
  });

  it('denyResponse is a 403 Forbidden by default', () => {
    expect(denyResponse(uid, 'k8s.aliyun.com/eip-bandwidth="0": must be an integer from 1 to 200')).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid,
        allowed: false,
        status: {
          code: 403,
          message: 'k8s.aliyun.com/eip-bandwidth="0": must be an integer from 1 to 200',
          reason: 'Forbidden',
        },
      },
    });
  });

  it('denyResponse carries a chosen code with its Kubernetes reason, and warnings', () => {
    expect(denyResponse(uid, 'boom', 500, ['w']).response).toEqual({
      uid,
      allowed: false,
      status: { code: 500, message: 'boom', reason: 'InternalError' },
      warnings: ['w'],
    });
    expect(denyResponse(uid, 'bad', 400).response.status?.reason).toBe('BadRequest');
  });

  it('builders copy the warnings, so a caller reusing its array cannot change a sent answer', () => {
    const warnings = ['first'];
    const review = allowResponse(uid, warnings);
    warnings.push('second');
    expect(review.response.warnings).toEqual(['first']);
  });
});

describe('base64Patch', () => {
  const plain = (patch: JsonPatchOp[]) => Buffer.from(JSON.stringify(patch), 'utf8').toString('base64');
  const frozenA = Object.freeze({ name: 'a', items: Object.freeze([1, 2]) });
  const frozenB = Object.freeze({ name: 'b', items: Object.freeze([3]) });

  it('gives exactly what JSON.stringify and base64 give, on first use and from the cache', () => {
    const patches: JsonPatchOp[][] = [
      [{ op: 'add', path: '/spec/volumes', value: [frozenA] }],
      [{ op: 'add', path: '/spec/volumes/-', value: frozenA }],
      [
        { op: 'remove', path: '/metadata/annotations/a~1b' },
        { op: 'add', path: '/spec/x', value: frozenB },
      ],
      [{ op: 'add', path: '/spec/x', value: { notFrozen: 'é"\\' } }],
      [{ op: 'replace', path: '/spec/n', value: 3 }],
    ];
    for (let round = 0; round < 2; round++) for (const p of patches) expect(base64Patch(p)).toBe(plain(p));
  });

  it('never confuses two frozen values, or a value with a one-element array of it', () => {
    const a = [{ op: 'add', path: '/spec/x', value: frozenA }] as JsonPatchOp[];
    const b = [{ op: 'add', path: '/spec/x', value: frozenB }] as JsonPatchOp[];
    const wrapped = [{ op: 'add', path: '/spec/x', value: [frozenA] }] as JsonPatchOp[];
    expect(new Set([base64Patch(a), base64Patch(b), base64Patch(wrapped)]).size).toBe(3);
    expect(base64Patch(wrapped)).toBe(plain(wrapped));
  });
});
