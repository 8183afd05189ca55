/**
 * Admissions read in one turn of the event loop are answered together (inTurnBatches in
 * webhook/server/in-turn-batches.ts): each still gets its own answer, a throw answers only its own request,
 * and the webhook over HTTPS answers reviews sent at once exactly as it answers each alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Agent } from 'node:https';
import { inTurnBatches } from '../../../webhook/server/in-turn-batches.js';
import {
  admissionFixture,
  admissionFixtureNames,
  callWebhook,
  captureLogs,
  startTlsWebhook,
  type TlsWebhook,
} from './support.js';

describe('inTurnBatches', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  /**
   * A Fastify app whose one route answers through inTurnBatches with `answer`. Each call is recorded with
   * the synchronous run it happened in: a microtask scheduled by the first call of a run ends it, and no
   * microtask runs between two calls of one loop.
   */
  function appAnswering(answer: (request: FastifyRequest, reply: FastifyReply) => void) {
    const runs: Array<{ id: string; run: number }> = [];
    let run = 0;
    let runOpen = false;
    const logs = captureLogs('info');
    const app = Fastify({ loggerInstance: logs.logger as FastifyBaseLogger, disableRequestLogging: true });
    apps.push(app);
    app.setErrorHandler((error: FastifyError, _request, reply) => {
      void reply.code(500).send({ failed: error.message });
    });
    app.post(
      '/',
      inTurnBatches((request, reply) => {
        if (!runOpen) {
          runOpen = true;
          queueMicrotask(() => {
            run += 1;
            runOpen = false;
          });
        }
        runs.push({ id: (request.body as { id: string }).id, run });
        answer(request, reply);
      }),
    );
    const post = async (id: string) => {
      const res = await app.inject({ method: 'POST', url: '/', payload: { id } });
      return { status: res.statusCode, body: res.json() };
    };
    return { app, runs, post, logs };
  }

  it('answers requests that arrive in one turn back to back, each with its own answer', async () => {
    const { app, runs, post } = appAnswering((request, reply) => {
      void reply.send({ echo: (request.body as { id: string }).id });
    });
    await app.ready();
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const answers = await Promise.all(ids.map(post));
    expect(answers).toEqual(ids.map((id) => ({ status: 200, body: { echo: id } })));
    // All five in one synchronous run: nothing else ran between them.
    expect(runs.map((call) => call.id)).toEqual(ids);
    expect(new Set(runs.map((call) => call.run)).size).toBe(1);

    // A request that comes later is a batch of its own.
    expect(await post('f')).toEqual({ status: 200, body: { echo: 'f' } });
    expect(runs[5]).toEqual({ id: 'f', run: (runs[0]?.run ?? 0) + 1 });
  });

  it('hands a throw to the error handler and answers the rest of the batch', async () => {
    const { app, post } = appAnswering((request, reply) => {
      const { id } = request.body as { id: string };
      if (id === 'bad') throw new TypeError(`cannot answer ${id}`);
      void reply.send({ echo: id });
    });
    await app.ready();
    const answers = await Promise.all(['a', 'bad', 'c'].map(post));
    expect(answers).toEqual([
      { status: 200, body: { echo: 'a' } },
      { status: 500, body: { failed: 'cannot answer bad' } },
      { status: 200, body: { echo: 'c' } },
    ]);
  });

  it('does not answer twice when the answer throws after sending', async () => {
    const { app, post, logs } = appAnswering((request, reply) => {
      const { id } = request.body as { id: string };
      void reply.send({ echo: id });
      if (id === 'late') throw new Error('after the answer');
    });
    await app.ready();
    const answers = await Promise.all(['late', 'next'].map(post));
    expect(answers).toEqual([
      { status: 200, body: { echo: 'late' } },
      { status: 200, body: { echo: 'next' } },
    ]);
    expect(logs.lines.filter((line) => Number(line.level) >= 40)).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'answering an admission failed after its answer was sent',
        err: expect.objectContaining({ message: 'after the answer' }),
      }),
    ]);
  });
});

describe('the webhook over HTTPS, many reviews at once', () => {
  let webhook: TlsWebhook;
  beforeAll(async () => {
    webhook = await startTlsWebhook();
  });
  afterAll(async () => {
    await webhook.stop();
  });

  it('answers reviews sent together exactly as it answers each alone', async () => {
    // Every fixture three times, each copy with a uid of its own, and two bodies that are not reviews.
    const bodies = [
      ...[0, 1, 2].flatMap((copy) =>
        admissionFixtureNames().map((name) => {
          const review = admissionFixture(name);
          review.request.uid = `${copy}-${review.request.uid}`;
          return JSON.stringify(review);
        }),
      ),
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
      '{"apiVersion": "admission.k8s.io/v1", "kind":',
    ];
    const alone = [];
    for (const body of bodies) alone.push(await callWebhook(webhook, '/mutate-v1-pod', { body }));
    expect(new Set(alone.map((answer) => answer.status))).toEqual(new Set([200, 400]));

    // One kept-alive connection per review, opened beforehand, so that the reviews reach the webhook together.
    const agent = new Agent({ keepAlive: true, maxSockets: bodies.length });
    try {
      await Promise.all(bodies.map(() => callWebhook(webhook, '/healthz', { agent })));
      const together = await Promise.all(bodies.map((body) => callWebhook(webhook, '/mutate-v1-pod', { body, agent })));
      expect(together).toEqual(alone);
    } finally {
      agent.destroy();
    }
  });
});
