import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crossFieldProblems } from '../../../../binder/config/validate.js';
import { loadBinderConfig, readPodNamespace, type LoadBinderConfigInput } from '../../../../cli/binder-config.js';
import type { BinderConfig } from '../../../../binder/config/types.js';

const golden = JSON.parse(readFileSync(new URL('./binder-defaults.golden.json', import.meta.url), 'utf8'));
const REQUIRED_FLAGS = { 'cluster-id': 'c-demo', region: 'cn-hangzhou', vpc: 'vpc-abc123' };

function load(input: Partial<LoadBinderConfigInput>) {
  return loadBinderConfig({ flags: {}, env: {}, ...input });
}

function loaded(input: Partial<LoadBinderConfigInput>): BinderConfig {
  const r = load(input);
  if (!r.ok) throw new Error(`expected a valid configuration:\n${r.problems.join('\n')}`);
  return r.config;
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-binder-config-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('binder configuration', () => {
  it('fills every default (golden)', () => {
    expect(load({ flags: REQUIRED_FLAGS })).toEqual({ ok: true, config: golden });
  });

  it('keeps the Lease in the pod’s own namespace when it runs in one', () => {
    expect(loaded({ flags: REQUIRED_FLAGS, podNamespace: 'kube-system' }).leaderElection.namespace).toBe('kube-system');
    const file = tempFile('c.yaml', 'leaderElection: { namespace: ops }\n');
    expect(loaded({ file, flags: REQUIRED_FLAGS, podNamespace: 'kube-system' }).leaderElection.namespace).toBe('ops');
  });

  it('reads the pod’s namespace file, and nothing when it is absent', () => {
    expect(readPodNamespace(tempFile('namespace', 'podeip-system\n'))).toBe('podeip-system');
    expect(readPodNamespace('/nonexistent/namespace')).toBeUndefined();
  });

  it('takes flags over environment over file', () => {
    const file = tempFile(
      'c.yaml',
      [
        'clusterId: from-file',
        'workers: 2',
        'namespaces: [a, b]',
        'cloud: { regionId: cn-beijing, vpcId: vpc-file, protocol: http }',
      ].join('\n'),
    );
    const config = loaded({
      file,
      env: {
        PODEIP_CLUSTER_ID: 'from-env',
        PODEIP_WORKERS: '6',
        PODEIP_NAMESPACES: 'x, y',
        ALIBABA_CLOUD_REGION_ID: 'cn-shanghai',
      },
      flags: { workers: '8', 'leader-elect': 'false', port: '0' },
    });
    expect(config.clusterId).toBe('from-env');
    expect(config.workers).toBe(8);
    expect(config.namespaces).toEqual(['x', 'y']);
    expect(config.cloud).toMatchObject({ regionId: 'cn-shanghai', vpcId: 'vpc-file', protocol: 'http' });
    expect(config.leaderElection.enabled).toBe(false);
    expect(config.server.port).toBe(0);
    expect(loaded({ file, flags: { namespaces: 'only' }, env: { PODEIP_NAMESPACES: 'x' } }).namespaces).toEqual([
      'only',
    ]);
  });

  it('uses a key file when one is named, by flag, environment or file', () => {
    expect(loaded({ flags: { ...REQUIRED_FLAGS, 'cloud-key-file': '/k/cloud.json' } }).cloud.credentials).toEqual({
      source: 'key-file',
      path: '/k/cloud.json',
    });
    expect(loaded({ flags: REQUIRED_FLAGS, env: { PODEIP_CLOUD_KEY_FILE: '/k/env.json' } }).cloud.credentials).toEqual({
      source: 'key-file',
      path: '/k/env.json',
    });
    const file = tempFile('c.yaml', 'cloud: { credentials: { path: /k/file.json } }\n');
    expect(loaded({ file, flags: REQUIRED_FLAGS }).cloud.credentials).toEqual({
      source: 'key-file',
      path: '/k/file.json',
    });
    // A file that chose the default chain gives way to a key file named on the command line.
    const chain = tempFile('c.yaml', 'cloud: { credentials: { source: default-chain } }\n');
    expect(
      loaded({ file: chain, flags: { ...REQUIRED_FLAGS, 'cloud-key-file': '/k/flag.json' } }).cloud.credentials,
    ).toEqual({ source: 'key-file', path: '/k/flag.json' });
  });

  it('reports every problem at once, each with its path and where the value came from', () => {
    const file = tempFile(
      'c.yaml',
      [
        'resyncSeconds: 1',
        'cloud:',
        '  vpcId: my-vpc',
        '  endpoint: https://vpc.aliyuncs.com',
        '  rateLimitsPerMinute: { AllocateEipAddress: 0, DescribeEverything: 5 }',
        'leaderElection: { leaseDurationSeconds: 10, renewDeadlineSeconds: 12, retryPeriodSeconds: 11 }',
        'unknownThing: 1',
      ].join('\n'),
    );
    const r = load({
      file,
      flags: { region: 'Hangzhou', workers: 'many', namespaces: 'default,Not_A_Namespace', 'log-level': 'loud' },
      env: { PODEIP_PORT: '70000' },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.sort()).toEqual(
      [
        'clusterId: is required',
        'unknownThing: is not a known setting',
        'resyncSeconds: must be >= 10',
        'workers: must be integer (from --workers)',
        'cloud.regionId: must be a region id such as cn-hangzhou or ap-southeast-1 (from --region)',
        'cloud.vpcId: must be a VPC id such as vpc-bp1abc…',
        'cloud.endpoint: must be host[:port] without a scheme, e.g. vpc.cn-hangzhou.aliyuncs.com',
        'cloud.rateLimitsPerMinute.AllocateEipAddress: must be >= 1',
        'cloud.rateLimitsPerMinute.DescribeEverything: is not a known setting',
        'server.port: must be <= 65535 (from environment PODEIP_PORT)',
        'log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (from --log-level)',
        'namespaces[1]: must be a DNS label: lower-case letters, digits and dashes, at most 63 (from --namespaces)',
        'leaderElection.renewDeadlineSeconds: must be less than leaderElection.leaseDurationSeconds (10), is 12',
        'leaderElection.retryPeriodSeconds: must be less than leaderElection.renewDeadlineSeconds ÷ 1.2 (10), is 11',
      ].sort(),
    );
  });

  it('checks settings against each other', () => {
    const base = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };
    const leaderElection = { enabled: true, namespace: 'podeip-system', leaseName: 'podeip-binder', ...base };
    const keyFile = { source: 'key-file' as const, path: '/k' };
    expect(crossFieldProblems({ leaderElection, cloud: { credentials: keyFile } })).toEqual([]);
    expect(
      crossFieldProblems({
        leaderElection: { ...leaderElection, renewDeadlineSeconds: 15 },
        cloud: { credentials: keyFile },
      }),
    ).toEqual([
      'leaderElection.renewDeadlineSeconds: must be less than leaderElection.leaseDurationSeconds (15), is 15',
    ]);
    // client-go's jitter: a retry period of 9 s could land a renewal after a 10 s deadline.
    expect(
      crossFieldProblems({
        leaderElection: { ...leaderElection, retryPeriodSeconds: 9 },
        cloud: { credentials: keyFile },
      }),
    ).toEqual([
      'leaderElection.retryPeriodSeconds: must be less than leaderElection.renewDeadlineSeconds ÷ 1.2 (8.33), is 9',
    ]);
    // A bad value beside a broken pair does not hide it.
    const file = tempFile(
      'c.yaml',
      'leaderElection: { enabled: maybe, leaseName: Bad_Name, renewDeadlineSeconds: 20 }\n',
    );
    expect(load({ file, flags: REQUIRED_FLAGS })).toEqual({
      ok: false,
      problems: [
        'leaderElection.enabled: must be boolean',
        'leaderElection.leaseName: must be a DNS subdomain: lower-case letters, digits, dashes and dots, at most 253',
        'leaderElection.renewDeadlineSeconds: must be less than leaderElection.leaseDurationSeconds (15), is 20',
      ],
    });
    const r = load({ flags: { ...REQUIRED_FLAGS, 'cloud-credentials': 'default-chain', 'cloud-key-file': '/k' } });
    expect(r).toEqual({
      ok: false,
      problems: [
        'cloud.credentials.path: is only read with source key-file; remove it or set cloud.credentials.source to key-file',
      ],
    });
    const missing = load({ flags: { ...REQUIRED_FLAGS, 'cloud-credentials': 'key-file' } });
    expect(missing).toEqual({
      ok: false,
      problems: ['cloud.credentials.path: is required with source key-file (--cloud-key-file)'],
    });
  });

  it('says which file it could not read', () => {
    expect(load({ file: '/nonexistent/binder.yaml', flags: REQUIRED_FLAGS })).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^\/nonexistent\/binder\.yaml: cannot read the config file: ENOENT/)],
    });
  });
});
