/**
 * Webhook admission as kube-apiserver does it: createWebhookAdmission is the AdmissionChain to give startKubeSandbox.
 */
export {
  createWebhookAdmission,
  dryRunRefusal,
  isExemptFromWebhooks,
  type WebhookAdmission,
  type WebhookAdmissionOptions,
} from './webhook-dispatcher.js';
export { TlsAgentCache, type ServiceAddress, type ServiceResolver } from './webhook-client.js';
export { AdmissionRefusal } from './admission-errors.js';
export {
  ADMISSION_API_VERSION,
  ADMISSION_REVIEW_KIND,
  type AdmissionRequestV1,
  type AdmissionReviewRequest,
} from './admission-review.js';
export type { MutatingWebhook } from './webhook-configuration.js';
