/**
 * Answering the requests of one route in batches, one per turn of Node's event loop; the admission route
 * (mutate-pod-route.ts) answers through it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Wraps `answer` so that the admissions Node reads in one turn of its event loop are answered together,
 * back to back, once it has read them all: setImmediate runs right after the poll phase that read them.
 * Under load several reviews arrive per turn (kube-apiserver keeps a connection per concurrent call).
 * Answered as each is read, the planner, the serialiser and the log line run between one request's TLS and
 * HTTP code and the next, each time from cold CPU caches; answered in a run, they stay warm, and the whole
 * webhook costs about what a bare Fastify route does (docs/performance.md). A review that arrives alone
 * waits only for the end of its turn. An answer that throws is handed to the route's error handler; the
 * rest of the batch is answered as usual.
 */
export function inTurnBatches(
  answer: (request: FastifyRequest, reply: FastifyReply) => void,
): (request: FastifyRequest, reply: FastifyReply) => void {
  let waiting: Array<{ request: FastifyRequest; reply: FastifyReply }> = [];
  const answerWaiting = (): void => {
    const batch = waiting;
    waiting = [];
    for (const { request, reply } of batch) {
      try {
        answer(request, reply);
      } catch (error) {
        if (reply.sent) request.log.error({ err: error }, 'answering an admission failed after its answer was sent');
        else void reply.send(error);
      }
    }
  };
  return (request, reply) => {
    if (waiting.length === 0) setImmediate(answerWaiting);
    waiting.push({ request, reply });
  };
}
