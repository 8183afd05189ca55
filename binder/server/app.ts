/**
 * The binder's small HTTP app: liveness, readiness and metrics, over plain HTTP inside the pod network.
 * It never listens (main.ts does), so tests drive it with `app.inject()`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface BinderAppOptions {
  registry: Registry;
  logger: Logger;
  /** /readyz answers 503 while this is false. */
  isReady(): boolean;
  /** Shown by /readyz, so `kubectl describe` of an unready pod says why. */
  notReadyReason?(): string;
}

export function buildBinderApp(options: BinderAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Probes and scrapes every few seconds would drown the decisions in the log.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  // Liveness: answering at all is the proof; the API server or the cloud being away is no reason to restart.
  app.get('/healthz', async (_request, reply) => reply.type('text/plain').send('ok'));

  app.get('/readyz', async (_request, reply) => {
    const ready = !closing && options.isReady();
    const reason = closing ? 'shutting down' : (options.notReadyReason?.() ?? 'not ready');
    return reply
      .code(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ok' : reason);
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });

  return app;
}
