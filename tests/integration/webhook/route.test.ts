/**
 * POST /mutate-v1-pod and the probes through app.inject(), with the AdmissionReviews of
 * tests/fixtures/admission as kube-apiserver sends them and the real planner behind the route.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import fjp from 'fast-json-patch';
import type { FastifyInstance } from 'fastify';
import type { MutationPolicy } from '../../../webhook/config/types.js';
import { createWebhookMetrics } from '../../../webhook/metrics.js';
import { buildApp, type BuildAppOptions } from '../../../webhook/server/app.js';
import { pino } from 'pino';
import { parseAdmissionReview } from '../../../webhook/admission/review.js';
import { answerPodAdmission } from '../../../webhook/server/mutate-pod-route.js';
import {
  admissionFixture,
  admissionFixtureNames,
  captureLogs,
  defaultPolicy,
  defaultWebhookConfig,
} from './support.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function testApp(overrides: Partial<BuildAppOptions> = {}) {
  const logs = captureLogs('debug');
  const metrics = createWebhookMetrics();
  const app = buildApp({
    policy: defaultPolicy(),
    logger: logs.logger,
    metrics,
    bodyLimitBytes: defaultWebhookConfig().bodyLimitBytes,
    connections: defaultWebhookConfig().connections,
    ...overrides,
  });
  apps.push(app);
  return { app, logs, metrics };
}

interface ReviewAnswer {
  statusCode: number;
  body: {
    apiVersion: string;
    kind: string;
    response: {
      uid: string;
      allowed: boolean;
      patchType?: string;
      patch?: string;
      warnings?: string[];
      status?: { code: number; message: string; reason: string };
    };
  };
}

async function admit(app: FastifyInstance, review: unknown): Promise<ReviewAnswer> {
  const res = await app.inject({
    method: 'POST',
    url: '/mutate-v1-pod',
    payload: JSON.stringify(review),
    headers: { 'content-type': 'application/json' },
  });
  return { statusCode: res.statusCode, body: res.json() };
}

function decodePatch(patch: string | undefined): fjp.Operation[] {
  return JSON.parse(Buffer.from(patch ?? '', 'base64').toString('utf8'));
}

const PATCHED = [
  'deployment-pod-auto.json',
  'deployment-pod-static.json',
  'deployment-pod-release-never.json',
  'statefulset-pod-ttl.json',
  'bare-pod-static.json',
  'pod-with-own-gates-init-volumes.json',
  'network-prefix-pod.json',
  'legacy-key-pod.json',
  'pod-with-copied-eip-address.json',
];
const ALLOWED_UNCHANGED = [
  'already-mutated-pod.json',
  'pod-without-eip.json',
  'bare-pod-update-invalid-annotations.json',
];

describe('POST /mutate-v1-pod with the fixture reviews', () => {
  it.each(PATCHED)(
    '%s: allowed with a JSON Patch that applies to the pod and adds the EIP readiness gate',
    async (name) => {
      const review = admissionFixture(name);
      const { app } = testApp();
      const { statusCode, body } = await admit(app, review);
      expect(statusCode).toBe(200);
      expect(body).toMatchObject({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch' },
      });
      // Applied the way kube-apiserver applies it: any failing operation would fail the pod's creation.
      const patched = fjp.applyPatch(
        structuredClone(review.request.object),
        decodePatch(body.response.patch),
        true,
        false,
      ).newDocument as {
        spec: { readinessGates: Array<{ conditionType: string }> };
      };
      expect(patched.spec.readinessGates).toContainEqual({ conditionType: 'k8s.aliyun.com/eip' });
    },
  );

  it.each(ALLOWED_UNCHANGED)('%s: allowed with neither patch nor patchType', async (name) => {
    const review = admissionFixture(name);
    const { app } = testApp();
    const { statusCode, body } = await admit(app, review);
    expect(statusCode).toBe(200);
    expect(body.response).toMatchObject({ uid: review.request.uid, allowed: true });
    expect(body.response).not.toHaveProperty('patch');
    expect(body.response).not.toHaveProperty('patchType');
  });

  it.each([
    ['deployment-pod-static.json', /would claim the same static EIP/],
    ['deployment-pod-release-never.json', /"Never" is Follow here: ReplicaSet pods get new names/],
    ['pod-with-copied-eip-address.json', /removed annotation k8s\.aliyun\.com\/allocated-eipAddress/],
    ['bare-pod-update-invalid-annotations.json', /pod-eip-release-strategy="forever"/],
  ])("%s: passes the planner's warnings on", async (name, warning) => {
    const { app } = testApp();
    const { body } = await admit(app, admissionFixture(name));
    expect(body.response.warnings).toEqual(expect.arrayContaining([expect.stringMatching(warning)]));
  });

  it('denies a pod with invalid annotations with 403, naming every problem', async () => {
    const review = admissionFixture('pod-invalid-annotations.json');
    const { app } = testApp();
    const { statusCode, body } = await admit(app, review);
    expect(statusCode).toBe(200);
    expect(body.response).toMatchObject({
      uid: review.request.uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden' },
    });
    const message = body.response.status?.message ?? '';
    expect(message).toContain('2 problems');
    expect(message).toContain('k8s.aliyun.com/eip-bandwidth="fast"');
    expect(message).toContain('k8s.aliyun.com/eip-internet-charge-type="Monthly"');
    expect(body.response).not.toHaveProperty('patch');
  });

  it('answers UTF-8 JSON whose length header counts bytes, multi-byte values echoed in a denial included', async () => {
    const review = admissionFixture('pod-invalid-annotations.json');
    const pod = review.request.object as { metadata: { annotations: Record<string, string> } };
    pod.metadata.annotations['k8s.aliyun.com/eip-bandwidth'] = 'schnell ≥ 5 Mbit/s, ünïcode';
    const { app } = testApp();
    const res = await app.inject({
      method: 'POST',
      url: '/mutate-v1-pod',
      payload: JSON.stringify(review),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    expect(res.json().response.status.message).toContain('k8s.aliyun.com/eip-bandwidth="schnell ≥ 5 Mbit/s, ünïcode"');
  });

  it('sends every field of the decided answer, each value escaped but the base64 patch', async () => {
    const reviews = admissionFixtureNames().map((name) => admissionFixture(name));
    // A uid no API server sends, with every character JSON must escape: it must come back whole.
    const hostile = admissionFixture('deployment-pod-auto.json');
    hostile.request.uid = 'q"uote\\back\nline\u2028sep\u0001ctl';
    reviews.push(hostile);
    const quiet = pino({ level: 'silent' });
    const { app } = testApp();
    for (const review of reviews) {
      const parsed = parseAdmissionReview(review);
      if (!parsed.ok) throw new Error(parsed.reason);
      const decided = answerPodAdmission(parsed.request, defaultPolicy(), quiet).review;
      const { statusCode, body } = await admit(app, review);
      expect(statusCode).toBe(200);
      // The compiled serialiser leaves out what its schema does not name: nothing may be lost that way.
      expect(body).toEqual(decided);
      expect(decided.response.patch ?? '').toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    }
  });

  it('denies a hostNetwork pod that asks for an EIP', async () => {
    const review = admissionFixture('hostnetwork-pod.json');
    const { app } = testApp();
    const { body } = await admit(app, review);
    expect(body.response).toMatchObject({
      uid: review.request.uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden' },
    });
    expect(body.response.status?.message).toMatch(
      /k8s\.aliyun\.com\/pod-with-eip="true": cannot be used with spec\.hostNetwork: true/,
    );
  });

  it('gives a dry run the answer the real request gets', async () => {
    for (const name of ['deployment-pod-auto.json', 'pod-invalid-annotations.json', 'pod-without-eip.json']) {
      const review = admissionFixture(name);
      const dryRun = admissionFixture(name);
      dryRun.request.dryRun = true;
      const { app } = testApp();
      const real = await admit(app, review);
      expect(real.statusCode).toBe(200);
      expect(real.body.response.uid).toBe(review.request.uid);
      expect(real.body.response.status?.code).not.toBe(500);
      expect(await admit(app, dryRun)).toEqual(real);
    }
  });
});

describe('logging', () => {
  it('writes one info line per patched or denied pod, with who and what but never the pod', async () => {
    const { app, logs } = testApp();
    const patched = admissionFixture('deployment-pod-auto.json');
    const denied = admissionFixture('hostnetwork-pod.json');
    await admit(app, patched);
    await admit(app, denied);
    const decisions = logs.lines.filter((line) => (line.level as number) >= 30);
    expect(decisions).toEqual([
      expect.objectContaining({
        level: 30,
        namespace: 'shop',
        pod: 'web-7c9f8d6b5d-',
        uid: patched.request.uid,
        decision: 'patched',
        dryRun: false,
      }),
      expect.objectContaining({
        level: 30,
        namespace: 'default',
        pod: 'node-probe',
        uid: denied.request.uid,
        decision: 'denied',
      }),
    ]);
    const written = JSON.stringify(logs.lines);
    expect(written).not.toContain('nginx:1.27');
    expect(written).not.toContain('managedFields');
  });

  it('logs a pod without EIP annotations at debug level only', async () => {
    const { app, logs } = testApp();
    const review = admissionFixture('pod-without-eip.json');
    await admit(app, review);
    expect(logs.lines.filter((line) => (line.level as number) >= 30)).toEqual([]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ level: 20, pod: 'api-8b6c5d9f47-', uid: review.request.uid, decision: 'allowed' }),
    );
  });
});

describe('when the webhook fails', () => {
  // A policy that skipped schema validation: the planner dereferences initContainer and throws a TypeError.
  const brokenPolicy = { ...defaultPolicy(), initContainer: undefined } as unknown as MutationPolicy;

  it('still answers with an AdmissionReview that echoes the uid, denied with code 500, and logs the error', async () => {
    const review = admissionFixture('deployment-pod-auto.json');
    const { app, logs } = testApp({ policy: brokenPolicy });
    const { statusCode, body } = await admit(app, review);
    expect(statusCode).toBe(200);
    expect(body).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: false, status: { code: 500, reason: 'InternalError' } },
    });
    expect(body.response.status?.message).toContain(review.request.uid);
    const error = logs.lines.find((line) => line.level === 50);
    expect(error).toMatchObject({
      namespace: 'shop',
      pod: 'web-7c9f8d6b5d-',
      uid: review.request.uid,
      decision: 'error',
      err: { type: 'TypeError' },
    });
    // A pod without EIP annotations never reaches the part of the planner that fails.
    expect((await admit(app, admissionFixture('pod-without-eip.json'))).body.response.allowed).toBe(true);
  });
});

describe('requests that are not an AdmissionReview the webhook can judge', () => {
  async function post(app: FastifyInstance, payload: string, contentType = 'application/json') {
    const res = await app.inject({
      method: 'POST',
      url: '/mutate-v1-pod',
      payload,
      headers: { 'content-type': contentType },
    });
    return { statusCode: res.statusCode, body: res.json() };
  }

  it.each([
    ['malformed JSON', '{"apiVersion": "admission.k8s.io/v1", "kind":', 'InvalidJson'],
    ['an empty body', '', 'InvalidJson'],
    ['a prototype-poisoning body', '{"__proto__": {"allowed": true}}', 'InvalidJson'],
    ['a prototype-poisoning key spelt with escapes', '{"request": {"\\u005f_pr\\u006fto__": {"x": 1}}}', 'InvalidJson'],
    ['a constructor-poisoning body', '{"request": {"constructor": {"prototype": {"allowed": true}}}}', 'InvalidJson'],
    ['a constructor key spelt with escapes', '{"request": {"c\\u006fnstructor": {"prototype": {}}}}', 'InvalidJson'],
    [
      'a review without request',
      '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
      'MalformedAdmissionReview',
    ],
  ])('answers %s with 400 and a JSON error', async (_name, payload, error) => {
    const { app } = testApp();
    const { statusCode, body } = await post(app, payload);
    expect(statusCode).toBe(400);
    expect(body).toMatchObject({ error, message: expect.any(String) });
  });

  it('judges reviews in the spellings kube-apiserver uses: escaped <, > and &, a byte-order mark, the words in values', async () => {
    const { app } = testApp();
    const review = admissionFixture('deployment-pod-auto.json');
    const pod = review.request.object as { spec: { containers: Array<{ command?: string[] }> } };
    // Go's encoder writes <, > and & as \u003c, \u003e and \u0026; a value may mention either poisoning word.
    (pod.spec.containers[0] as { command?: string[] }).command = [
      'sh',
      '-c',
      'test -f /x && echo "<constructor> __proto__"',
    ];
    const goStyle = JSON.stringify(review).replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
    expect(goStyle).toContain('\\u0026\\u0026');
    for (const payload of [goStyle, `\uFEFF${goStyle}`]) {
      const { statusCode, body } = await post(app, payload);
      expect(statusCode).toBe(200);
      expect(body.response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: 'JSONPatch' });
    }
  });

  it('answers a request without uid with 400 naming the field', async () => {
    const review = admissionFixture('deployment-pod-auto.json');
    delete (review.request as Record<string, unknown>).uid;
    const { app } = testApp();
    const { statusCode, body } = await post(app, JSON.stringify(review));
    expect(statusCode).toBe(400);
    expect(body).toEqual({
      error: 'MalformedAdmissionReview',
      message: 'not an AdmissionReview admission.k8s.io/v1 request: request.uid must be a non-empty string',
    });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/yaml'])(
    'answers content type %s with 415',
    async (contentType) => {
      const { app } = testApp();
      const { statusCode, body } = await post(
        app,
        JSON.stringify(admissionFixture('deployment-pod-auto.json')),
        contentType,
      );
      expect(statusCode).toBe(415);
      expect(body).toMatchObject({ error: 'UnsupportedMediaType' });
    },
  );

  it('refuses a body one byte over the cap with 413, accepts one at the cap, and a 6 MiB review under the default cap', async () => {
    const payload = JSON.stringify(admissionFixture('deployment-pod-auto.json'));
    const size = Buffer.byteLength(payload);
    const over = testApp({ bodyLimitBytes: size - 1 });
    const refused = await post(over.app, payload);
    expect(refused.statusCode).toBe(413);
    expect(refused.body).toMatchObject({ error: 'BodyTooLarge' });
    const atCap = testApp({ bodyLimitBytes: size });
    expect((await post(atCap.app, payload)).statusCode).toBe(200);

    const big = admissionFixture('deployment-pod-auto.json');
    (big.request.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations[
      'example.com/blob'
    ] = 'x'.repeat(6 * 1024 * 1024);
    const { app } = testApp();
    const accepted = await admit(app, big);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.body.response).toMatchObject({ uid: big.request.uid, allowed: true, patchType: 'JSONPatch' });
  });

  it('passes through, unchanged, what is not a pod CREATE or UPDATE', async () => {
    const { app, logs } = testApp();
    const deletion = admissionFixture('deployment-pod-auto.json');
    Object.assign(deletion.request, { operation: 'DELETE', oldObject: deletion.request.object, object: null });
    const status = admissionFixture('deployment-pod-auto.json');
    status.request.subResource = 'status';
    const notAPod = admissionFixture('deployment-pod-auto.json');
    notAPod.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    for (const review of [deletion, status, notAPod]) {
      const { body } = await admit(app, review);
      expect(body.response).toEqual({ uid: review.request.uid, allowed: true });
    }
    // A webhook configuration that sends subresources or other kinds is a deployment mistake worth a warning.
    expect(logs.lines.filter((line) => line.level === 40).map((line) => line.skipped)).toEqual([
      'subresource status',
      'kind apps/v1/Deployment is not a pod',
    ]);
  });
});

describe('probes and metrics', () => {
  it('/healthz answers while the process lives; /readyz follows isReady and shutdown', async () => {
    let ready = false;
    const { app } = testApp({ isReady: () => ready });
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    ready = true;
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('/metrics counts admissions by result and times each one', async () => {
    const { app } = testApp();
    const other = testApp();
    for (const name of [
      'deployment-pod-auto.json',
      'pod-without-eip.json',
      'already-mutated-pod.json',
      'hostnetwork-pod.json',
    ]) {
      await admit(app, admissionFixture(name));
    }
    await app.inject({
      method: 'POST',
      url: '/mutate-v1-pod',
      payload: '{',
      headers: { 'content-type': 'application/json' },
    });
    await app.inject({
      method: 'POST',
      url: '/mutate-v1-pod',
      payload: 'x',
      headers: { 'content-type': 'text/plain' },
    });

    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toContain('podeip_webhook_admissions_total{result="patched"} 1');
    expect(text).toContain('podeip_webhook_admissions_total{result="allowed"} 2');
    expect(text).toContain('podeip_webhook_admissions_total{result="denied"} 1');
    expect(text).toContain('podeip_webhook_admissions_total{result="error"} 2');
    expect(text).toContain('podeip_webhook_admission_seconds_count 6');
    expect(text).toContain('podeip_webhook_admission_seconds_bucket{le="0.0005"}');
    expect(text).toMatch(/^podeip_webhook_process_cpu_user_seconds_total /m);

    // Each app has its own registry: nothing counted above shows in another app.
    const elsewhere = (await other.app.inject({ url: '/metrics' })).body;
    expect(elsewhere).toContain('podeip_webhook_admissions_total{result="patched"} 0');
  });
});
