/**
 * Credentials: an STS triple, and Alibaba's default chain, which fails while nothing is configured
 * and works on the next call once something is. The library's chain stays stuck after one failure
 * (docs/alibaba-cloud-api.md#credentials), which is why the adapter rebuilds it; that is shown here too.
 */
import CredentialsModule from '@alicloud/credentials';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sdkDefaultExport } from '../../../../binder/cloud/sdk-module.js';
import type { CloudSandbox } from '../../../../sandbox/cloud/index.js';
import { cloudError, cloudFor, startFastSandbox } from './support.js';

const CHAIN_VARIABLES = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ALIBABA_CLOUD_SECURITY_TOKEN',
  'ALIBABA_CLOUD_ROLE_ARN',
  'ALIBABA_CLOUD_OIDC_PROVIDER_ARN',
  'ALIBABA_CLOUD_OIDC_TOKEN_FILE',
  'ALIBABA_CLOUD_CREDENTIALS_URI',
  'ALIBABA_CLOUD_CREDENTIALS_FILE',
  'ALIBABA_CLOUD_PROFILE',
  'ALIBABA_CLOUD_ECS_METADATA',
];

let sandbox: CloudSandbox;
const savedEnvironment = { ...process.env };

beforeAll(async () => {
  sandbox = await startFastSandbox();
  for (const name of CHAIN_VARIABLES) delete process.env[name];
  // Nothing from the machine running the tests: no metadata service, no CLI or profile files.
  process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
  process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';
  process.env.HOME = mkdtempSync(join(tmpdir(), 'podeip-credentials-'));
});
afterAll(async () => {
  rmSync(process.env.HOME!, { recursive: true, force: true });
  process.env = savedEnvironment;
  await sandbox.close();
});

describe('credentials', () => {
  it('signs with an STS triple', async () => {
    const grant = sandbox.controls.addAccessKey({ sts: true });
    const cloud = cloudFor(sandbox, {
      credentials: {
        kind: 'access-key',
        accessKeyId: grant.accessKeyId,
        accessKeySecret: grant.accessKeySecret,
        securityToken: grant.securityToken ?? '',
      },
    });
    expect(await cloud.describeEips({ tags: { any: 'thing' } })).toEqual([]);
  });

  it('default chain: fails as permission while nothing is configured, then works once the environment is', async () => {
    const cloud = cloudFor(sandbox, { credentials: { kind: 'default-chain' } });
    const stuck = new (sdkDefaultExport(CredentialsModule))();
    await expect(stuck.getCredential()).rejects.toThrow(/unable to get credentials/);

    const error = await cloudError(cloud.describeEips({ tags: { any: 'thing' } }));
    expect(error).toMatchObject({ kind: 'permission', code: 'CredentialsUnavailable', retryable: false });
    expect(error.message).toMatch(/no usable credentials from the default chain/);
    expect(error.message).not.toMatch(/https?:\/\//);

    process.env.ALIBABA_CLOUD_CREDENTIALS_URI = sandbox.credentialsUri;
    expect(await cloud.describeEips({ tags: { any: 'thing' } })).toEqual([]);
    // The library's own chain, once failed, keeps asking its last provider and never sees the fix.
    await expect(stuck.getCredential()).rejects.toThrow();
  });
});
