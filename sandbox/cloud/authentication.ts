/**
 * Verifies a request's signature as the real gateway does (docs/alibaba-cloud-api.md#signatures): ACS3-HMAC-SHA256
 * (what the SDK sends by default; SM3 too where OpenSSL has it) and the legacy HMAC-SHA1 "v1" form that the
 * Go SDK and the aliyun CLI still send. The query is decoded and re-encoded (RFC 3986), never signed as
 * sent, because the SDK's URL encoding differs from its signing encoding.
 */
import { createHash, createHmac, getHashes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AccessKeyStore, StoredAccessKey } from './access-keys.js';
import { CloudApiError } from './errors.js';

export interface SignedRequest {
  method: string;
  /** As sent, e.g. `/`. */
  pathname: string;
  /** Decoded query parameters, in the order sent. */
  query: Array<[string, string]>;
  /** Decoded form-body parameters, if the body was a form. */
  form: Array<[string, string]>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Parameters of the v1 signature that are not the action's own. */
export const SIGNATURE_V1_PARAMETERS = new Set([
  'Action',
  'Version',
  'Format',
  'Timestamp',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'AccessKeyId',
  'Signature',
  'SecurityToken',
  'SignatureType',
  'BearerToken',
]);

const ALLOWED_SKEW_MS = 15 * 60 * 1000;
const ACS3_AUTHORIZATION =
  /^(ACS3-HMAC-SHA256|ACS3-HMAC-SM3) Credential=([^,\s]+),SignedHeaders=([^,\s]+),Signature=([0-9a-f]+)$/;
const HASH_OF_ALGORITHM: Record<string, string> = { 'ACS3-HMAC-SHA256': 'sha256', 'ACS3-HMAC-SM3': 'sm3' };

/** RFC 3986: encodeURIComponent plus the five characters it leaves raw; `~` stays. */
function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function incomplete(detail: string): CloudApiError {
  return new CloudApiError('IncompleteSignature', {
    message: `The request signature does not conform to Aliyun standards: ${detail}`,
  });
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class RequestAuthenticator {
  /** `accessKeyId \n nonce` → when the entry may be forgotten (its date can no longer pass the window). */
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly keys: AccessKeyStore,
    private readonly now: () => number,
  ) {}

  /** The verified caller, or the error the real gateway gives. */
  authenticate(request: SignedRequest): StoredAccessKey {
    const authorization = header(request.headers, 'authorization');
    if (authorization !== undefined) return this.verifyAcs3(request, authorization);
    if (request.query.some(([name]) => name === 'Signature') || request.form.some(([name]) => name === 'Signature'))
      return this.verifyV1(request);
    throw incomplete('neither an Authorization header (ACS3) nor a Signature parameter (v1) is present.');
  }

  private verifyAcs3(request: SignedRequest, authorization: string): StoredAccessKey {
    const match = ACS3_AUTHORIZATION.exec(authorization.trim());
    if (!match)
      throw incomplete('the Authorization header is not "ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…".');
    const [, algorithm = '', accessKeyId = '', signedHeaderList = '', signature = ''] = match;
    const hashName = HASH_OF_ALGORITHM[algorithm] ?? 'sha256';
    if (!getHashes().includes(hashName)) throw incomplete(`${algorithm} is not available in this sandbox.`);
    const key = this.keys.get(accessKeyId);
    if (!key)
      throw new CloudApiError('InvalidAccessKeyId.NotFound', {
        message: `Specified access key is not found: ${accessKeyId}`,
      });

    const signedHeaders = signedHeaderList.split(';');
    const mustSign = Object.keys(request.headers).filter(
      (name) => name === 'host' || name === 'content-type' || name.startsWith('x-acs-'),
    );
    const unsigned = mustSign.filter((name) => !signedHeaders.includes(name));
    if (unsigned.length > 0) throw incomplete(`these headers must be signed: ${unsigned.join(', ')}.`);
    for (const required of ['host', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
      if (header(request.headers, required) === undefined) throw incomplete(`the ${required} header is missing.`);
    }

    const payloadHash = createHash(hashName).update(request.body).digest('hex');
    if (payloadHash !== header(request.headers, 'x-acs-content-sha256')) {
      throw new CloudApiError('SignatureDoesNotMatch', {
        message:
          'Specified signature is not matched with our calculation: x-acs-content-sha256 is not the hash of the body.',
      });
    }
    const lastValue = new Map(request.query);
    const canonicalQuery = [...lastValue.keys()]
      .sort()
      .map((name) => `${percentEncode(name)}=${percentEncode(lastValue.get(name) ?? '')}`)
      .join('&');
    const canonicalHeaders = signedHeaders
      .map((name) => `${name}:${(header(request.headers, name) ?? '').trim()}\n`)
      .join('');
    const canonicalUri = request.pathname === '' ? '/' : request.pathname;
    const canonicalRequest = [
      request.method,
      canonicalUri,
      canonicalQuery,
      canonicalHeaders,
      signedHeaderList,
      payloadHash,
    ].join('\n');
    const stringToSign = `${algorithm}\n${createHash(hashName).update(canonicalRequest).digest('hex')}`;
    const expected = createHmac(hashName, key.accessKeySecret).update(stringToSign).digest('hex');
    if (!sameText(expected, signature)) throw new CloudApiError('SignatureDoesNotMatch');

    this.checkSecurityToken(key, header(request.headers, 'x-acs-security-token'));
    this.checkFreshness(
      key.accessKeyId,
      header(request.headers, 'x-acs-date') ?? '',
      header(request.headers, 'x-acs-signature-nonce') ?? '',
    );
    return key;
  }

  private verifyV1(request: SignedRequest): StoredAccessKey {
    const params = new Map([...request.query, ...request.form]);
    const value = (name: string): string => {
      const found = params.get(name);
      if (found === undefined || found === '') throw incomplete(`the ${name} parameter is missing.`);
      return found;
    };
    const accessKeyId = value('AccessKeyId');
    if (value('SignatureMethod') !== 'HMAC-SHA1' || value('SignatureVersion') !== '1.0')
      throw incomplete('v1 signatures must be HMAC-SHA1, version 1.0.');
    const key = this.keys.get(accessKeyId);
    if (!key)
      throw new CloudApiError('InvalidAccessKeyId.NotFound', {
        message: `Specified access key is not found: ${accessKeyId}`,
      });
    const canonical = [...params.keys()]
      .filter((name) => name !== 'Signature')
      .sort()
      .map((name) => `${percentEncode(name)}=${percentEncode(params.get(name) ?? '')}`)
      .join('&');
    const stringToSign = `${request.method}&${percentEncode('/')}&${percentEncode(canonical)}`;
    const expected = createHmac('sha1', `${key.accessKeySecret}&`).update(stringToSign).digest('base64');
    if (!sameText(expected, value('Signature'))) throw new CloudApiError('SignatureDoesNotMatch');
    this.checkSecurityToken(key, params.get('SecurityToken'));
    this.checkFreshness(key.accessKeyId, value('Timestamp'), value('SignatureNonce'));
    return key;
  }

  private checkSecurityToken(key: StoredAccessKey, sent: string | undefined): void {
    if (key.securityToken === undefined && sent === undefined) return;
    if (key.securityToken === undefined || sent === undefined || !sameText(key.securityToken, sent)) {
      throw new CloudApiError('InvalidSecurityToken.MismatchWithAccessKey');
    }
    if (key.expiresAtMs !== undefined && this.now() >= key.expiresAtMs)
      throw new CloudApiError('InvalidSecurityToken.Expired');
  }

  private checkFreshness(accessKeyId: string, date: string, nonce: string): void {
    const signedAt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(date) ? Date.parse(date) : Number.NaN;
    if (Number.isNaN(signedAt)) throw incomplete(`the request date ${date} is not yyyy-MM-ddTHH:mm:ssZ.`);
    const now = this.now();
    if (Math.abs(now - signedAt) > ALLOWED_SKEW_MS) {
      throw new CloudApiError('InvalidTimeStamp.Expired', {
        message: `Specified time stamp or date value is expired: ${date} is more than 15 minutes from the server time.`,
      });
    }
    for (const [seen, forgetAt] of this.nonces) {
      if (forgetAt > now) break;
      this.nonces.delete(seen);
    }
    const key = `${accessKeyId}\n${nonce}`;
    if (this.nonces.has(key))
      throw new CloudApiError('SignatureNonceUsed', {
        message: `Specified signature nonce was used already: ${nonce}`,
      });
    // Forget a nonce only once its date is outside the window for good.
    this.nonces.set(key, Math.max(now, signedAt) + ALLOWED_SKEW_MS * 2);
  }
}
