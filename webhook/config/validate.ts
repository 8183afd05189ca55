/**
 * The webhook's settings, checked once: the schema with its defaults, then the rules that tie settings
 * together on the defaulted result, so one run lists every problem.
 */
import type { ValidateFunction } from 'ajv';
import { checkAgainstSchema, compileSettingsSchema, type ConfigResult, type SourceOf } from '../../api/settings.js';
import { AUTO_MODE, webhookConfigSchema } from './schema.js';
import type { WebhookConfig } from './types.js';

export interface WebhookConfigContext {
  sourceOf?: SourceOf;
  /** The pod's own namespace, the default of certificates.namespace; absent outside a cluster. */
  podNamespace?: string;
}

let validator: ValidateFunction<WebhookConfig> | undefined;

export function validateWebhookConfig(raw: unknown, context: WebhookConfigContext = {}): ConfigResult<WebhookConfig> {
  validator ??= compileSettingsSchema(webhookConfigSchema);
  const check = checkAgainstSchema(validator, raw, context.sourceOf ?? new Map());
  const problems = [...check.problems];
  const settings = check.settings as Partial<WebhookConfig>;
  if (settings.certificates?.mode === AUTO_MODE)
    settings.certificates!.mode = settings.tls?.certFile || settings.tls?.keyFile ? 'files' : 'self-managed';
  const mode = settings.certificates?.mode;
  if (mode === 'files') {
    if (!settings.tls?.certFile)
      problems.push('tls.certFile: is required when certificates.mode is files (--tls-cert)');
    if (!settings.tls?.keyFile) problems.push('tls.keyFile: is required when certificates.mode is files (--tls-key)');
  }
  if (mode === 'self-managed' && settings.certificates !== undefined && settings.certificates.namespace === '') {
    if (context.podNamespace === undefined)
      problems.push(
        'certificates.namespace: is required in self-managed mode outside a pod (podeip runs in it); ' +
          'or serve certificate files with --tls-cert and --tls-key',
      );
    else settings.certificates.namespace = context.podNamespace;
  }
  if (problems.length > 0) return { ok: false, problems: [...new Set(problems)] };
  return { ok: true, config: check.settings as WebhookConfig };
}
