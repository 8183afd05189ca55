/** The contract the webhook and the binder share. Import from here rather than from the files behind it. */
export * from './constants.js';
export * from './annotations.js';
export * from './eip-request.js';
export { parseGoDuration, formatGoDuration } from './duration.js';
export { eipAnnotationFingerprint, parseEipAnnotations } from './parse-annotations.js';
export { EIP_ISPS, INSTANCE_CHARGE_TYPES, INTERNET_CHARGE_TYPES, SECURITY_PROTECTION_TYPES } from './annotation-values.js';
export * from './podeip.js';
