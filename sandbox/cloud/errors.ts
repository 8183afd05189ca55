/**
 * API errors as Alibaba Cloud's gateway answers them: a real HTTP status and
 * `{RequestId, HostId, Code, Message, Recommend}`. The SDK classifies by status and by `Throttling` in the
 * code (ThrottlingError, ClientError 4xx, ServerError 5xx), so both must be what the real API sends.
 * Statuses and messages come from the documented error tables (docs/alibaba-cloud-api.md#error-codes).
 */

interface CatalogEntry {
  status: number;
  message: string;
}

const CATALOG: Readonly<Record<string, CatalogEntry>> = {
  // Gateway: authentication, routing, flow control.
  'InvalidApi.NotFound': { status: 404, message: 'Specified api is not found, please check your url and method.' },
  InvalidVersion: { status: 400, message: 'Specified parameter Version is not valid.' },
  IncompleteSignature: { status: 400, message: 'The request signature does not conform to Aliyun standards.' },
  SignatureDoesNotMatch: { status: 400, message: 'Specified signature is not matched with our calculation.' },
  SignatureNonceUsed: { status: 400, message: 'Specified signature nonce was used already.' },
  'InvalidTimeStamp.Expired': { status: 400, message: 'Specified time stamp or date value is expired.' },
  'InvalidAccessKeyId.NotFound': { status: 404, message: 'Specified access key is not found.' },
  'InvalidSecurityToken.Expired': { status: 400, message: 'Specified SecurityToken is expired.' },
  'InvalidSecurityToken.MismatchWithAccessKey': {
    status: 400,
    message: 'Specified SecurityToken mismatch with the AccessKey.',
  },
  'Forbidden.RAM': {
    status: 403,
    message: "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
  },
  'InvalidRegionId.NotFound': { status: 404, message: 'The specified RegionId does not exist in our records.' },
  'Throttling.User': { status: 400, message: 'Request was denied due to user flow control.' },
  Throttling: { status: 400, message: 'Request was denied due to request throttling.' },
  'Throttling.Api': { status: 400, message: 'Request was denied due to api flow control.' },
  InternalError: { status: 500, message: 'The request processing has failed due to some unknown error.' },
  ServiceUnavailable: { status: 503, message: 'The request has failed due to a temporary failure of the server.' },
  SystemBusy: { status: 500, message: 'System is busy, please try again later.' },
  IdempotentParameterMismatch: {
    status: 400,
    message: 'Request uses a client token in a previous request but is not identical to that request.',
  },
  LastTokenProcessing: { status: 403, message: 'The last token request is processing.' },
  DryRunOperation: { status: 400, message: 'Request validation has been passed with DryRun flag set.' },
  InvalidParameter: { status: 400, message: 'The specified parameter is not valid.' },
  // EIP.
  'InvalidAllocationId.NotFound': { status: 404, message: 'Specified allocation ID is not found' },
  IncorrectEipStatus: { status: 400, message: 'Current elastic IP status does not support this operation.' },
  TaskConflict: { status: 400, message: 'The eip operate too frequent, please try again later.' },
  OperationConflict: { status: 409, message: 'Request was denied due to conflict with a previos request.' },
  'QuotaExceeded.Eip': { status: 400, message: 'Elastic IP address quota exceeded' },
  ReserveIpFail: { status: 400, message: 'Reserve eip failed.' },
  InvalidResourceGroupId: { status: 400, message: 'The specified ResourceGroupId is invalid.' },
  'Forbidden.ChargeTypeIsPrepaid': {
    status: 400,
    message: 'The operation is not allowed because the charge type of the EIP is PrePaid.',
  },
  'InvalidAssociation.Duplicated': { status: 400, message: 'Specified instance already is associated.' },
  'InvalidInstanceId.NotFound': { status: 400, message: 'Specified instance does not exist.' },
  'InvalidInstanceType.ValueNotSupported': {
    status: 400,
    message: 'The specified value of InstanceType is not supported.',
  },
  OperationDenied: { status: 400, message: 'The operation is denied for the specified instance.' },
  InvalidBindingStatus: { status: 400, message: 'The eip binding status invalid.' },
  'InvalidIAssociatedInstanceType.ValueNotSupported': {
    status: 400,
    message: 'Specified value of AssociatedInstanceType is not supported.',
  },
  'InvalidChargeType.ValueNotSupported': { status: 400, message: 'Specified value of ChargeType is not supported.' },
  'InvalidLockReason.NotFound': { status: 404, message: 'Specified value of LockReason is not found.' },
  // Tags (VPC tag operations).
  InvalidTagKey: { status: 400, message: 'The tag keys are not valid.' },
  InvalidTagValue: { status: 400, message: 'The tag values are not valid.' },
  'QuotaExceeded.TagNum': { status: 400, message: 'Custom Tags quota exceeded' },
  'SizeLimitExceeded.TagNum': { status: 400, message: 'The maximum number of tags is exceeded.' },
  'SizeLimitExceeded.ResourceId': { status: 400, message: 'The maximum number of resource IDs is exceeded.' },
  'InvalidInstanceIds.NotFound': { status: 400, message: 'The instanceIds are not found' },
  'InvalidResourceType.NotFound': { status: 400, message: 'The instance type is not found' },
  'Forbidden.TagKey.Duplicated': { status: 400, message: 'The specified tag key already exists.' },
  'BothEmpty.TagsAndResources': {
    status: 403,
    message: 'The specified Tags and ResourcesIds are not allow to both empty.',
  },
  // Internet Shared Bandwidth.
  'InvalidBandwidthPackageId.NotFound': {
    status: 404,
    message: 'The specified bandwidthPackageId does not exist in our records.',
  },
  'OperationUnsupported.IpNotInCbwp': {
    status: 400,
    message: 'The specified eip not exist in the commonBandwidthPackage.',
  },
  'BandwidthPackageOperation.conflict': {
    status: 400,
    message: 'Operation conflict on the bandwidth package, please try again later.',
  },
  'OperationUnsupported.IpAlreadyInCbwp': {
    status: 400,
    message: 'The specified eip is already in a commonBandwidthPackage.',
  },
  'OperationFailed.EipInCbwp': {
    status: 400,
    message: 'The EIP is in a bandwidth package; remove it from the package first.',
  },
  'OperationUnsupported.PrepaidEip': {
    status: 400,
    message: 'Only pay-as-you-go EIPs can be added to a bandwidth package.',
  },
  // ECS.
  'InvalidNextToken.Malformed': { status: 400, message: 'The specified NextToken is not valid.' },
};

export class CloudApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** Fields added to the error body (AccessDeniedDetail). */
  readonly extraBody: Record<string, unknown>;
  /** Response headers (x-acs-retry-after). */
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    options: {
      message?: string;
      status?: number;
      extraBody?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    const entry = CATALOG[code];
    super(options.message ?? entry?.message ?? code);
    this.name = 'CloudApiError';
    this.code = code;
    this.status = options.status ?? entry?.status ?? defaultStatusFor(code);
    this.extraBody = options.extraBody ?? {};
    this.headers = options.headers ?? {};
  }
}

/** Codes outside the catalog (a test injecting its own) get the status their shape suggests. */
function defaultStatusFor(code: string): number {
  if (/NotFound$/.test(code)) return 404;
  if (/^Forbidden/.test(code)) return 403;
  return 400;
}

export function apiError(code: string, message?: string, status?: number): CloudApiError {
  return new CloudApiError(code, {
    ...(message !== undefined ? { message } : {}),
    ...(status !== undefined ? { status } : {}),
  });
}

/** `Missing{Name}`: `{Name} is mandatory for this action.` */
export function missingParameter(name: string, message?: string): CloudApiError {
  return new CloudApiError(`Missing${name.replace(/\.N$/, '').replace(/[^A-Za-z0-9]/g, '')}`, {
    status: 400,
    message: message ?? `${name} is mandatory for this action.`,
  });
}

export function invalidParameter(name: string, detail: string): CloudApiError {
  return new CloudApiError('InvalidParameter', { message: `Specified value of "${name}" is not valid: ${detail}` });
}

export function errorBody(
  error: CloudApiError,
  requestId: string,
  hostId: string,
  product: string,
): Record<string, unknown> {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: error.code,
    Message: error.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(error.code)}&product=${product}&requestId=${requestId}`,
    ...error.extraBody,
  };
}
