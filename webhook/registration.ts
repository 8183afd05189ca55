/**
 * podeip's MutatingWebhookConfiguration, built in one place for the demo, the tests and the deploy
 * manifests. Only pod CREATEs whose annotations ask about an EIP are sent (a CEL matchCondition), so a
 * webhook outage never blocks other pods; failurePolicy defaults to Fail for those pods because a pod that
 * asked for an EIP and slipped through unmutated would serve before its EIP works.
 */
import { EIP_ANNOTATION_KEYS } from '../api/annotations.js';
import { MUTATE_POD_PATH } from './server/mutate-pod-route.js';

export const WEBHOOK_CONFIGURATION_NAME = 'podeip-webhook';
export const WEBHOOK_NAME = 'pods.podeip.io';

export type WebhookTarget =
  | { service: { namespace: string; name: string; port?: number } }
  | { url: string /* https://host:port, the path is added */ };

export interface WebhookRegistrationOptions {
  target: WebhookTarget;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caPem: string;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  /** Namespaces never sent to the webhook (its own, to avoid a deadlock when it is down). */
  excludedNamespaces?: string[];
}

/** True when any EIP annotation (every key of ACK's table, both prefixes, legacy forms) is on the pod. */
export function eipAnnotationMatchCondition(): { name: string; expression: string } {
  const keys = [...EIP_ANNOTATION_KEYS];
  return {
    name: 'asks-about-an-eip',
    expression: `has(object.metadata.annotations) && object.metadata.annotations.exists(k, k in [${keys.map((k) => `'${k}'`).join(', ')}])`,
  };
}

export function podeipMutatingWebhookConfiguration(options: WebhookRegistrationOptions): Record<string, unknown> {
  const caBundle = Buffer.from(options.caPem).toString('base64');
  const clientConfig =
    'service' in options.target
      ? { service: { port: 443, ...options.target.service, path: MUTATE_POD_PATH }, caBundle }
      : { url: `${options.target.url.replace(/\/+$/, '')}${MUTATE_POD_PATH}`, caBundle };
  const excluded = options.excludedNamespaces ?? ['kube-system'];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: WEBHOOK_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/name': 'podeip' } },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        clientConfig,
        rules: [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
        ],
        failurePolicy: options.failurePolicy ?? 'Fail',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        reinvocationPolicy: 'IfNeeded',
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }],
        },
        matchConditions: [eipAnnotationMatchCondition()],
      },
    ],
  };
}
