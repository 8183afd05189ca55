/**
 * `podeip demo` as a newcomer runs it, built and in its own process: every example pod ends Ready with an
 * EIP, the refused examples show the webhook's message, and the cleanup leaves no EIP podeip allocated.
 * With --keep it leaves a world to look at, and a binder.json that `podeip binder` loads.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));
const CLEAN_ENV = { PATH: process.env.PATH ?? '' };
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function requireBuild(): void {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "make build" first (make test does)`);
}

/** Rows of the table that follows `heading` in the demo's output. */
function tableAfter(output: string, heading: RegExp): string[][] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => heading.test(line));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('  ') || line.trim() === '') break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

describe('podeip demo', () => {
  it('gets every example pod Ready with its EIP, shows the refusals, and cleans up', () => {
    requireBuild();
    const r = spawnSync(process.execPath, [cli, 'demo'], {
      encoding: 'utf8',
      env: CLEAN_ENV,
      timeout: 90000,
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    });
    expect(r.status).toBe(0);
    // Warnings may be logged on stderr; nothing may fail.
    expect(r.stderr.split('\n').filter((line) => line !== '' && !(JSON.parse(line).level < 50))).toEqual([]);
    const out = r.stdout;

    // podeip itself was installed from deploy/ and runs as the shipped Deployments' pods.
    expect(out).toMatch(/installed {7}deploy\/overlays\/access-key \(\d+ objects\)/);
    expect(out).toContain(
      'the shipped Deployments, 2 webhook and 2 binder pods run as processes by the sandbox kubelet',
    );
    expect(out).toContain('deployment.apps/web-auto-eip created');
    expect(out).toContain('pod/gateway-static-eip created');
    expect(out).toMatch(
      /Error from server \(Forbidden\): error when creating "deploy\/examples\/refused\/pod-bad-annotations\.yaml": pods "typo-eip" is forbidden: admission webhook "[^"]+" denied the request: podeip: .*k8s\.aliyun\.com\/eip-bandwidth="5000"/,
    );
    expect(out).toMatch(
      /error when creating "deploy\/examples\/refused\/pod-host-network-eip\.yaml": pods "host-network-eip" is forbidden: .*hostNetwork/,
    );

    const pods = tableAfter(out, /^All 3 example pods are Ready with their EIPs/);
    expect(pods).toHaveLength(3);
    for (const [pod, ip, eip, address, podEip, ready] of pods) {
      expect({ pod, ip, eip, address, podEip, ready }).toEqual({
        pod: expect.stringMatching(/^default\/(web-auto-eip-|gateway-static-eip)/),
        ip: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
        eip: expect.stringMatching(/^eip-/),
        address: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
        podEip: pod?.includes('gateway') ? 'Static InUse' : 'Auto InUse',
        ready: 'True',
      });
    }
    expect(pods.find(([pod]) => pod === 'default/gateway-static-eip')?.[2]).toBe('eip-demostatic01');

    // Each pod's own story: injected, not Ready while its containers run, then bound and Ready.
    for (const [pod] of pods) {
      const story = out
        .split('\n')
        .filter((line) => line.includes(` ${pod} `))
        .map((line) => line.slice(line.indexOf(pod!) + pod!.length).trim());
      expect(story[0]).toBe(
        'created; the webhook injected the readiness gate k8s.aliyun.com/eip and the init container podeip-wait-eip',
      );
      const ready = story.indexOf('Ready');
      expect(ready).toBeGreaterThan(0);
      const beforeReady = story.slice(1, ready);
      expect(beforeReady).toContain('condition k8s.aliyun.com/eip=True (Associate eip succeed)');
      expect(beforeReady.some((line) => line.startsWith('got IP '))).toBe(true);
      expect(story.some((line) => / associated with eni-\S+ \(InUse\)$/.test(line))).toBe(true);
      expect(beforeReady).toContain('init container podeip-wait-eip saw the address and finished; containers start');
    }

    expect(out.match(/cloud: eip-\S+ released/g)).toHaveLength(2);
    expect(out).toContain('cloud: eip-demostatic01 unbound, Available (kept: podeip never releases a static EIP)');
    const after = tableAfter(out, /^The cloud’s EIPs after the cleanup:/);
    expect(after).toEqual([
      ['eip-demostatic01', expect.any(String), 'Available', '-', expect.any(String), 'not podeip’s'],
    ]);
    expect(out.trim().split('\n').pop()).toBe(
      'cleanup done: every EIP podeip allocated was released; eip-demostatic01 is unbound and kept.',
    );
  }, 100000);

  it('with --in-process, installs from deploy/ but runs both programs in its own process', () => {
    requireBuild();
    const r = spawnSync(process.execPath, [cli, 'demo', '--in-process'], {
      encoding: 'utf8',
      env: CLEAN_ENV,
      timeout: 90000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      'running         podeip in this process (asked for with --in-process), as the ServiceAccounts',
    );
    expect(r.stdout).toMatch(/All 3 example pods are Ready with their EIPs/);
    expect(r.stdout.trim().split('\n').pop()).toBe(
      'cleanup done: every EIP podeip allocated was released; eip-demostatic01 is unbound and kept.',
    );
  }, 100000);

  it('with --keep, leaves the world running with its files until interrupted, then cleans up', async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'podeip-demo-keep-'));
    dirs.push(dir);
    const demo = spawn(process.execPath, [cli, 'demo', '--keep', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: CLEAN_ENV,
    });
    let output = '';
    demo.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60000;
      while (!output.includes('demo ready') && demo.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain('demo ready');
      expect(output).toContain(`kubectl --kubeconfig ${join(dir, 'kubeconfig')} get pods,podeips -o wide`);
      for (const file of ['kubeconfig', 'cloud.json', 'binder.json'])
        expect(statSync(join(dir, file)).mode & 0o077).toBe(0);

      const binderJson = JSON.parse(readFileSync(join(dir, 'binder.json'), 'utf8'));
      expect(binderJson.cloud.credentials).toEqual({ source: 'key-file', path: join(dir, 'cloud.json') });
      const check = spawnSync(
        process.execPath,
        [
          cli,
          'binder',
          '--config',
          join(dir, 'binder.json'),
          '--kubeconfig',
          join(dir, 'kubeconfig'),
          '--check-config',
        ],
        { encoding: 'utf8', env: CLEAN_ENV },
      );
      expect({ code: check.status, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
      expect(check.stdout).toMatch(/^configuration is valid\n/);
      expect(JSON.parse(check.stdout.slice(check.stdout.indexOf('{')))).toMatchObject({
        clusterId: 'podeip-demo',
        kubeconfig: join(dir, 'kubeconfig'),
        cloud: { protocol: 'http' },
      });

      const pods = spawnSync(
        'kubectl',
        [
          '--kubeconfig',
          join(dir, 'kubeconfig'),
          `--cache-dir=${join(dir, 'kube-cache')}`,
          'get',
          'pods',
          '-o',
          'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ],
        {
          encoding: 'utf8',
        },
      );
      expect(pods.stdout.trim().split('\n')).toEqual(['True', 'True', 'True']);
      expect(output).not.toContain('cleanup done');

      // What happens from now on is printed as it happens, and the cleanup covers it.
      const readyBefore = output.split('\n').filter((line) => line.endsWith('  Ready')).length;
      const kubectl = (args: string[]) =>
        spawnSync(
          'kubectl',
          ['--kubeconfig', join(dir, 'kubeconfig'), `--cache-dir=${join(dir, 'kube-cache')}`, ...args],
          { encoding: 'utf8' },
        );
      expect(kubectl(['scale', 'deployment', 'web-auto-eip', '--replicas=3']).stdout.trim()).toBe(
        'deployment.apps/web-auto-eip scaled',
      );
      const scaledDeadline = Date.now() + 20000;
      while (
        output.split('\n').filter((line) => line.endsWith('  Ready')).length === readyBefore &&
        Date.now() < scaledDeadline
      )
        await new Promise((r) => setTimeout(r, 100));
      expect(output.split('\n').filter((line) => line.endsWith('  Ready'))).toHaveLength(readyBefore + 1);

      // A pod that is not one of the examples: the demo leaves it, and its last line says its EIP remains.
      const extra = kubectl([
        'run',
        'extra',
        '--image',
        'nginx:1.27',
        '--annotations',
        'k8s.aliyun.com/pod-with-eip=true',
      ]);
      expect(extra.stdout.trim()).toBe('pod/extra created');
      const extraDeadline = Date.now() + 20000;
      while (!/default\/extra +Ready/.test(output) && Date.now() < extraDeadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(output).toMatch(/default\/extra +Ready/);
    } finally {
      demo.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output.match(/cloud: eip-\S+ released/g)).toHaveLength(3);
    expect(output.trim().split('\n').pop()).toMatch(
      /^cleanup of the examples done, but 1 EIP\(s\) podeip allocated for other pods remain: eip-\S+ \(default\/extra\)$/,
    );
  }, 100000);
});
