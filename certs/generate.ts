/**
 * Self-signed CAs and the serving certificates they sign, as PEM. Used by the webhook's certificate
 * bootstrap and by the local stand-ins (sandbox, tests) that need real TLS.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

const { pki } = forge;

/** A certificate and its private key, both PEM (the key is PKCS#8). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CaOptions {
  commonName: string;
  validityDays: number;
}

export interface ServingCertOptions {
  /** The CA that signs the certificate. */
  ca: PemPair;
  commonName: string;
  /** Subject alternative names; clients verify against these, never against the common name. */
  dnsNames: string[];
  ipAddresses: string[];
  validityDays: number;
}

/** Backdating absorbs clock skew between the machine that signs and the machines that verify. */
const BACKDATE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Keys come from OpenSSL through node:crypto (tens of milliseconds), called directly rather than through
 * forge.pki.rsa.generateKeyPair: forge only delegates to node:crypto while no one has set
 * forge.options.usePureJavaScript, and otherwise runs its pure-JS prime search (seconds per 2048-bit key;
 * its `workers` option needs a browser's global Worker, which Node lacks). forge only signs and encodes.
 */
function generateRsaKey(): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  keyPem: string;
} {
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const privateKey = pki.privateKeyFromPem(keyPem);
  return { privateKey, publicKey: pki.setRsaPublicKey(privateKey.n, privateKey.e), keyPem };
}

/**
 * 128 random bits, top bit cleared (DER integers are signed and RFC 5280 wants serials positive) and first
 * byte non-zero (no leading zero octet, never a zero serial).
 */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function checkValidityDays(validityDays: number): void {
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new Error(`validityDays must be a positive number, got ${validityDays}`);
  }
}

function setValidity(cert: forge.pki.Certificate, validityDays: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + validityDays * DAY_MS);
}

/** A self-signed CA that may sign end-entity certificates only (path length 0). */
export function generateCa(options: CaOptions): PemPair {
  checkValidityDays(options.validityDays);
  const { privateKey, publicKey, keyPem } = generateRsaKey();
  const cert = pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialNumber();
  setValidity(cert, options.validityDays);
  const subject = [{ name: 'commonName', value: options.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem };
}

/** A TLS server certificate signed by `options.ca`, valid for the given DNS names and IP addresses. */
export function generateServingCert(options: ServingCertOptions): PemPair {
  checkValidityDays(options.validityDays);
  if (options.dnsNames.length === 0 && options.ipAddresses.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address: clients ignore the common name');
  }
  const altNames = [
    ...options.dnsNames.map((value) => ({ type: 2, value })),
    ...options.ipAddresses.map((ip) => {
      if (isIP(ip) === 0) throw new Error(`"${ip}" is not an IP address`);
      return { type: 7, ip };
    }),
  ];
  const caCert = pki.certificateFromPem(options.ca.certPem);
  const caKey = pki.privateKeyFromPem(options.ca.keyPem);
  const { publicKey, keyPem } = generateRsaKey();
  const cert = pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialNumber();
  setValidity(cert, options.validityDays);
  cert.setSubject([{ name: 'commonName', value: options.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    // Lets verifiers pick the right issuer while an old and a new CA with the same name are both trusted (rotation).
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem };
}

/**
 * Every name a client inside the cluster may use for a Service: the API server calls an admission webhook
 * at `<service>.<namespace>.svc`; Pods may use the shorter forms through their DNS search path, or the full one.
 */
export function serviceDnsNames(service: string, namespace: string, clusterDomain = 'cluster.local'): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.${clusterDomain}`,
  ];
}
