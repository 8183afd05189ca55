/**
 * One probe of a container, as the kubelet makes it: httpGet over the pod's port (HTTPS without verifying
 * the certificate, any status from 200 to 399 a success), tcpSocket and exec from inside the pod's
 * namespaces. The result carries the kubelet's wording, which the Unhealthy Event shows.
 */
import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isRecord } from '../../../../api/is-record.js';
import { jsonList, stringList, type Json } from '../object-facts.js';

export interface ProbeTarget {
  podIp: string;
  /** The host-side socket of a container port, if the pod sandbox exposes it. */
  socketFor(port: number): string | undefined;
  /** The pod sandbox's process, whose network namespace a tcpSocket probe dials from. */
  sandboxPid: number;
  /** The container's process, whose namespaces an exec probe runs in, and its user. */
  containerPid: number | undefined;
  uid: number;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** A named port (`port: https`) is the container's port of that name. */
export function resolvePort(container: Json, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const named = jsonList(container.ports).find((p) => p.name === port);
  return typeof named?.containerPort === 'number' ? named.containerPort : undefined;
}

function timeoutMsOf(probe: Json): number {
  return (typeof probe.timeoutSeconds === 'number' && probe.timeoutSeconds > 0 ? probe.timeoutSeconds : 1) * 1000;
}

function httpProbe(probe: Json, action: Json, container: Json, target: ProbeTarget): Promise<ProbeResult> {
  const port = resolvePort(container, action.port);
  const scheme = action.scheme === 'HTTPS' ? 'https' : 'http';
  const path = typeof action.path === 'string' ? action.path : '/';
  const url = `${scheme}://${target.podIp}:${String(port)}${path}`;
  const socketPath = port === undefined ? undefined : target.socketFor(port);
  if (socketPath === undefined)
    return Promise.resolve({ ok: false, message: `Get "${url}": port ${String(action.port)} is not a container port` });
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.31', Accept: '*/*' };
  for (const header of jsonList(action.httpHeaders)) headers[String(header.name)] = String(header.value);
  return new Promise((resolve) => {
    const done = (result: ProbeResult): void => resolve(result);
    const onResponse = (res: IncomingMessage): void => {
      res.resume();
      const status = res.statusCode ?? 0;
      done(
        status >= 200 && status < 400
          ? { ok: true, message: '' }
          : { ok: false, message: `HTTP probe failed with statuscode: ${status}` },
      );
    };
    const options = { socketPath, path, method: 'GET', headers, timeout: timeoutMsOf(probe) };
    const req =
      scheme === 'https'
        ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse)
        : httpRequest(options, onResponse);
    req.on('timeout', () => {
      req.destroy();
      done({
        ok: false,
        message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    });
    // The pod sandbox accepts on the host side and closes at once when nothing listens inside.
    req.on('error', () =>
      done({
        ok: false,
        message: `Get "${url}": dial tcp ${target.podIp}:${String(port)}: connect: connection refused`,
      }),
    );
    req.end();
  });
}

function run(argv: string[], timeoutMs: number): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}`.trim(), timedOut: error?.killed === true });
    });
  });
}

async function tcpProbe(probe: Json, action: Json, container: Json, target: ProbeTarget): Promise<ProbeResult> {
  const port = resolvePort(container, action.port);
  const address = `${target.podIp}:${String(port)}`;
  const script =
    "const s=require('net').connect(+process.argv[2],process.argv[1]);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))";
  const result = await run(
    [
      'nsenter',
      `--net=/proc/${target.sandboxPid}/ns/net`,
      '--',
      process.execPath,
      '-e',
      script,
      target.podIp,
      String(port),
    ],
    timeoutMsOf(probe),
  );
  return result.code === 0
    ? { ok: true, message: '' }
    : { ok: false, message: `dial tcp ${address}: connect: connection refused` };
}

async function execProbe(probe: Json, action: Json, target: ProbeTarget): Promise<ProbeResult> {
  if (target.containerPid === undefined) return { ok: false, message: 'container is not running' };
  const command = stringList(action.command);
  const result = await run(
    [
      'nsenter',
      `--target=${target.containerPid}`,
      '--net',
      '--mount',
      '--',
      'setpriv',
      `--reuid=${target.uid}`,
      `--regid=${target.uid}`,
      '--clear-groups',
      '--',
      ...command,
    ],
    timeoutMsOf(probe),
  );
  if (result.timedOut) return { ok: false, message: `command ${JSON.stringify(command.join(' '))} timed out` };
  return result.code === 0 ? { ok: true, message: '' } : { ok: false, message: result.output };
}

export function runProbe(probe: Json, container: Json, target: ProbeTarget): Promise<ProbeResult> {
  if (isRecord(probe.httpGet)) return httpProbe(probe, probe.httpGet, container, target);
  if (isRecord(probe.tcpSocket)) return tcpProbe(probe, probe.tcpSocket, container, target);
  if (isRecord(probe.exec)) return execProbe(probe, probe.exec, target);
  return Promise.resolve({
    ok: false,
    message: 'probe has no handler the sandbox supports (httpGet, tcpSocket, exec)',
  });
}
