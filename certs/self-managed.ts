/**
 * The certificate material of the webhook's self-managed mode as it lives in its Secret, and the renewal as
 * a sequence of pure steps, so the order that keeps every admission working is written in one place:
 *
 * 1. stage: at two thirds of the serving certificate's lifetime a new CA and a serving certificate it signed
 *    are generated and kept aside (`next.crt`, `next.key`); the new CA joins the trusted bundle (`ca.crt`),
 *    which the registration's caBundle copies. Replicas still serve the old certificate.
 * 2. promote: `stepSeconds` later, and only once the registration trusts the new CA, the new pair becomes
 *    `tls.crt`/`tls.key`. Replicas see the Secret change and serve it; the bundle still trusts both CAs.
 * 3. retire: `stepSeconds` after that, the old CA leaves the bundle.
 *
 * The step must be longer than the time a replica takes to notice a change of the Secret (it watches it and
 * re-reads it every repair period) and the API server takes to notice a change of the registration.
 * docs/certificates.md tells the story for operators.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { generateCa, generateServingCert, type PemPair } from './generate.js';

/** Keys of the Secret (`kubernetes.io/tls` plus `ca.crt`, as cert-manager writes it). */
export const SECRET_KEYS = {
  cert: 'tls.crt',
  key: 'tls.key',
  caBundle: 'ca.crt',
  nextCert: 'next.crt',
  nextKey: 'next.key',
} as const;

/** Annotations on the Secret recording when a renewal step happened, so a new leader carries it on. */
export const STEP_ANNOTATIONS = {
  stagedAt: 'podeip.io/certificates-staged-at',
  promotedAt: 'podeip.io/certificates-promoted-at',
} as const;

export interface CertificateMaterial {
  /** What replicas serve. */
  serving: PemPair;
  /** PEM certificates of every CA the registration must trust, the serving certificate's issuer among them. */
  caBundle: string[];
  /** A staged pair signed by the newest CA of the bundle, waiting for promotion. */
  next?: PemPair;
  stagedAt?: number;
  promotedAt?: number;
}

export interface MaterialSettings {
  /** DNS names of the webhook's Service. */
  dnsNames: string[];
  /** Lifetime of each CA and serving certificate. */
  lifetimeSeconds: number;
  /** Time between two renewal steps. */
  stepSeconds: number;
}

const DAY_SECONDS = 86_400;

/** A new CA and a serving certificate it signed, both for `lifetimeSeconds`. */
export function generatePair(settings: MaterialSettings): { ca: PemPair; serving: PemPair } {
  const validityDays = settings.lifetimeSeconds / DAY_SECONDS;
  const ca = generateCa({ commonName: `podeip webhook CA ${new Date().toISOString()}`, validityDays });
  const serving = generateServingCert({
    ca,
    commonName: settings.dnsNames[0] ?? 'podeip-webhook',
    dnsNames: settings.dnsNames,
    ipAddresses: [],
    validityDays,
  });
  return { ca, serving };
}

export function newMaterial(settings: MaterialSettings): CertificateMaterial {
  const { ca, serving } = generatePair(settings);
  return { serving, caBundle: [ca.certPem] };
}

/** The PEM certificates in a bundle, each with its own BEGIN/END lines. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? [];
}

export function joinPemBundle(certificates: readonly string[]): string {
  return certificates.map((c) => c.trim()).join('\n') + '\n';
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined): string | undefined =>
  text === undefined ? undefined : Buffer.from(text, 'base64').toString('utf8');

/** The Secret's `data` and step annotations for `material`. */
export function materialToSecret(material: CertificateMaterial): {
  data: Record<string, string>;
  annotations: Record<string, string>;
} {
  const data: Record<string, string> = {
    [SECRET_KEYS.cert]: b64(material.serving.certPem),
    [SECRET_KEYS.key]: b64(material.serving.keyPem),
    [SECRET_KEYS.caBundle]: b64(joinPemBundle(material.caBundle)),
  };
  if (material.next) {
    data[SECRET_KEYS.nextCert] = b64(material.next.certPem);
    data[SECRET_KEYS.nextKey] = b64(material.next.keyPem);
  }
  const annotations: Record<string, string> = {};
  if (material.stagedAt !== undefined)
    annotations[STEP_ANNOTATIONS.stagedAt] = new Date(material.stagedAt).toISOString();
  if (material.promotedAt !== undefined)
    annotations[STEP_ANNOTATIONS.promotedAt] = new Date(material.promotedAt).toISOString();
  return { data, annotations };
}

export type MaterialReading = { ok: true; material: CertificateMaterial } | { ok: false; problem: string };

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/** Whether `cert` was issued by one of `cas` (signature checked) and `keyPem` is its key. */
function pairProblem(pair: PemPair, cas: readonly X509Certificate[], what: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.certPem);
  } catch (err) {
    return `${what} is not a PEM certificate: ${(err as Error).message}`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return `${what}'s key does not match it`;
  } catch (err) {
    return `${what}'s key is not a PEM private key: ${(err as Error).message}`;
  }
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)))
    return `${what} is not signed by a CA of the bundle`;
  return undefined;
}

/**
 * The material in a Secret, or what is wrong with it: a pair that does not match, a certificate no CA of
 * the bundle signed, a missing key. The Secret's `data` values are base64, as the API returns them.
 */
export function materialFromSecret(
  data: Readonly<Record<string, string>> | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
): MaterialReading {
  const certPem = unb64(data?.[SECRET_KEYS.cert]);
  const keyPem = unb64(data?.[SECRET_KEYS.key]);
  const bundle = unb64(data?.[SECRET_KEYS.caBundle]);
  if (!certPem || !keyPem || !bundle) return { ok: false, problem: 'tls.crt, tls.key or ca.crt is missing' };
  const caBundle = splitPemBundle(bundle);
  let cas: X509Certificate[];
  try {
    cas = caBundle.map((pem) => new X509Certificate(pem));
  } catch (err) {
    return { ok: false, problem: `ca.crt holds something that is not a certificate: ${(err as Error).message}` };
  }
  if (cas.length === 0) return { ok: false, problem: 'ca.crt holds no certificate' };
  const serving = { certPem, keyPem };
  const servingProblem = pairProblem(serving, cas, 'tls.crt');
  if (servingProblem) return { ok: false, problem: servingProblem };
  const material: CertificateMaterial = { serving, caBundle };
  const nextCert = unb64(data?.[SECRET_KEYS.nextCert]);
  const nextKey = unb64(data?.[SECRET_KEYS.nextKey]);
  if (nextCert && nextKey) {
    const next = { certPem: nextCert, keyPem: nextKey };
    // A broken staged pair is dropped, not fatal: the next renewal stages a new one.
    if (pairProblem(next, cas, 'next.crt') === undefined) material.next = next;
  }
  const stagedAt = parseTime(annotations?.[STEP_ANNOTATIONS.stagedAt]);
  const promotedAt = parseTime(annotations?.[STEP_ANNOTATIONS.promotedAt]);
  if (stagedAt !== undefined && material.next) material.stagedAt = stagedAt;
  if (promotedAt !== undefined) material.promotedAt = promotedAt;
  return { ok: true, material };
}

/**
 * The instant two thirds into the serving certificate's lifetime, counted back from its end: its start is
 * backdated a minute for clock skew (generate.ts), which would move a short lifetime's renewal to its birth.
 */
export function renewalDueAt(certPem: string, lifetimeSeconds: number): number {
  return Date.parse(new X509Certificate(certPem).validTo) - (lifetimeSeconds * 1000) / 3;
}

function issuerIndex(certPem: string, caBundle: readonly string[]): number {
  const cert = new X509Certificate(certPem);
  return caBundle.findIndex((pem) => {
    const ca = new X509Certificate(pem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  });
}

export type RenewalStep =
  { kind: 'none'; dueAt: number } | { kind: 'stage' | 'promote' | 'retire'; material: CertificateMaterial };

/**
 * What the renewal does next at `now`, and when it is next due when nothing is. `registrationTrusts` says
 * whether the registration's caBundle holds every CA of the material's bundle: promotion waits for it.
 */
export function renewalStep(
  material: CertificateMaterial,
  now: number,
  settings: MaterialSettings,
  registrationTrusts: boolean,
): RenewalStep {
  const stepMs = settings.stepSeconds * 1000;
  if (material.next) {
    const dueAt = (material.stagedAt ?? now) + stepMs;
    if (now < dueAt || !registrationTrusts) return { kind: 'none', dueAt: Math.max(dueAt, now + 1000) };
    return {
      kind: 'promote',
      material: { serving: material.next, caBundle: material.caBundle, promotedAt: now },
    };
  }
  if (material.caBundle.length > 1) {
    const dueAt = (material.promotedAt ?? now) + stepMs;
    if (now < dueAt) return { kind: 'none', dueAt };
    const issuer = issuerIndex(material.serving.certPem, material.caBundle);
    return { kind: 'retire', material: { serving: material.serving, caBundle: [material.caBundle[issuer] as string] } };
  }
  const dueAt = renewalDueAt(material.serving.certPem, settings.lifetimeSeconds);
  if (now < dueAt) return { kind: 'none', dueAt };
  const { ca, serving } = generatePair(settings);
  return {
    kind: 'stage',
    material: { ...material, caBundle: [...material.caBundle, ca.certPem], next: serving, stagedAt: now },
  };
}
