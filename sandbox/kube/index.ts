/** The Kubernetes API stand-in: start it with startKubeSandbox, or use the store alone with createClusterStore. */
export { startKubeSandbox, type KubeSandbox, type KubeSandboxOptions } from './sandbox.js';
export {
  createClusterStore,
  type ClusterStoreOptions,
  type SandboxClusterStore,
  type DeletionOutcome,
} from './store.js';
export {
  createRequestPipeline,
  ADMIN_USER,
  type RequestPipeline,
  type RequestOptions,
  type WriteResult,
} from './request-pipeline.js';
export type { KubeControls, RequestFailureRule, RequestLogEntry, RequestFilter } from './controls.js';
export * from './types.js';
export {
  createWebhookAdmission,
  type WebhookAdmission,
  type WebhookAdmissionOptions,
  type ServiceResolver,
  type ServiceAddress,
} from './admission/index.js';
