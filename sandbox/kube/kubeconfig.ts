/** The kubeconfig that points kubectl and client-node at the stand-in: its CA and bearer token, context `sandbox`. */
import YAML from 'yaml';

export interface KubeconfigInput {
  server: string;
  caPem: string;
  token: string;
  namespace?: string;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sandbox',
        cluster: {
          server: input.server,
          'certificate-authority-data': Buffer.from(input.caPem, 'utf8').toString('base64'),
        },
      },
    ],
    users: [{ name: 'sandbox', user: { token: input.token } }],
    contexts: [
      { name: 'sandbox', context: { cluster: 'sandbox', user: 'sandbox', namespace: input.namespace ?? 'default' } },
    ],
    'current-context': 'sandbox',
    preferences: {},
  });
}
