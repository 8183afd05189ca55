/**
 * Builds the webhook's HTTP(S) app; never listens (main.ts does), so tests drive it with `app.inject()`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ConnectionLimits, MutationPolicy } from '../config/types.js';
import type { WebhookMetrics } from '../metrics.js';
import { answerForError } from './errors.js';
import { registerMutatePodRoute, type EipPolicySource } from './mutate-pod-route.js';

export interface BuildAppOptions {
  policy: MutationPolicy;
  logger: Logger;
  metrics: WebhookMetrics;
  /**
   * Cap on the admission request body. kube-apiserver takes objects up to 3 MiB and an UPDATE review carries
   * two of them (object and oldObject), hence controller-runtime's 7 MiB, which the config default follows.
   */
  bodyLimitBytes: number;
  /** Timeouts and the cap on open connections; see the configuration's `connections`. */
  connections: ConnectionLimits;
  /** Serve HTTPS with these options (certificate, key, minVersion); plain HTTP when absent. */
  https?: HttpsServerOptions;
  /** Extra readiness condition, e.g. "a serving certificate is loaded"; /readyz is 503 while it returns false. */
  isReady?: () => boolean;
  /** The cluster's EIPPolicies, when the webhook checks them at admission. */
  eipPolicies?: EipPolicySource;
}

/**
 * A request Node's parser refused or timed out: answered in plain HTTP and closed, as fastify's default
 * does, and counted. Not logged one by one: under a flood of slow clients that would be a line each.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex, metrics: WebhookMetrics): void {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') metrics.requestsTimedOut.inc();
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : [400, 'Bad Request'];
  const body = JSON.stringify({ error: text, message: text, statusCode: status });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  socket.destroy();
}

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const requestTimeoutMs = options.connections.requestTimeoutSeconds * 1000;
  // Node's own checks of those timeouts, for the HTTPS server and the plain one alike.
  const timeoutChecks = { connectionsCheckingInterval: 1000, headersTimeout: requestTimeoutMs };
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
    // A request must arrive whole within requestTimeout (headers within it too): a client that trickles its
    // body holds a socket and a growing buffer only that long. Node checks every second rather than its
    // default 30, so the timeout is what it says.
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: options.connections.idleTimeoutSeconds * 1000,
    clientErrorHandler: (error, socket) => answerClientError(error, socket, options.metrics),
    // A connection that sends nothing at all (not even a TLS handshake) is ended by this idle timer.
    connectionTimeout: requestTimeoutMs,
    ...(options.https
      ? { https: { ...options.https, ...timeoutChecks, handshakeTimeout: requestTimeoutMs } }
      : { http: timeoutChecks }),
  });
  // Past the cap Node closes a new connection at once ('drop'), so a flood of them costs a socket each, briefly.
  app.server.maxConnections = options.connections.max;
  app.server.on('drop', () => options.metrics.connectionsDropped.inc());

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

  registerMutatePodRoute(app, {
    policy: options.policy,
    metrics: options.metrics,
    logger: options.logger,
    ...(options.eipPolicies === undefined ? {} : { eipPolicies: options.eipPolicies }),
  });

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
