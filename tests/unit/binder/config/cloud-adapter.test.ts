/**
 * The configured adapter over the real SDKs against the cloud stand-in: a rotated key file is used for
 * the next call, without a restart. The new key here may not describe EIPs, so its refusal proves the swap;
 * and the call after the rotation still waits for the token the one before it took, so a rotation never
 * lets an extra burst through.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { CloudMetrics } from '../../../../binder/cloud/cloud-metrics.js';
import { createConfiguredCloud } from '../../../../binder/config/cloud-adapter.js';
import { credentialsSourceFor, type CredentialsSource } from '../../../../binder/config/credentials.js';
import { startCloudSandbox, type CloudSandbox } from '../../../../sandbox/cloud/index.js';

let cloud: CloudSandbox;
let source: CredentialsSource;
let keyDir: string | undefined;

beforeAll(async () => {
  cloud = await startCloudSandbox({});
});

afterAll(async () => {
  source?.close();
  await cloud?.close();
  if (keyDir !== undefined) rmSync(keyDir, { recursive: true, force: true });
});

it('signs with the rotated key file from the next call on', async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'podeip-rotate-'));
  const path = join(keyDir, 'cloud.json');
  writeFileSync(path, JSON.stringify({ accessKeyId: cloud.accessKeyId, accessKeySecret: cloud.accessKeySecret }));
  const logger = pino({ enabled: false });
  source = credentialsSourceFor({ source: 'key-file', path }, { logger, pollMs: 50 });
  const waits: number[] = [];
  const metrics: CloudMetrics = {
    callDone: () => undefined,
    bucketWait: (api, seconds) => void (api === 'DescribeEipAddresses' && waits.push(seconds)),
  };
  const eips = createConfiguredCloud(
    {
      regionId: cloud.regionId,
      vpcId: cloud.vpcId,
      endpoint: cloud.endpoint,
      protocol: 'http',
      credentials: { source: 'key-file', path },
      readTimeoutMs: 2000,
      connectTimeoutMs: 1000,
      // One describe per 2 s window.
      rateLimitsPerMinute: { DescribeEipAddresses: 1 },
      rateLimitWindowSeconds: 2,
    },
    { credentials: source, logger, metrics },
  );
  cloud.controls.createEip({ allocationId: 'eip-rotation01' });
  expect((await eips.describeEips({ allocationIds: ['eip-rotation01'] })).map((e) => e.allocationId)).toEqual([
    'eip-rotation01',
  ]);

  const rotated = cloud.controls.addAccessKey({ deniedActions: ['DescribeEipAddresses'] });
  writeFileSync(
    `${path}.new`,
    JSON.stringify({ accessKeyId: rotated.accessKeyId, accessKeySecret: rotated.accessKeySecret }),
  );
  renameSync(`${path}.new`, path);
  const swapped = (): boolean => (source.current() as { accessKeyId?: string }).accessKeyId === rotated.accessKeyId;
  const deadline = Date.now() + 5000;
  while (!swapped() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(swapped()).toBe(true);
  await expect(eips.describeEips({ allocationIds: ['eip-rotation01'] })).rejects.toMatchObject({ kind: 'permission' });
  // The first describe took the window's token; a fresh adapter would have had a full bucket.
  expect(waits).toHaveLength(2);
  expect(waits[0]).toBe(0);
  expect(waits[1]).toBeGreaterThan(0.5);
});
