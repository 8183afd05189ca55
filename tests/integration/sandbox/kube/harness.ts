/**
 * The real clients against a running stand-in: kubectl (its own kubeconfig and cache directory per
 * sandbox, so discovery caches never leak between tests), raw HTTPS for wire-level checks, and a
 * client-node KubeConfig.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startKubeSandbox, type KubeSandbox, type KubeSandboxOptions } from '../../../../sandbox/kube/sandbox.js';
import { watchedLines } from '../../watched-lines.js';

export const KUBECTL = '/usr/bin/kubectl';
export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlWatch {
  lines: string[];
  /** Resolves with the first output line (from the start) that satisfies `predicate`. */
  waitFor(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export interface Harness {
  sandbox: KubeSandbox;
  dir: string;
  kubectl(args: string[], options?: { input?: string }): Promise<CommandResult>;
  /** `kubectl get … -w` (or any long-running kubectl) whose output lines are collected. */
  kubectlStream(args: string[]): KubectlWatch;
  /** Writes a manifest into the harness directory and returns its path. */
  manifest(name: string, content: string): Promise<string>;
  raw(
    method: string,
    path: string,
    options?: {
      body?: string;
      contentType?: string;
      accept?: string;
      token?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<RawResponse>;
  kubeConfig(): k8s.KubeConfig;
  close(): Promise<void>;
}

export async function startHarness(options: KubeSandboxOptions = {}): Promise<Harness> {
  const sandbox = await startKubeSandbox(options);
  const dir = await mkdtemp(join(tmpdir(), 'kube-sandbox-'));
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfigPath, sandbox.kubeconfig());
  const baseArgs = ['--kubeconfig', kubeconfigPath, '--cache-dir', join(dir, 'cache')];
  const children = new Set<ChildProcess>();

  const kubectl = (args: string[], runOptions: { input?: string } = {}): Promise<CommandResult> =>
    new Promise((resolve) => {
      const child = execFile(KUBECTL, [...baseArgs, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
        const code =
          error === null
            ? 0
            : typeof (error as { code?: unknown }).code === 'number'
              ? (error as { code: number }).code
              : 1;
        resolve({ code, stdout, stderr });
      });
      if (runOptions.input !== undefined) child.stdin?.end(runOptions.input);
      else child.stdin?.end();
    });

  const kubectlStream = (args: string[]): KubectlWatch => {
    const child = spawn(KUBECTL, [...baseArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const { lines, add, waitFor } = watchedLines<string>('line', (line) => line);
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      add(...parts.filter((l) => l.trim() !== ''));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      lines,
      waitFor,
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
        children.delete(child);
      },
    };
  };

  const raw: Harness['raw'] = (method, path, rawOptions = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(rawOptions.headers ?? {}) };
      if (rawOptions.token !== null) headers.Authorization = `Bearer ${rawOptions.token ?? sandbox.token}`;
      if (rawOptions.contentType !== undefined) headers['Content-Type'] = rawOptions.contentType;
      if (rawOptions.accept !== undefined) headers.Accept = rawOptions.accept;
      // Node sends DELETE bodies neither chunked nor sized unless told the length.
      if (rawOptions.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(rawOptions.body));
      const req = request(`${sandbox.url}${path}`, { method, headers, ca: sandbox.caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(rawOptions.body);
    });

  return {
    sandbox,
    dir,
    kubectl,
    kubectlStream,
    manifest: async (name, content) => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    raw,
    kubeConfig: () => {
      const kc = new k8s.KubeConfig();
      kc.loadFromString(sandbox.kubeconfig());
      return kc;
    },
    close: async () => {
      for (const child of children) child.kill('SIGKILL');
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { eventually } from '../../poll.js';

/** Reads a raw watch stream: the events it sends until it closes or `count` arrive. */
export function readWatch(
  sandbox: KubeSandbox,
  path: string,
  options: { count?: number; timeoutMs?: number } = {},
): Promise<{ status: number; events: Array<{ type: string; object: Record<string, unknown> }>; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const events: Array<{ type: string; object: Record<string, unknown> }> = [];
    let buffered = '';
    const req = request(
      `${sandbox.url}${path}`,
      { headers: { Authorization: `Bearer ${sandbox.token}` }, ca: sandbox.caPem },
      (res) => {
        const timer = setTimeout(() => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, events, closed: false });
        }, options.timeoutMs ?? 2000);
        res.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines)
            if (line.trim() !== '') events.push(JSON.parse(line) as { type: string; object: Record<string, unknown> });
          if (options.count !== undefined && events.length >= options.count) {
            clearTimeout(timer);
            req.destroy();
            resolve({ status: res.statusCode ?? 0, events, closed: false });
          }
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, events, closed: true });
        });
      },
    );
    req.on('error', (error) => {
      if (events.length > 0 || options.count !== undefined) return;
      reject(error);
    });
    req.end();
  });
}

export function podManifest(
  name: string,
  extra: { labels?: Record<string, string>; nodeName?: string; readinessGates?: string[]; finalizers?: string[] } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(extra.labels === undefined ? {} : { labels: extra.labels }),
      ...(extra.finalizers === undefined ? {} : { finalizers: extra.finalizers }),
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
      ...(extra.nodeName === undefined ? {} : { nodeName: extra.nodeName }),
      ...(extra.readinessGates === undefined
        ? {}
        : { readinessGates: extra.readinessGates.map((conditionType) => ({ conditionType })) }),
    },
  };
}
