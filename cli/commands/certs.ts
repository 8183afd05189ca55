/**
 * `podeip certs generate`: a CA and a serving certificate for the webhook's Service, for those who manage
 * the webhook's certificates themselves (the files mode) instead of letting it manage its own.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateCa, generateServingCert, serviceDnsNames } from '../../certs/generate.js';
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../command.js';

/** What the command writes into --out; it never overwrites one of them. */
export const CERT_FILES = ['ca.crt', 'tls.crt', 'tls.key'] as const;

const DEFAULT_VALIDITY_DAYS = 365;
const DEFAULT_CA_VALIDITY_DAYS = 3650;
const MAX_VALIDITY_DAYS = 36500;

/** Kubernetes' rules for a Service name (RFC 1035 label) and a namespace (RFC 1123 label). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface CertsGenerateRequest {
  service: string;
  namespace: string;
  out: string;
  clusterDomain: string;
  validityDays: number;
  caValidityDays: number;
}

function checkLabel(flag: string, value: string | undefined, pattern: RegExp, rule: string, problems: string[]) {
  if (value === undefined || value === '') {
    problems.push(`--${flag}: required`);
  } else if (value.length > 63 || !pattern.test(value)) {
    problems.push(`--${flag}: "${value}" is not ${rule}`);
  }
}

function checkDays(flag: string, value: string | undefined, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > MAX_VALIDITY_DAYS) {
    problems.push(`--${flag}: "${value}" must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`);
  }
  return days;
}

/** The request the flags describe, or every problem with them at once. */
export function parseCertsGenerateFlags(
  values: Record<string, string | boolean | undefined>,
): { ok: true; request: CertsGenerateRequest } | { ok: false; problems: string[] } {
  const text = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  const problems: string[] = [];
  const service = text('service');
  const namespace = text('namespace');
  const out = text('out');
  const clusterDomain = text('cluster-domain') ?? 'cluster.local';
  checkLabel(
    'service',
    service,
    DNS_1035_LABEL,
    'a Service name (lower-case letters, digits and "-", starting with a letter, at most 63 characters)',
    problems,
  );
  checkLabel(
    'namespace',
    namespace,
    DNS_1123_LABEL,
    'a namespace name (lower-case letters, digits and "-", at most 63 characters)',
    problems,
  );
  if (!DNS_1123_SUBDOMAIN.test(clusterDomain) || clusterDomain.length > 253) {
    problems.push(`--cluster-domain: "${clusterDomain}" is not a DNS domain`);
  }
  const validityDays = checkDays('validity-days', text('validity-days'), DEFAULT_VALIDITY_DAYS, problems);
  const caValidityDays = checkDays('ca-validity-days', text('ca-validity-days'), DEFAULT_CA_VALIDITY_DAYS, problems);
  if (problems.length === 0 && caValidityDays < validityDays) {
    problems.push(
      `--ca-validity-days: ${caValidityDays} is shorter than --validity-days ${validityDays}; the CA must outlive what it signs`,
    );
  }
  if (out === undefined || out === '') {
    problems.push('--out: required');
  } else if (existsSync(out) && !statSync(out).isDirectory()) {
    problems.push(`--out: ${out} exists and is not a folder`);
  } else {
    for (const file of CERT_FILES) {
      if (existsSync(join(out, file)))
        problems.push(`--out: ${join(out, file)} already exists; it is never overwritten`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    request: {
      service: service!,
      namespace: namespace!,
      out: resolve(out!),
      clusterDomain,
      validityDays,
      caValidityDays,
    },
  };
}

export const certsGenerateCommand: Command = {
  name: 'certs generate',
  details: [
    'Writes ca.crt, tls.crt and tls.key (PEM) into --out, creating it if needed, and prints the caBundle value',
    '(ca.crt in base64) for the MutatingWebhookConfiguration. ca.key is not kept: to renew, generate a new set and',
    'update the Secret and the caBundle together. Store tls.key as a Secret (kubectl create secret generic',
    'podeip-webhook-tls --type=kubernetes.io/tls --from-file=DIR/tls.crt --from-file=DIR/tls.key --from-file=DIR/ca.crt)',
    'and run the webhook in the files mode (--tls-cert, --tls-key). See docs/certificates.md.',
  ].join('\n'),
  options: {
    service: { type: 'string', description: 'the webhook Service’s name (e.g. podeip-webhook)' },
    namespace: { type: 'string', description: 'the Service’s namespace (e.g. podeip-system)' },
    out: { type: 'string', description: 'folder to write ca.crt, tls.crt and tls.key into' },
    'cluster-domain': { type: 'string', description: 'the cluster’s DNS domain (default cluster.local)' },
    'validity-days': {
      type: 'string',
      description: `lifetime of the serving certificate in days (default ${DEFAULT_VALIDITY_DAYS})`,
    },
    'ca-validity-days': {
      type: 'string',
      description: `lifetime of the CA in days (default ${DEFAULT_CA_VALIDITY_DAYS})`,
    },
  },
  async run(values) {
    const parsed = parseCertsGenerateFlags(values);
    if (!parsed.ok) {
      process.stderr.write(
        `podeip certs generate: bad usage:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n` +
          "Run 'podeip certs generate --help' for its options.\n",
      );
      return EXIT_USAGE;
    }
    const { service, namespace, out, clusterDomain, validityDays, caValidityDays } = parsed.request;
    const dnsNames = serviceDnsNames(service, namespace, clusterDomain);
    const ca = generateCa({ commonName: `${service}.${namespace} CA`, validityDays: caValidityDays });
    const serving = generateServingCert({
      ca,
      commonName: `${service}.${namespace}.svc`,
      dnsNames,
      ipAddresses: [],
      validityDays,
    });
    const files = { 'ca.crt': ca.certPem, 'tls.crt': serving.certPem, 'tls.key': serving.keyPem };
    try {
      mkdirSync(out, { recursive: true });
      for (const [name, pem] of Object.entries(files)) {
        // `wx`: a file that appeared since the check is still never overwritten.
        writeFileSync(join(out, name), pem, { mode: name === 'tls.key' ? 0o600 : 0o644, flag: 'wx' });
      }
    } catch (err) {
      process.stderr.write(`podeip certs generate: cannot write into ${out}: ${(err as Error).message}\n`);
      return EXIT_FAILED;
    }
    const notAfter = (pem: string) => new Date(new X509Certificate(pem).validTo).toISOString();
    process.stdout.write(
      [
        `wrote ${join(out, 'ca.crt')}: the CA, valid until ${notAfter(ca.certPem)}`,
        `wrote ${join(out, 'tls.crt')}: the serving certificate for ${dnsNames.join(', ')}, valid until ${notAfter(serving.certPem)}`,
        `wrote ${join(out, 'tls.key')}: its private key (mode 0600)`,
        'caBundle (for the MutatingWebhookConfiguration podeip-webhook, webhook pods.podeip.io):',
        Buffer.from(ca.certPem).toString('base64'),
        '',
      ].join('\n'),
    );
    return EXIT_OK;
  },
};
