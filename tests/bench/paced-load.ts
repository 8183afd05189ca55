/**
 * An open-loop load at a fixed rate, for latency at a given throughput. autocannon's rate option fires each
 * connection's quota for the second as fast as it can and then idles until the next second, so "half the
 * maximum rate" is really full speed half of the time and its p99 measures the queue of that burst. Here
 * requests are due at evenly spaced instants (i / rate seconds after the start), sent on whichever kept-alive
 * connection is idle, and each latency counts from the instant the request was due, not from when it was
 * sent: a server that falls behind pays for the wait it caused (no coordinated omission).
 *
 * That rule also charges the server for any lateness of the generator itself, so the generator must not be
 * late. A Node timer sleeps at least 1 ms and, on a busy host, often several: at 7,000 req/s every request
 * due meanwhile would leave in one burst, late, and count the generator's nap as server latency (measured
 * on the 2-core CI VM, 2026-12-05: sends up to 12 ms late, p99 of lateness 1.5 to 6.4 ms, most of
 * the p99 reported for the bare route and the webhook alike). So with `spin` the generator never sleeps: it
 * looks for due requests on every turn of its event loop, which keeps one core busy and must be a core the
 * server does not use. Either way it reports how late requests left it (p99), so a reader can tell its
 * lateness from the server's; that figure also includes waits for a free connection, which are the
 * server's doing.
 */
import { connect, type TLSSocket } from 'node:tls';

export interface PacedLoadOptions {
  port: number;
  path: string;
  body: string;
  /** Requests per second, spread evenly. */
  rate: number;
  durationS: number;
  connections: number;
  /** Check for due requests on every turn instead of every 1 ms timer tick (see above): only when the
   * generator has a core to itself. */
  spin: boolean;
}

export interface PacedLoadFigures {
  sent: number;
  errors: number;
  p50: number;
  p99: number;
  /** How long after it was due a request was written, 99th percentile, ms. */
  sendLateP99: number;
}

interface Connection {
  socket: TLSSocket;
  /** When the request in flight was due; undefined while the connection is idle. */
  dueAt: number | undefined;
  received: Buffer;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

/** The length of the first complete response in `data` and whether it was a 200, or undefined if incomplete. */
function completeResponse(data: Buffer): { length: number; ok: boolean } | undefined {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const head = data.subarray(0, headerEnd).toString('latin1');
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (!match) throw new Error(`paced load: a response without content-length: ${head.split('\r\n')[0]}`);
  const length = headerEnd + 4 + Number(match[1]);
  if (data.length < length) return undefined;
  return { length, ok: head.startsWith('HTTP/1.1 200') };
}

export async function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadFigures> {
  const request = Buffer.concat([
    Buffer.from(
      `POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(options.body)}\r\n\r\n`,
      'latin1',
    ),
    Buffer.from(options.body, 'utf8'),
  ]);
  const latencies: number[] = [];
  const sendLateness: number[] = [];
  let errors = 0;
  const idle: Connection[] = [];
  const connections = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Connection>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port: options.port, rejectUnauthorized: false }, () =>
            resolve(conn),
          );
          const conn: Connection = { socket, dueAt: undefined, received: Buffer.alloc(0) };
          socket.once('error', reject);
          socket.on('data', (chunk: Buffer) => {
            conn.received = conn.received.length === 0 ? chunk : Buffer.concat([conn.received, chunk]);
            const response = completeResponse(conn.received);
            if (response === undefined) return;
            conn.received = conn.received.subarray(response.length);
            if (conn.dueAt !== undefined) latencies.push(performance.now() - conn.dueAt);
            if (!response.ok) errors++;
            conn.dueAt = undefined;
            idle.push(conn);
            sendDue();
          });
        }),
    ),
  );
  idle.push(...connections);

  const intervalMs = 1000 / options.rate;
  const total = Math.round(options.rate * options.durationS);
  const start = performance.now();
  let next = 0;
  function sendDue(): void {
    const now = performance.now();
    while (next < total && idle.length > 0 && start + next * intervalMs <= now) {
      const conn = idle.pop() as Connection;
      conn.dueAt = start + next * intervalMs;
      sendLateness.push(now - conn.dueAt);
      next++;
      conn.socket.write(request);
    }
  }
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      sendDue();
      if (next >= total && idle.length === connections.length) resolve();
      else if (options.spin) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    tick();
  });
  for (const conn of connections) conn.socket.destroy();
  latencies.sort((a, b) => a - b);
  sendLateness.sort((a, b) => a - b);
  return {
    sent: total,
    errors,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    sendLateP99: percentile(sendLateness, 99),
  };
}
