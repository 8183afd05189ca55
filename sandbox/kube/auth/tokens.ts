/**
 * ServiceAccount tokens as kube-apiserver's TokenRequest issues them: JWTs naming the account (and the pod
 * they are bound to), with an audience and an expiry. The stand-in signs with HMAC-SHA256 under a key made
 * at start rather than with an RSA key pair, since nothing outside it verifies them; the claims are the
 * real ones, so a program reading its token's `sub` or `kubernetes.io.namespace` sees what it would see.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** kube-apiserver's default --api-audiences. */
export const DEFAULT_AUDIENCES = [TOKEN_ISSUER];
/** TokenRequest's default and minimum expirationSeconds. */
export const DEFAULT_EXPIRATION_SECONDS = 3600;
export const MIN_EXPIRATION_SECONDS = 600;

export interface TokenSubject {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  /** The pod the token is bound to: it stops working when that pod is gone. */
  pod?: { name: string; uid: string };
}

export interface TokenClaims extends TokenSubject {
  audiences: string[];
  issuedAt: number;
  expiresAt: number;
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

export class ServiceAccountTokens {
  private readonly key = randomBytes(32);
  private readonly keyId = randomBytes(8).toString('hex');

  constructor(private readonly now: () => number = Date.now) {}

  issue(
    subject: TokenSubject,
    options: { audiences?: string[]; expirationSeconds?: number } = {},
  ): {
    token: string;
    expiresAt: number;
  } {
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = issuedAt + (options.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS);
    const payload = {
      aud: options.audiences ?? DEFAULT_AUDIENCES,
      exp: expiresAt,
      iat: issuedAt,
      nbf: issuedAt,
      iss: TOKEN_ISSUER,
      sub: `system:serviceaccount:${subject.namespace}:${subject.serviceAccount.name}`,
      'kubernetes.io': {
        namespace: subject.namespace,
        serviceaccount: subject.serviceAccount,
        ...(subject.pod === undefined ? {} : { pod: subject.pod }),
      },
    };
    const signed = `${base64url(JSON.stringify({ alg: 'HS256', kid: this.keyId, typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
    return { token: `${signed}.${this.sign(signed)}`, expiresAt: expiresAt * 1000 };
  }

  /** The claims of a token this stand-in signed and that has not expired; undefined for anything else. */
  verify(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const actual = Buffer.from(parts[2]!);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    let payload: {
      aud?: unknown;
      exp?: unknown;
      iat?: unknown;
      'kubernetes.io'?: { namespace?: unknown; serviceaccount?: unknown; pod?: unknown };
    };
    try {
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const k8s = payload['kubernetes.io'];
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.now()) return undefined;
    if (typeof k8s?.namespace !== 'string' || !isNameAndUid(k8s.serviceaccount)) return undefined;
    return {
      namespace: k8s.namespace,
      serviceAccount: k8s.serviceaccount,
      ...(isNameAndUid(k8s.pod) ? { pod: k8s.pod } : {}),
      audiences: Array.isArray(payload.aud) ? payload.aud.map(String) : [],
      issuedAt: typeof payload.iat === 'number' ? payload.iat * 1000 : 0,
      expiresAt: payload.exp * 1000,
    };
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

function isNameAndUid(value: unknown): value is { name: string; uid: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { uid?: unknown }).uid === 'string'
  );
}
