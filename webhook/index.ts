/**
 * The webhook as a library, its one way in: the settings (schema, type, the flags and variables that map
 * onto them) and `start`. Reading files, the environment and flags, and signals, are cli/'s.
 */
export { webhookConfigSchema, webhookSettings } from './config/schema.js';
export type { WebhookConfig } from './config/types.js';
export { validateWebhookConfig } from './config/validate.js';
export { start, type RunningWebhook, type WebhookDeps } from './server/main.js';
