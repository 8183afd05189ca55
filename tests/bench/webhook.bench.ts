/**
 * `make bench` (webhook part): throughput and latency of POST /mutate-v1-pod over HTTPS keep-alive, for a
 * pod that asks for an EIP and one that does not, beside a bare Fastify HTTPS route answering JSON of the
 * same size, measured in the same run on the same machine, and beside that route answering in turn batches
 * as the webhook does (inTurnBatches), which tells the webhook's own work from what batching saves any
 * route. Then p50/p99 at half of the webhook's maximum rate, requests evenly spaced (paced-load.ts), for
 * the webhook and for the bare route at that same rate, with how late the load generator sent them.
 * The webhook runs with its default settings, as users run it: log level info, so every patched pod writes
 * its audit line. Its standard output is a pipe, as a container runtime gives it, drained into a file by
 * `cat` on the load generator's core, as the runtime's log writer would; the number of lines in the file is
 * printed as proof they were written.
 *
 * Then a 3 MiB review (an EIP pod at the API server's size limit), one at a time. Last, the same
 * admissions paced at half the maximum rate, alone and beside 50 clients that trickle their bodies
 * (BENCH_SLOW_CLIENTS), with the webhook's RSS before, meanwhile, and after its request timeout has cut
 * them off.
 *
 * On a machine with two cores or more (and taskset), the servers run on core 0 and the load generator on
 * core 1, so neither steals the other's time and the figure is one core's worth of server. The throughput
 * ratio is the median of per-round ratios (each round runs bare then webhook back to back), which cancels
 * most of the drift a shared host shows from one second to the next; the servers' CPU time per request is
 * printed beside it, from /proc, as a second opinion that does not depend on wall time.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { Writable } from 'node:stream';
import { Agent, request } from 'node:https';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { generateCa, generateServingCert } from '../../certs/generate.js';
import { pacedLoad } from './paced-load.js';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
/** Runs alternate between the baseline and podeip, and the median is reported, so a burst of other load on
 * the machine lands on both sides instead of skewing one. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Servers on core 0, load on core 1; BENCH_PIN=0 turns it off. */
const PIN =
  process.env.BENCH_PIN !== '0' &&
  availableParallelism() >= 2 &&
  ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The server's CPU time (all its threads) per answered request, when /proc tells it. */
  cpuMicros?: number;
  /** Paced runs only: how late the load generator wrote its requests, p99 (see paced-load.ts). */
  sendLateP99?: number;
}

interface Server {
  child: ChildProcess;
  port: number;
}

function pin(pid: number, core: number): void {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

/** Starts serve.js; the server's stdout (its log lines) goes to `stdout`, the writing end of a pipe, when given. */
function startServer(args: string[], stdout: Writable | 'ignore' = 'ignore'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = fork(join(here, 'serve.js'), args, { stdio: ['ignore', stdout, 'inherit', 'ipc'] });
    child.once('message', (m: { port: number }) => {
      pin(child.pid as number, 0);
      resolve({ child, port: m.port });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** User plus system CPU seconds of a process so far, from /proc; undefined where there is no /proc. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process, in MB, from /proc; NaN where there is none. */
function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

const SLOW_CLIENTS = Number(process.env.BENCH_SLOW_CLIENTS ?? 50);

/**
 * `count` clients that each open TLS, send a review's headers announcing a 7 MB body, then trickle 1 kB
 * every 100 ms and never finish. Resolves once all are connected; `closed` once the server has cut them
 * all, with how many were answered 408.
 */
async function slowClients(port: number, count: number): Promise<{ closed: Promise<number>; cut(): void }> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<TLSSocket>((resolve, reject) => {
          const socket = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const chunk = ' '.repeat(1024);
  const answers = sockets.map((socket) => {
    socket.removeAllListeners('error');
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    socket.write(
      'POST /mutate-v1-pod HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 7000000\r\n\r\n{',
    );
    const drip = setInterval(() => socket.writable && socket.write(chunk), 100);
    return new Promise<boolean>((resolve) =>
      socket.once('close', () => {
        clearInterval(drip);
        resolve(received.startsWith('HTTP/1.1 408'));
      }),
    );
  });
  return {
    closed: Promise.all(answers).then((cut) => cut.filter(Boolean).length),
    cut: () => sockets.forEach((socket) => socket.destroy()),
  };
}

/**
 * A pod as large as the API server takes (3 MiB: an EIP pod with a large last-applied-configuration), one
 * review at a time over a kept-alive connection: the median and the slowest of 20, after 3 to warm up.
 */
async function largestPod(webhook: Server): Promise<string> {
  const fixture = JSON.parse(review(true));
  const annotations = fixture.request.object.metadata.annotations as Record<string, string>;
  const size = Buffer.byteLength(JSON.stringify(fixture));
  annotations['kubectl.kubernetes.io/last-applied-configuration'] = 'x'.repeat(3 * 1024 * 1024 - size - 100);
  const body = JSON.stringify(fixture);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < 23; i += 1) {
      const started = performance.now();
      const answer = await postOnce(webhook.port, body, agent);
      if (!answer.includes('"patch"')) throw new Error('the 3 MiB pod was not patched');
      if (i >= 3) times.push(performance.now() - started);
    }
  } finally {
    agent.destroy();
  }
  return (
    `a ${(Buffer.byteLength(body) / 2 ** 20).toFixed(2)} MiB review (an EIP pod at the API server's size limit), ` +
    `one at a time: median ${median(times).toFixed(1)} ms, slowest ${Math.max(...times).toFixed(1)} ms of 20 (aim < 100 ms)`
  );
}

/**
 * Normal admissions at a fixed rate, alone and then beside SLOW_CLIENTS clients trickling their bodies;
 * the webhook's RSS before, meanwhile, and once its request timeout has cut them off.
 */
async function underSlowClients(webhook: Server, body: string, rate: number): Promise<string[]> {
  const pid = webhook.child.pid as number;
  const before = await paced(webhook, body, rate);
  const rssBefore = rssMb(pid);
  const started = performance.now();
  const slow = await slowClients(webhook.port, SLOW_CLIENTS);
  const during = await paced(webhook, body, rate);
  const rssDuring = rssMb(pid);
  const timedOut = await slow.closed;
  const cutAfterS = (performance.now() - started) / 1000;
  // The memory a connection held goes back once V8 next collects; normal traffic makes it collect.
  await paced(webhook, body, rate);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rssAfter = rssMb(pid);
  return [
    `slow clients: ${SLOW_CLIENTS} connections trickling 1 kB every 100 ms into a 7 MB body, beside normal admissions paced at ${rate} req/s:`,
    `  p50/p99 ${before.p50}/${before.p99} ms alone, ${during.p50}/${during.p99} ms beside them (errors ${before.errors}, ${during.errors}; ` +
      `sent late by ${before.sendLateP99} and ${during.sendLateP99} ms at p99)`,
    `  the request timeout (default 10 s) cut all ${SLOW_CLIENTS} after ${cutAfterS.toFixed(1)} s, ${timedOut} of them answered 408`,
    `  webhook RSS ${rssBefore.toFixed(0)} MB before, ${rssDuring.toFixed(0)} MB beside them, ${rssAfter.toFixed(0)} MB once they were cut off`,
  ];
}

function postOnce(port: number, body: string, agent?: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate-v1-pod',
        method: 'POST',
        rejectUnauthorized: false,
        ...(agent === undefined ? {} : { agent }),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(server: Server, body: string, overallRate?: number): Promise<Figures> {
  const cpuBefore = cpuSeconds(server.child.pid as number);
  const result = await autocannon({
    url: `https://127.0.0.1:${server.port}/mutate-v1-pod`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: DURATION_S,
    ...(overallRate === undefined ? {} : { overallRate }),
  });
  const cpuAfter = cpuSeconds(server.child.pid as number);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    ...(cpuBefore === undefined || cpuAfter === undefined || result.requests.total === 0
      ? {}
      : { cpuMicros: ((cpuAfter - cpuBefore) * 1e6) / result.requests.total }),
  };
}

/** Latency at a fixed rate, requests evenly spaced (see paced-load.ts for why not autocannon's rate). */
async function paced(server: Server, body: string, rate: number): Promise<Figures> {
  const cpuBefore = cpuSeconds(server.child.pid as number);
  const result = await pacedLoad({
    port: server.port,
    path: '/mutate-v1-pod',
    body,
    rate,
    durationS: DURATION_S,
    connections: CONNECTIONS,
    // Spinning needs a core the server does not use.
    spin: PIN,
  });
  const cpuAfter = cpuSeconds(server.child.pid as number);
  return {
    rps: result.sent / DURATION_S,
    p50: Number(result.p50.toFixed(2)),
    p99: Number(result.p99.toFixed(2)),
    errors: result.errors,
    sendLateP99: Number(result.sendLateP99.toFixed(2)),
    ...(cpuBefore === undefined || cpuAfter === undefined
      ? {}
      : { cpuMicros: ((cpuAfter - cpuBefore) * 1e6) / result.sent }),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function medianFigures(runs: Figures[]): Figures {
  const cpu = runs.flatMap((r) => (r.cpuMicros === undefined ? [] : [r.cpuMicros]));
  const late = runs.flatMap((r) => (r.sendLateP99 === undefined ? [] : [r.sendLateP99]));
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    ...(cpu.length === runs.length ? { cpuMicros: median(cpu) } : {}),
    ...(late.length === runs.length ? { sendLateP99: median(late) } : {}),
  };
}

function review(annotated: boolean): string {
  const fixture = JSON.parse(
    readFileSync(join(here, '..', '..', '..', 'tests', 'fixtures', 'admission', 'deployment-pod-auto.json'), 'utf8'),
  );
  if (!annotated) fixture.request.object.metadata.annotations = {};
  return JSON.stringify(fixture);
}

async function main(): Promise<void> {
  pin(process.pid, 1);
  const dir = mkdtempSync(join(tmpdir(), 'podeip-bench-'));
  const children: ChildProcess[] = [];
  try {
    const ca = generateCa({ commonName: 'bench CA', validityDays: 1 });
    const cert = generateServingCert({
      ca,
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
    });
    // The serving pair in a folder of its own, as a mounted Secret is: the webhook watches the folder its
    // certificate is in, and the log file and canned answers written beside it would wake that watch.
    const tlsDir = join(dir, 'tls');
    mkdirSync(tlsDir);
    const certFile = join(tlsDir, 'tls.crt');
    const keyFile = join(tlsDir, 'tls.key');
    writeFileSync(certFile, cert.certPem);
    writeFileSync(keyFile, cert.keyPem);
    const logFile = join(dir, 'webhook.log');
    const logFd = openSync(logFile, 'w');
    const logWriter = spawn('cat', [], { stdio: ['pipe', logFd, 'inherit'] });
    closeSync(logFd);
    pin(logWriter.pid as number, 1);
    const logWritten = new Promise((resolve) => logWriter.once('exit', resolve));
    const logInput = logWriter.stdin as Writable; // 'pipe' above: never null
    const webhook = await startServer(['webhook', certFile, keyFile], logInput);
    // The webhook holds the pipe's writing end now; `cat` sees its end when the webhook exits.
    logInput.destroy();
    children.push(webhook.child, logWriter);

    const rows: Array<[string, Figures]> = [];
    const ratios: string[] = [];
    /** Half the webhook's annotated maximum: the rate the slow-client figures are taken at. */
    let annotatedHalfRate = 100;
    for (const annotated of [true, false]) {
      const body = review(annotated);
      const answer = await postOnce(webhook.port, body);
      writeFileSync(join(dir, 'canned.json'), answer);
      const bare = await startServer(['bare', certFile, keyFile, join(dir, 'canned.json')]);
      const batched = await startServer(['bare-batched', certFile, keyFile, join(dir, 'canned.json')]);
      children.push(bare.child, batched.child);
      const what = annotated ? 'annotated pod' : 'unannotated pod';
      await load(webhook, body); // warm-up: JIT and TLS sessions, not reported
      await load(bare, body);
      await load(batched, body);
      const bareRuns: Figures[] = [];
      const batchedRuns: Figures[] = [];
      const hookRuns: Figures[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        bareRuns.push(await load(bare, body));
        batchedRuns.push(await load(batched, body));
        hookRuns.push(await load(webhook, body));
      }
      const bareFigures = medianFigures(bareRuns);
      const hookFigures = medianFigures(hookRuns);
      const roundRatio = median(hookRuns.map((run, i) => run.rps / (bareRuns[i] as Figures).rps));
      const halfRate = Math.max(1, Math.floor(hookFigures.rps / 2));
      if (annotated) annotatedHalfRate = halfRate;
      const halfRuns: Figures[] = [];
      const bareHalfRuns: Figures[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        bareHalfRuns.push(await paced(bare, body, halfRate));
        halfRuns.push(await paced(webhook, body, halfRate));
      }
      const atHalf = medianFigures(halfRuns);
      const bareAtHalf = medianFigures(bareHalfRuns);
      bare.child.kill();
      batched.child.kill();
      rows.push([`bare fastify, ${what} (${answer.length} B answer)`, bareFigures]);
      rows.push([`bare fastify answering in turn batches, as the webhook does, ${what}`, medianFigures(batchedRuns)]);
      rows.push([`podeip webhook, ${what}`, hookFigures]);
      rows.push([`bare fastify, ${what}, paced at ${halfRate} req/s (webhook's half max)`, bareAtHalf]);
      rows.push([`podeip webhook, ${what}, paced at ${halfRate} req/s (half max)`, atHalf]);
      const cpuRatio =
        hookFigures.cpuMicros !== undefined && bareFigures.cpuMicros !== undefined
          ? `; CPU per request bare/webhook = ${(bareFigures.cpuMicros / hookFigures.cpuMicros).toFixed(2)}`
          : '';
      const ownRatio = median(hookRuns.map((run, i) => run.rps / (batchedRuns[i] as Figures).rps));
      ratios.push(
        `${what}: throughput ratio webhook/bare = ${roundRatio.toFixed(2)} (median of per-round ratios; aim >= 0.80)${cpuRatio}; ` +
          `p99 at half max = ${atHalf.p99} ms (aim < 5 ms; bare route at that rate ${bareAtHalf.p99} ms; ` +
          `requests sent late by ${atHalf.sendLateP99} and ${bareAtHalf.sendLateP99} ms at p99); per-round ratios ${hookRuns.map((run, i) => (run.rps / (bareRuns[i] as Figures).rps).toFixed(2)).join(' ')}`,
        `  against the bare route batched the same way (the webhook's own work, batching's saving set aside): ${ownRatio.toFixed(2)}`,
      );
    }
    const placement = PIN ? 'servers pinned to core 0, load generator to core 1' : 'not pinned';
    console.log(
      `\nwebhook benchmark: HTTPS keep-alive, ${CONNECTIONS} connections, median of ${ROUNDS} alternating runs of ${DURATION_S} s, ${placement}, node ${process.version}`,
    );
    console.log(
      `${'case'.padEnd(72)}${'req/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'errors'.padStart(8)}${'CPU us/req'.padStart(12)}`,
    );
    for (const [name, f] of rows) {
      const cpu = f.cpuMicros === undefined ? '-' : f.cpuMicros.toFixed(1);
      console.log(
        `${name.padEnd(72)}${f.rps.toFixed(0).padStart(10)}${String(f.p50).padStart(9)}${String(f.p99).padStart(9)}${String(f.errors).padStart(8)}${cpu.padStart(12)}`,
      );
    }
    for (const r of ratios) console.log(r);
    console.log(await largestPod(webhook));
    for (const line of await underSlowClients(webhook, review(true), annotatedHalfRate)) console.log(line);
    // The pipe ends when the webhook does; the lines still in its buffer then may be lost, a few out of many.
    webhook.child.kill();
    await logWritten;
    const logged = readFileSync(logFile, 'utf8');
    const lines = logged.split('\n').filter((line) => line.includes('"msg":"pod patched"')).length;
    console.log(
      `webhook log (level info, through a pipe): ${lines} "pod patched" lines, ${(statSync(logFile).size / 1e6).toFixed(1)} MB`,
    );
  } finally {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
