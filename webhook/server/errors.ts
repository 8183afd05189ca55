/**
 * HTTP errors the webhook answers with, each with a stable `error` code a script or a test can match on.
 * These are transport-level answers (the request was not an admission review the webhook could judge);
 * a judged review always gets HTTP 200 with an AdmissionReview.
 */

export type WebhookErrorCode =
  'InvalidJson' | 'MalformedAdmissionReview' | 'BodyTooLarge' | 'UnsupportedMediaType' | 'BadRequest' | 'InternalError';

export interface WebhookErrorBody {
  error: WebhookErrorCode;
  message: string;
}

export interface HttpErrorAnswer {
  statusCode: number;
  body: WebhookErrorBody;
}

/** Fastify's own error codes for a body it could not read, mapped to ours. */
const FASTIFY_CODES: Readonly<Record<string, WebhookErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'InvalidJson',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'InvalidJson',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BodyTooLarge',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UnsupportedMediaType',
};

/** Turns an error raised while receiving a request into the status and JSON body to send back. */
export function answerForError(error: { statusCode?: number; code?: string; message: string }): HttpErrorAnswer {
  const statusCode =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (statusCode >= 500) {
    // Internal detail stays in the log; the caller gets nothing it could misread as a reason about its request.
    return { statusCode, body: { error: 'InternalError', message: 'internal error in the podeip webhook' } };
  }
  const mapped = error.code !== undefined ? FASTIFY_CODES[error.code] : undefined;
  let code: WebhookErrorCode = mapped ?? 'BadRequest';
  if (mapped === undefined && statusCode === 413) code = 'BodyTooLarge';
  if (mapped === undefined && statusCode === 415) code = 'UnsupportedMediaType';
  // secure-json-parse's prototype-poisoning rejection arrives as a plain 400 SyntaxError.
  if (mapped === undefined && error instanceof SyntaxError) code = 'InvalidJson';
  return { statusCode, body: { error: code, message: error.message } };
}

export function malformedReviewAnswer(reason: string): HttpErrorAnswer {
  return {
    statusCode: 400,
    body: {
      error: 'MalformedAdmissionReview',
      message: `not an AdmissionReview admission.k8s.io/v1 request: ${reason}`,
    },
  };
}
