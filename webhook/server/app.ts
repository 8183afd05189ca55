/**
 * Builds the webhook's HTTP(S) app; never listens (main.ts does), so tests drive it with `app.inject()`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import type { MutationPolicy } from '../config/types.js';
import type { WebhookMetrics } from '../metrics.js';
import { answerForError } from './errors.js';
import { registerMutatePodRoute } from './mutate-pod-route.js';

export interface BuildAppOptions {
  policy: MutationPolicy;
  logger: Logger;
  metrics: WebhookMetrics;
  /**
   * Cap on the admission request body. kube-apiserver takes objects up to 3 MiB and an UPDATE review carries
   * two of them (object and oldObject), hence controller-runtime's 7 MiB, which the config default follows.
   */
  bodyLimitBytes: number;
  /** Serve HTTPS with these options (certificate, key, minVersion); plain HTTP when absent. */
  https?: HttpsServerOptions;
  /** Extra readiness condition, e.g. "a serving certificate is loaded"; /readyz is 503 while it returns false. */
  isReady?: () => boolean;
}

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const app = Fastify({
    // Typed as fastify's logger so the instance is the plain FastifyInstance the rest of the code expects.
    loggerInstance: options.logger as FastifyBaseLogger,
    // One log line per admission decision is written by the route; fastify's two per request would triple that.
    logController: new LogController({ disableRequestLogging: true }),
    // The route logs namespace, pod and uid itself; a child logger per request (fastify's default, with a
    // reqId) would cost an allocation and a redaction setup on every admission for a field nobody reads.
    childLoggerFactory: (logger) => logger,
    bodyLimit: options.bodyLimitBytes,
    // A body with a "__proto__" or "constructor" key is refused (400), not stripped: no API server sends one.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The API server keeps connections alive between reviews; idle ones must not hold close() until its timeout.
    forceCloseConnections: 'idle',
    // A review that still reaches the app while it drains (sent on a connection that was open when the
    // drain began) is answered rather than failed with 503; readiness tells the Service to stop sending.
    return503OnClosing: false,
    ...(options.https ? { https: options.https } : {}),
  });

  // kube-apiserver sends only application/json; fastify's built-in text/plain parser would let anything else in.
  app.removeContentTypeParser('text/plain');

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerForError(error);
    if (answer.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(answer.statusCode).send(answer.body);
  });

  registerMutatePodRoute(app, { policy: options.policy, metrics: options.metrics, logger: options.logger });

  // Liveness: answering at all is the proof; nothing here may depend on certificates or the API server.
  app.get('/healthz', async (_request, reply) => reply.type('text/plain').send('ok'));

  app.get('/readyz', async (_request, reply) => {
    const ready = !closing && (options.isReady?.() ?? true);
    return reply
      .code(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ok' : 'not ready');
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });

  return app;
}
