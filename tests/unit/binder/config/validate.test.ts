import { describe, expect, it } from '@jest/globals';
import { validateBinderConfig } from '../../../../binder/config/validate.js';

const REQUIRED = { clusterId: 'c-demo', cloud: { regionId: 'cn-hangzhou', vpcId: 'vpc-abc123' } };

describe('validateBinderConfig', () => {
  it('lists problems between settings beside the schema’s, in one run', () => {
    const result = validateBinderConfig({
      ...REQUIRED,
      workers: 0,
      cloud: {
        ...REQUIRED.cloud,
        protocol: 'ftp',
        credentials: { source: 'key-file' },
      },
      leaderElection: { leaseName: 'Bad_Name', leaseDurationSeconds: 10, renewDeadlineSeconds: 10 },
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        'workers: must be >= 1',
        'cloud.protocol: must be one of "https", "http"',
        'leaderElection.leaseName: must be a DNS subdomain: lower-case letters, digits, dashes and dots, at most 253',
        'leaderElection.renewDeadlineSeconds: must be less than leaderElection.leaseDurationSeconds (10), is 10',
        'cloud.credentials.path: is required with source key-file (--cloud-key-file)',
      ],
    });
  });

  it('leaves out a rule whose own settings are invalid, and says what is wrong with them instead', () => {
    const result = validateBinderConfig({
      ...REQUIRED,
      leaderElection: { leaseDurationSeconds: 'soon', renewDeadlineSeconds: 20 },
      cloud: { ...REQUIRED.cloud, credentials: { source: 'vault', path: '/k' } },
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        'cloud.credentials.source: must be one of "default-chain", "key-file"',
        'leaderElection.leaseDurationSeconds: must be integer',
      ],
    });
  });

  it('names where a bad value came from', () => {
    const result = validateBinderConfig(
      { ...REQUIRED, namespaces: ['default', 'Not_A_Namespace'], server: { port: 70000 } },
      {
        sourceOf: new Map([
          ['namespaces', '--namespaces'],
          ['server.port', 'environment PODEIP_PORT'],
        ]),
      },
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        'namespaces[1]: must be a DNS label: lower-case letters, digits and dashes, at most 63 (from --namespaces)',
        'server.port: must be <= 65535 (from environment PODEIP_PORT)',
      ],
    });
  });

  it('fills the defaults, with the Lease in the pod’s namespace', () => {
    const result = validateBinderConfig(structuredClone(REQUIRED), { podNamespace: 'kube-system' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.leaderElection).toMatchObject({ namespace: 'kube-system', leaseDurationSeconds: 15 });
    expect(result.config.cloud.credentials).toEqual({ source: 'default-chain' });
  });
});
