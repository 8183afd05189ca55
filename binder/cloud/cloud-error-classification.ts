/**
 * Turns whatever the Alibaba SDK throws into a CloudError: a kind the reconciler can act on, and a
 * message that is safe for a pod Event. Pure: the SDK error (or a transport error) in, CloudError out.
 *
 * What the SDK throws (docs/alibaba-cloud-api.md#how-the-sdk-reports-errors): `ThrottlingError` /
 * `ClientError` / `ServerError` with `code`, `statusCode`, `requestId`, `retryAfter`, `data.Message`; bare
 * transport errors (`RequestTimeoutError`, `Error{code:'ECONNRESET'}`, `SyntaxError` for a non-JSON body)
 * whose messages end in the full request URL, which is why their text is never passed on.
 */
import { CloudError, type ApiName, type CloudErrorKind } from './eip-cloud.js';

/**
 * Raised by the adapter when a call outlives its own deadline (the SDK's read timeout does not fire on a
 * reused socket).
 */
export class DeadlineExceededError extends Error {
  constructor(readonly afterMs: number) {
    super(`no answer within ${afterMs} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/** Raised by the adapter's credential when no provider of the chain yields credentials. */
export class CredentialsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsUnavailableError';
  }
}

/** Codes whose kind does not follow from their shape; checked before the patterns below. */
const EXACT_KINDS: Readonly<Record<string, CloudErrorKind>> = {
  InternalError: 'transient',
  ServiceUnavailable: 'transient',
  SystemBusy: 'transient',
  // A retry is signed with a fresh nonce, so this cannot repeat.
  SignatureNonceUsed: 'transient',
  OperationConflict: 'conflict',
  LastTokenProcessing: 'conflict',
  'BandwidthPackageOperation.conflict': 'conflict',
  // The ENI is attaching or detaching: the same wait-and-retry as a conflict on the EIP.
  IncorrectInstanceStatus: 'conflict',
  IncorrectEipStatus: 'incorrect-status',
  InsufficientBalance: 'quota',
  Forbbiden: 'permission',
  SignatureDoesNotMatch: 'permission',
  IncompleteSignature: 'permission',
  InvalidCredentials: 'permission',
  // Not about who calls: a PrePaid EIP can never be released through the API.
  'Forbidden.ChargeTypeIsPrepaid': 'invalid',
  IdempotentParameterMismatch: 'invalid',
  DryRunOperation: 'invalid',
  // The IP already carries an EIP (maybe ours under another token): the caller must look, not retry.
  'InvalidAssociation.Duplicated': 'invalid',
  // Bound to another instance or IP than the one named: the caller must look, not retry.
  InvalidBindingStatus: 'invalid',
  // The clock is off by more than 15 minutes: a person must fix it.
  'InvalidTimeStamp.Expired': 'invalid',
};

/** First match wins. `not-found` is kept to codes that name a resource, so a config error never reads as "gone". */
const PATTERN_KINDS: ReadonlyArray<readonly [RegExp, CloudErrorKind]> = [
  [/^TaskConflict/, 'conflict'],
  [/^IncorrectStatus\./, 'conflict'],
  [/^QuotaExceeded/, 'quota'],
  [/^(Forbidden|Forbbiden|NoPermission)/, 'permission'],
  [/^(InvalidAccessKeyId|InvalidSecurityToken)/, 'permission'],
  [
    /^Invalid(AllocationId|InstanceId|InstanId|InstanceIds|Params|EniId|NetworkInterfaceId|BandwidthPackageId|EcsId)\.NotFound$/,
    'not-found',
  ],
  [
    /^(InvalidParameter|Missing|UnsupportedParameter|OperationDenied|OperationUnsupported|SizeLimitExceeded)/,
    'invalid',
  ],
  [/^Invalid/, 'invalid'],
];

export function kindOfApiCode(code: string, httpStatus: number | undefined): CloudErrorKind {
  if (/Throttling/.test(code)) return 'throttled';
  const exact = EXACT_KINDS[code];
  if (exact !== undefined) return exact;
  for (const [pattern, kind] of PATTERN_KINDS) if (pattern.test(code)) return kind;
  if (httpStatus !== undefined && httpStatus >= 500) return 'transient';
  return 'unknown';
}

/** What the SDK's error objects carry, all optional since transport errors carry almost nothing. */
interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  retryAfter?: unknown;
  message?: unknown;
  data?: { Message?: unknown; RequestId?: unknown } | null;
}

const TRANSPORT_CODE = /^E[A-Z0-9_]+$/;

/**
 * @param secrets the access key id, secret and security token in use: removed from every message, since
 * some answers echo the key id (InvalidAccessKeyId.NotFound) and credential-chain errors may name values.
 */
export function classifyCloudError(error: unknown, api: ApiName, secrets: readonly string[] = []): CloudError {
  if (error instanceof CloudError) return error;
  const shape: SdkErrorShape =
    typeof error === 'object' && error !== null ? (error as SdkErrorShape) : { message: String(error) };
  const name = typeof shape.name === 'string' ? shape.name : '';
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const httpStatus = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const requestId = textOrUndefined(shape.requestId) ?? textOrUndefined(shape.data?.RequestId);
  const retryAfterMs =
    typeof shape.retryAfter === 'number' && Number.isFinite(shape.retryAfter) && shape.retryAfter >= 0
      ? shape.retryAfter
      : undefined;
  const rawMessage = typeof shape.message === 'string' ? shape.message : '';

  const build = (kind: CloudErrorKind, errorCode: string, detail: string): CloudError => {
    const where = requestId === undefined ? '' : ` (request id ${requestId})`;
    return new CloudError(
      {
        kind,
        code: errorCode,
        api,
        ...(httpStatus !== undefined ? { httpStatus } : {}),
        ...(requestId !== undefined ? { requestId } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      },
      `${api} failed: ${errorCode}: ${redactSecrets(detail, secrets)}${where}`,
    );
  };

  if (name === 'ThrottlingError' || (code !== undefined && /Throttling/.test(code))) {
    return build('throttled', code ?? 'Throttling', apiMessage(shape, rawMessage));
  }
  if (name === 'CredentialsUnavailableError') return build('permission', 'CredentialsUnavailable', rawMessage);
  if (name === 'DeadlineExceededError' || name === 'RequestTimeoutError') {
    const timeoutCode =
      name === 'DeadlineExceededError'
        ? 'RequestTimeout'
        : /ConnectTimeout/.test(rawMessage)
          ? 'ConnectTimeout'
          : 'ReadTimeout';
    return build('transient', timeoutCode, 'no answer in time; the call may still have taken effect');
  }
  if (name === 'SyntaxError')
    return build(
      'transient',
      'BadResponse',
      'the answer was not JSON (an error page from a proxy or gateway?); the call may still have taken effect',
    );
  if (httpStatus === undefined && code !== undefined && TRANSPORT_CODE.test(code)) {
    return build('transient', code, `connection failed (${code}); the call may still have taken effect`);
  }
  if (code !== undefined && code !== '')
    return build(kindOfApiCode(code, httpStatus), code, apiMessage(shape, rawMessage));
  if (httpStatus !== undefined && httpStatus >= 500)
    return build('transient', `HTTP${httpStatus}`, 'server error without a code');
  return build('unknown', name === '' ? 'Error' : name, withoutUrls(rawMessage));
}

/** The server's own Message, without the SDK's `Code: code: 400, … request id: …` wrapping. */
function apiMessage(shape: SdkErrorShape, rawMessage: string): string {
  const message = textOrUndefined(shape.data?.Message);
  return message ?? withoutUrls(rawMessage);
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== 'undefined' ? value : undefined;
}

/** URLs carry the signed query; the SDK appends them to transport errors. */
function withoutUrls(text: string): string {
  return text.replace(/(GET|POST|PUT|DELETE)?\s*https?:\/\/\S*/gi, '<url>');
}

/** Shortest secret worth searching for: shorter strings would blank out ordinary words. */
const MIN_SECRET_LENGTH = 6;

/**
 * Removes secrets from text meant for people: the values in use, plus the shapes of Alibaba
 * credentials and signatures in case a value in use was not known (a rotated STS triple).
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = withoutUrls(text);
  const known = [...new Set(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
  for (const secret of known) result = result.split(secret).join('***');
  return result
    .replace(/(Signature|Credential|SecurityToken|AccessKeyId|AccessKeySecret)=[^\s,&]+/gi, '$1=***')
    .replace(/\bLTAI[0-9A-Za-z]{8,}\b/g, '***')
    .replace(/\bSTS\.[0-9A-Za-z]{8,}\b/g, '***')
    .replace(/\bCAIS[0-9A-Za-z+/=]{16,}/g, '***');
}
