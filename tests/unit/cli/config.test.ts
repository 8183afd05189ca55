import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../cli/config.js';
import { webhookSettings } from '../../../webhook/config/schema.js';
import { validateWebhookConfig } from '../../../webhook/config/validate.js';

const golden = JSON.parse(
  readFileSync(new URL('../../fixtures/config/webhook-defaults.golden.json', import.meta.url), 'utf8'),
);

function load(opts: {
  file?: string;
  flags?: Record<string, string>;
  env?: Record<string, string>;
  podNamespace?: string;
}) {
  return loadConfig({
    settings: webhookSettings,
    file: opts.file,
    flags: opts.flags ?? {},
    env: opts.env ?? {},
    check: (raw, sourceOf) =>
      validateWebhookConfig(raw, {
        sourceOf,
        ...(opts.podNamespace === undefined ? {} : { podNamespace: opts.podNamespace }),
      }),
  });
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'podeip-config-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('webhook configuration', () => {
  it('fills every default (golden)', () => {
    const r = load({ flags: { 'tls-cert': '/tls/tls.crt', 'tls-key': '/tls/tls.key' } });
    expect(r).toEqual({ ok: true, config: golden });
  });

  it('takes flags over environment over file', () => {
    const file = tempFile('c.yaml', 'listen:\n  port: 1000\n  host: 10.0.0.1\nlog:\n  level: debug\n');
    const r = load({
      file,
      env: { PODEIP_PORT: '2000', PODEIP_LOG_LEVEL: 'warn', PODEIP_TLS_CERT: '/e/c', PODEIP_TLS_KEY: '/e/k' },
      flags: { port: '3000', 'tls-key': '/f/k' },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listen).toEqual({ port: 3000, host: '10.0.0.1' });
    expect(r.config.log.level).toBe('warn');
    expect(r.config.tls.certFile).toBe('/e/c');
    expect(r.config.tls.keyFile).toBe('/f/k');
  });

  it('reports every problem at once, each with its path and source', () => {
    const file = tempFile(
      'c.yaml',
      [
        'listen: { port: 70000 }',
        'certificates: { mode: files }',
        'mutation:',
        '  initContainer: { imagePullPolicy: Sometimes, timeoutSeconds: 1, resources: { limits: { cpu: lots } } }',
        '  volumeName: Not_A_Label',
        'unknownThing: 1',
      ].join('\n'),
    );
    const r = load({ file, flags: { 'log-level': 'loud' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        'tls.certFile: is required when certificates.mode is files (--tls-cert)',
        'tls.keyFile: is required when certificates.mode is files (--tls-key)',
        'listen.port: must be <= 65535',
        expect.stringMatching(
          /^mutation\.initContainer\.imagePullPolicy: must be one of "Always", "IfNotPresent", "Never"$/,
        ),
        'mutation.initContainer.timeoutSeconds: must be >= 10',
        'mutation.initContainer.resources.limits.cpu: must be a Kubernetes quantity such as 100m or 32Mi',
        'mutation.volumeName: must be a DNS label: lower-case letters, digits and dashes, at most 63',
        'unknownThing: is not a known setting',
        expect.stringMatching(/^log\.level: must be one of .* \(from --log-level\)$/),
      ]),
    );
    expect(r.problems).toHaveLength(9);
  });

  it('serves files when a certificate file is named, and keeps its own certificates otherwise', () => {
    const withKey = load({ flags: { 'tls-key': '/k' }, podNamespace: 'podeip-system' });
    expect(withKey).toEqual({
      ok: false,
      problems: ['tls.certFile: is required when certificates.mode is files (--tls-cert)'],
    });
    const bare = load({});
    expect(bare).toEqual({
      ok: false,
      problems: [
        'certificates.namespace: is required in self-managed mode outside a pod (podeip runs in it); ' +
          'or serve certificate files with --tls-cert and --tls-key',
      ],
    });
    const inPod = load({ podNamespace: 'podeip-system' });
    expect(inPod.ok && inPod.config.certificates.mode).toBe('self-managed');
  });

  it("needs no certificate files in self-managed mode, and takes the pod namespace as podeip's", () => {
    const r = load({ flags: { certificates: 'self-managed' }, podNamespace: 'podeip-system' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.certificates).toEqual({ ...golden.certificates, mode: 'self-managed', namespace: 'podeip-system' });
  });

  it('refuses self-managed mode outside a pod without a namespace, beside the schema problems', () => {
    const r = load({ flags: { certificates: 'self-managed', port: '0x' } });
    expect(r).toEqual({
      ok: false,
      problems: [
        'listen.port: must be integer (from --port)',
        'certificates.namespace: is required in self-managed mode outside a pod (podeip runs in it); ' +
          'or serve certificate files with --tls-cert and --tls-key',
      ],
    });
  });

  it('names the source of a bad environment value', () => {
    const r = load({ env: { PODEIP_PORT: 'https' }, flags: { 'tls-cert': 'a', 'tls-key': 'b' } });
    expect(r).toEqual({ ok: false, problems: ['listen.port: must be integer (from environment PODEIP_PORT)'] });
  });

  it('explains an unreadable or malformed file instead of throwing', () => {
    expect(load({ file: '/nonexistent/podeip.yaml' })).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^\/nonexistent\/podeip\.yaml: cannot read the config file: ENOENT/)],
    });
    const list = tempFile('list.yaml', '- a\n- b\n');
    expect(load({ file: list })).toEqual({
      ok: false,
      problems: [`${list}: the config file must hold a mapping of settings`],
    });
  });
});
