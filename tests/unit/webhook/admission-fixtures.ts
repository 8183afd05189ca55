/** Loads the AdmissionReview requests in tests/fixtures/admission and the policy the planner tests use. */
import { validateWebhookConfig } from '../../../webhook/config/validate.js';
import { readFileSync, readdirSync } from 'node:fs';
import { loadConfig } from '../../../cli/config.js';
import { webhookSettings } from '../../../webhook/config/schema.js';
import type { MutationPolicy } from '../../../webhook/config/types.js';
import type { PodAdmissionInput } from '../../../webhook/mutation/plan.js';
import type { PodJson } from '../../../webhook/mutation/pod.js';
import type { AdmissionOperation } from '../../../webhook/mutation/types.js';

const FIXTURE_DIR = new URL('../../fixtures/admission/', import.meta.url);

export interface AdmissionReviewFixture {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: {
    uid: string;
    operation: AdmissionOperation;
    namespace: string;
    name?: string;
    object: PodJson;
    oldObject: PodJson | null;
    [field: string]: unknown;
  };
}

export function admissionFixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort();
}

export function loadAdmissionReview(name: string): AdmissionReviewFixture {
  return JSON.parse(readFileSync(new URL(name, FIXTURE_DIR), 'utf8')) as AdmissionReviewFixture;
}

/** The planner's input for a fixture; a fresh copy each time, so a test may change it. */
export function plannerInput(name: string): PodAdmissionInput {
  const { request } = loadAdmissionReview(name);
  return { operation: request.operation, namespace: request.namespace, pod: request.object };
}

/** The schema's defaults (webhook/config/schema.ts), so these expectations match a default deployment. */
/** The policy a webhook runs with when nothing is configured: the schema's defaults, as the CLI loads them. */
export function defaultPolicy(): MutationPolicy {
  const loaded = loadConfig({
    check: (raw, sourceOf) => validateWebhookConfig(raw, { sourceOf }),
    settings: webhookSettings,
    flags: { 'tls-cert': '/unused/tls.crt', 'tls-key': '/unused/tls.key' },
    env: {},
  });
  if (!loaded.ok) throw new Error(`default webhook configuration is invalid: ${loaded.problems.join('; ')}`);
  return loaded.config.mutation;
}
