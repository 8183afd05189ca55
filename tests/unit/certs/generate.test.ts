/** The certificates from certs/generate.ts, read back with Node's own X.509 parser. */
import { describe, expect, it } from '@jest/globals';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { generateCa, generateServingCert } from '../../../certs/generate.js';

const before = Date.now();
const ca = generateCa({ commonName: 'podeip test CA', validityDays: 30 });
const serving = generateServingCert({
  ca,
  commonName: 'podeip-webhook.podeip-system.svc',
  dnsNames: ['podeip-webhook.podeip-system.svc', 'podeip-webhook.podeip-system.svc.cluster.local'],
  ipAddresses: ['127.0.0.1', '::1'],
  validityDays: 7,
});
const caCert = new X509Certificate(ca.certPem);
const servingCert = new X509Certificate(serving.certPem);

describe('generateCa', () => {
  it('makes a self-signed CA whose key matches', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('CN=podeip test CA');
    expect(caCert.issuer).toBe(caCert.subject);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(createPrivateKey(ca.keyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('starts a minute in the past and lasts validityDays', () => {
    const from = Date.parse(caCert.validFrom);
    const to = Date.parse(caCert.validTo);
    // X.509 times have one-second resolution.
    expect(from).toBeLessThanOrEqual(before - 59_000);
    expect(from).toBeGreaterThan(before - 120_000);
    expect(to - from).toBeGreaterThanOrEqual(30 * 86_400_000);
    expect(to - from).toBeLessThanOrEqual(30 * 86_400_000 + 62_000);
  });
});

describe('generateServingCert', () => {
  it('is signed by the CA, with SHA-256, for TLS servers only', () => {
    expect(servingCert.ca).toBe(false);
    expect(servingCert.checkIssued(caCert)).toBe(true);
    expect(servingCert.verify(caCert.publicKey)).toBe(true);
    expect(servingCert.checkPrivateKey(createPrivateKey(serving.keyPem))).toBe(true);
    expect(servingCert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(servingCert.raw.includes(Buffer.from('2a864886f70d01010b', 'hex'))).toBe(true); // sha256WithRSAEncryption
  });

  it('lists every DNS name and IP address as a subject alternative name', () => {
    expect(servingCert.subjectAltName).toBe(
      'DNS:podeip-webhook.podeip-system.svc, DNS:podeip-webhook.podeip-system.svc.cluster.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(servingCert.checkHost('podeip-webhook.podeip-system.svc')).toBe('podeip-webhook.podeip-system.svc');
    expect(servingCert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(servingCert.checkHost('other.svc')).toBeUndefined();
  });

  it('gets a fresh positive serial number each time', () => {
    const serials = [caCert.serialNumber, servingCert.serialNumber];
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9A-F]+$/);
      expect(parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    }
    expect(new Set(serials).size).toBe(2);
  });

  it('refuses a certificate no client could verify, and a malformed IP address', () => {
    expect(() => generateServingCert({ ca, commonName: 'x', dnsNames: [], ipAddresses: [], validityDays: 1 })).toThrow(
      /at least one DNS name or IP address/,
    );
    expect(() =>
      generateServingCert({ ca, commonName: 'x', dnsNames: [], ipAddresses: ['10.0.0.300'], validityDays: 1 }),
    ).toThrow('"10.0.0.300" is not an IP address');
    expect(() => generateCa({ commonName: 'x', validityDays: 0 })).toThrow(
      'validityDays must be a positive number, got 0',
    );
  });
});
