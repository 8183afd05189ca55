/**
 * `podeip drain` as an admin runs it before uninstalling, built and in its own process, against a cluster
 * where a binder has bound an auto EIP (Follow), a kept one (Never) and a static one: refused while the
 * binder holds the Lease; once it is stopped, every EIP is unbound, the ones podeip allocated released, the
 * static one kept, every finalizer removed; a second run finds nothing to do.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { EIP_CONDITION_TYPE, PODEIP_FINALIZER } from '../../../api/constants.js';
import {
  CLUSTER_ID,
  binderConfig,
  conditionOf,
  eipsOfCluster,
  podBody,
  startSyncedBinder,
  startWorld,
  storedPod,
  storedPodEip,
  storedPodEips,
  waitFor,
  type TestBinder,
  type World,
} from '../binder/controller/support.js';

const cli = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));
const NS = 'default';
const STATIC = 'eip-drainstatic1';
let world: World;
let binder: TestBinder;
let dir: string;
let configFile: string;
let kubeconfig: string;

function drain(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'drain', '--config', configFile, '--kubeconfig', kubeconfig],
      { env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "make build" first (make test does)`);
  world = await startWorld();
  world.sandbox.cloud.controls.createEip({ allocationId: STATIC, name: 'static, not podeip’s' });
  const leaderElection = { ...binderConfig(world).leaderElection, enabled: true };
  binder = await startSyncedBinder(world, { config: { leaderElection } });
  dir = mkdtempSync(join(tmpdir(), 'podeip-drain-'));
  const files = world.sandbox.writeFiles(dir);
  kubeconfig = files.kubeconfig;
  const config = binderConfig(world, { leaderElection });
  configFile = join(dir, 'binder.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ...config,
      cloud: { ...config.cloud, credentials: { source: 'key-file', path: files.cloudJson } },
    }),
  );
  const asks = {
    'drain-auto': { 'k8s.aliyun.com/pod-with-eip': 'true' },
    'drain-never': { 'k8s.aliyun.com/pod-with-eip': 'true', 'k8s.aliyun.com/pod-eip-release-strategy': 'Never' },
    'drain-static': { 'k8s.aliyun.com/pod-eip-instanceid': STATIC },
  };
  for (const [name, annotations] of Object.entries(asks))
    await world.core.createNamespacedPod({ namespace: NS, body: podBody(name, annotations) });
  await waitFor(
    'three pods bound',
    () =>
      Object.keys(asks).every((name) => conditionOf(storedPod(world, NS, name), EIP_CONDITION_TYPE)?.status === 'True'),
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await binder?.stop();
  await world?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('podeip drain', () => {
  it('refuses while a binder holds the Lease, saying how to stop it', async () => {
    const refused = await drain();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^podeip drain: a binder holds the Lease default\/podeip-binder \(.+\) and would bind again/,
    );
    expect(refused.stderr).toContain('scale deployment/podeip-binder --replicas=0');
    expect(eipsOfCluster(world)).toHaveLength(2);
  });

  it('with the binder stopped, unbinds and releases what podeip allocated, keeps the static EIP, removes the finalizers', async () => {
    await binder.stop();
    const controls = world.sandbox.cloud.controls;
    // A PodEIP ACK's own EIP controller keeps (same kind and finalizer, none of podeip's marks): not drain's.
    const theirs = controls.createEip({ name: 'ACK’s' });
    await world.kubeConfig.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      group: 'alibabacloud.com',
      version: 'v1beta1',
      namespace: NS,
      plural: 'podeips',
      body: {
        apiVersion: 'alibabacloud.com/v1beta1',
        kind: 'PodEIP',
        metadata: { name: 'ack-managed', finalizers: [PODEIP_FINALIZER] },
        spec: { allocationID: theirs.allocationId, allocationType: { type: 'Static', releaseStrategy: 'Follow' } },
      },
    });
    const ran = await drain();
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const lines = ran.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('unbound  '))).toHaveLength(3);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^unbound  ${STATIC} .* \\(static, kept\\)$`)));
    expect(lines.filter((l) => l.startsWith('released '))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('finalizer removed from PodEIP default/drain-'))).toHaveLength(3);
    expect(lines.pop()).toBe('drain done: 2 released, 3 unbound, 0 PrePaid kept, 3 finalizers removed');

    await waitFor('no EIP of the cluster left', () => eipsOfCluster(world).length === 0);
    expect(controls.eips().find((e) => e.allocationId === STATIC)).toMatchObject({
      status: 'Available',
      instanceId: '',
    });
    for (const record of storedPodEips(world, NS).filter((r) => r.metadata.name !== 'ack-managed'))
      expect(record.metadata.finalizers ?? []).toEqual([]);
    expect(storedPodEip(world, NS, 'ack-managed')?.metadata.finalizers).toEqual([PODEIP_FINALIZER]);

    const again = await drain();
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe(`drain done: nothing of cluster ${CLUSTER_ID} left to undo\n`);
  });
});
