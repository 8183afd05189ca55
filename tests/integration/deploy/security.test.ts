/**
 * The properties a cluster admin is promised, read from what kustomize renders (and, for RBAC comments,
 * from the files themselves): hardened pods, probes, resources, replicas and budgets, least-privilege RBAC
 * with a reason per rule, a registration that only sees EIP pods, and settings each program accepts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse, parseAllDocuments, isMap, isSeq } from 'yaml';
import { BINDER_NODE_OPTIONS, missingNodeOptions } from '../../../binder/runtime.js';
import { loadBinderConfig } from '../../../cli/binder-config.js';
import { validateWebhookConfig } from '../../../webhook/config/validate.js';
import { eipAnnotationMatchCondition, WEBHOOK_CONFIGURATION_NAME } from '../../../webhook/registration.js';
import { selfManagedRegistration } from '../../../webhook/server/main.js';
import { DEPLOY_DIR, renderKustomization, type KubeObject } from './render.js';

const RENDERS = ['base', 'overlays/access-key', 'overlays/rrsa', 'overlays/cert-manager', 'overlays/monitoring'];
const UID = 65532;

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: object;
  projected?: { sources: { serviceAccountToken?: { audience?: string; path: string } }[] };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
  containers: Container[];
  volumes?: Volume[];
}
interface Deployment extends KubeObject {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { spec: PodSpec } };
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

const rendered = new Map<string, KubeObject[]>();
beforeAll(async () => {
  for (const dir of RENDERS) rendered.set(dir, await renderKustomization(join(DEPLOY_DIR, dir)));
});

function objectsOf(dir: string): KubeObject[] {
  return rendered.get(dir)!;
}
function find<T extends KubeObject>(dir: string, kind: string, name: string): T {
  const found = objectsOf(dir).find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`${dir} renders no ${kind} ${name}`);
  return found as T;
}
function deployment(dir: string, program: 'webhook' | 'binder'): Deployment {
  return find<Deployment>(dir, 'Deployment', `podeip-${program}`);
}
function configFile(dir: string, program: 'webhook' | 'binder'): string {
  return (find(dir, 'ConfigMap', `podeip-${program}`) as KubeObject & { data: Record<string, string> }).data[
    `${program}.yaml`
  ]!;
}
/** Quantities as the deploy files write them: Mi and Gi for memory, m or whole cores for CPU. */
function quantity(value: string): number {
  const units: Record<string, number> = { Mi: 2 ** 20, Gi: 2 ** 30, m: 1e-3 };
  const match = /^([0-9.]+)(Mi|Gi|m)?$/.exec(value);
  if (match === null) throw new Error(`unexpected quantity ${value}`);
  return Number(match[1]) * (match[2] === undefined ? 1 : units[match[2]]!);
}
/** The volume mounted at the directory holding `file`, with that mount. */
function volumeHolding(spec: PodSpec, file: string): { volume: Volume; readOnly: boolean; key: string } {
  const container = spec.containers[0]!;
  const mount = container.volumeMounts?.find((m) => posix.dirname(file) === m.mountPath);
  if (mount === undefined) throw new Error(`nothing is mounted at ${posix.dirname(file)}`);
  const volume = spec.volumes!.find((v) => v.name === mount.name)!;
  return { volume, readOnly: mount.readOnly === true, key: posix.basename(file) };
}
function envOf(container: Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
}

describe.each(RENDERS)('deploy/%s', (dir) => {
  describe.each(['webhook', 'binder'] as const)('the %s Deployment', (program) => {
    it('runs two replicas spread across nodes, kept by a PodDisruptionBudget', () => {
      const d = deployment(dir, program);
      expect(d.metadata.namespace).toBe('podeip-system');
      expect(d.spec.replicas).toBe(2);
      expect(d.spec.selector.matchLabels).toEqual({
        'app.kubernetes.io/name': 'podeip',
        'app.kubernetes.io/component': program,
      });
      const spread = d.spec.template.spec.topologySpreadConstraints ?? [];
      expect(spread).toContainEqual(
        expect.objectContaining({
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: d.spec.selector.matchLabels },
        }),
      );
      const pdb = find<KubeObject & { spec: { minAvailable: number; selector: object } }>(
        dir,
        'PodDisruptionBudget',
        `podeip-${program}`,
      );
      expect(pdb.spec.selector).toEqual({ matchLabels: d.spec.selector.matchLabels });
      expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
      expect(pdb.spec.minAvailable).toBeLessThan(d.spec.replicas);
    });

    it('is hardened: non-root fixed UID, read-only root with /tmp on an emptyDir, no escalation, no capabilities, RuntimeDefault seccomp', () => {
      const spec = deployment(dir, program).spec.template.spec;
      expect(spec.serviceAccountName).toBe(`podeip-${program}`);
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: UID,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const container of spec.containers) {
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
        for (const mount of container.volumeMounts ?? [])
          if (mount.mountPath !== '/tmp')
            expect({ [mount.mountPath]: mount.readOnly }).toEqual({ [mount.mountPath]: true });
      }
    });

    it('has readiness and liveness probes on its named port, and requests within its limits', () => {
      const container = deployment(dir, program).spec.template.spec.containers[0]!;
      const port = program === 'webhook' ? { name: 'https', number: 9443 } : { name: 'metrics', number: 8080 };
      expect(container.ports).toContainEqual(expect.objectContaining({ name: port.name, containerPort: port.number }));
      const scheme = program === 'webhook' ? 'HTTPS' : 'HTTP';
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: port.name, scheme });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: port.name, scheme });
      const { requests = {}, limits = {} } = container.resources ?? {};
      for (const resource of ['cpu', 'memory']) {
        expect(quantity(requests[resource]!)).toBeGreaterThan(0);
        expect(quantity(requests[resource]!)).toBeLessThanOrEqual(quantity(limits[resource]!));
      }
    });

    it('runs `podeip <program> --config` on the file its ConfigMap mounts', () => {
      const spec = deployment(dir, program).spec.template.spec;
      const container = spec.containers[0]!;
      expect(container.image).toBe('podeip:0.1.0');
      expect(container.args).toEqual([program, '--config', `/etc/podeip/${program}.yaml`]);
      const { volume, key } = volumeHolding(spec, `/etc/podeip/${program}.yaml`);
      expect(volume.configMap?.name).toBe(`podeip-${program}`);
      expect(parse(configFile(dir, program))).toBeDefined();
      expect(key).toBe(`${program}.yaml`);
    });
  });

  it('runs the binder with the Node options binder/runtime.ts recommends and memory for its heap limit', () => {
    const container = deployment(dir, 'binder').spec.template.spec.containers[0]!;
    const nodeOptions = envOf(container).NODE_OPTIONS ?? '';
    expect(missingNodeOptions([], nodeOptions)).toEqual([]);
    expect(nodeOptions.split(' ')).toEqual([...BINDER_NODE_OPTIONS]);
    // The README: the container's limit is the heap limit plus about 120 MB, and never under 256Mi.
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)![1]);
    expect(quantity(container.resources!.limits!.memory!)).toBeGreaterThanOrEqual((heapMiB + 120) * 2 ** 20);
  });

  it('mounts the service account token only into programs that call the API', () => {
    expect(deployment(dir, 'binder').spec.template.spec.automountServiceAccountToken).toBe(true);
    const webhookCallsApi = parse(configFile(dir, 'webhook')).certificates.mode === 'self-managed';
    expect(deployment(dir, 'webhook').spec.template.spec.automountServiceAccountToken).toBe(webhookCallsApi);
    for (const account of ['podeip-webhook', 'podeip-binder'])
      expect(
        find<KubeObject & { automountServiceAccountToken?: boolean }>(dir, 'ServiceAccount', account),
      ).toMatchObject({ automountServiceAccountToken: false });
  });

  it('registers the webhook for EIP pods only, failing closed for them, never for kube-system or podeip-system', () => {
    type Registration = KubeObject & { webhooks: Record<string, unknown>[] };
    const mwc = find<Registration>(dir, 'MutatingWebhookConfiguration', WEBHOOK_CONFIGURATION_NAME);
    expect(mwc.webhooks).toHaveLength(1);
    const webhook = mwc.webhooks[0]! as {
      failurePolicy: string;
      sideEffects: string;
      timeoutSeconds: number;
      matchConditions: unknown[];
      rules: { operations: string[]; resources: string[] }[];
      namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
      clientConfig: { service: { namespace: string; name: string; port: number } };
    };
    expect(webhook.failurePolicy).toBe('Fail');
    expect(webhook.sideEffects).toBe('None');
    expect(webhook.timeoutSeconds).toBeLessThanOrEqual(10);
    expect(webhook.matchConditions).toEqual([eipAnnotationMatchCondition()]);
    expect(webhook.rules.map((r) => [r.operations, r.resources])).toEqual([[['CREATE'], ['pods']]]);
    const excluded = webhook.namespaceSelector.matchExpressions.find(
      (e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn',
    );
    expect(excluded?.values).toEqual(expect.arrayContaining(['kube-system', 'podeip-system']));
    const service = find<KubeObject & { spec: { ports: { port: number; targetPort: string }[] } }>(
      dir,
      'Service',
      webhook.clientConfig.service.name,
    );
    expect(webhook.clientConfig.service.namespace).toBe(service.metadata.namespace);
    expect(service.spec.ports).toContainEqual(
      expect.objectContaining({ port: webhook.clientConfig.service.port, targetPort: 'https' }),
    );
  });

  it('gives the webhook settings it accepts; in self-managed mode the registration applied is the one it keeps', () => {
    const webhookDeployment = deployment(dir, 'webhook');
    const checked = validateWebhookConfig(parse(configFile(dir, 'webhook')), {
      podNamespace: webhookDeployment.metadata.namespace!,
    });
    if (!checked.ok) throw new Error(checked.problems.join('\n'));
    const mwc = find<KubeObject & { webhooks: { clientConfig: Record<string, unknown> }[] }>(
      dir,
      'MutatingWebhookConfiguration',
      WEBHOOK_CONFIGURATION_NAME,
    );
    if (checked.config.certificates.mode !== 'self-managed') {
      // cert-manager's cainjector writes the caBundle; the webhook calls no API and holds no permission.
      expect(webhookDeployment.spec.template.spec.automountServiceAccountToken).toBe(false);
      const webhookBindings = objectsOf(dir).filter(
        (o) =>
          (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') &&
          (o as KubeObject & { subjects: { name: string }[] }).subjects.some((s) => s.name === 'podeip-webhook'),
      );
      expect(webhookBindings).toEqual([]);
      return;
    }
    // Anything else would be "repaired" by the webhook the moment it starts.
    const kept = selfManagedRegistration(checked.config, '') as unknown as typeof mwc;
    const withoutCaBundle = (o: typeof mwc): unknown => ({
      ...o,
      metadata: { name: o.metadata.name, labels: o.metadata.labels },
      webhooks: o.webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: undefined } })),
    });
    expect(withoutCaBundle(mwc)).toEqual(withoutCaBundle(kept));
    expect(mwc.webhooks[0]!.clientConfig.caBundle).toBeUndefined();
  });

  it('grants no wildcard, no Secret to the binder and no pod to the webhook', () => {
    const roles = objectsOf(dir).filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole') as (KubeObject & {
      rules: Rule[];
    })[];
    expect(roles.length).toBeGreaterThanOrEqual(2);
    for (const role of roles)
      for (const rule of role.rules)
        for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames])
          expect(field ?? []).not.toContain('*');
    const bindings = objectsOf(dir).filter(
      (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
    ) as (KubeObject & {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    })[];
    const resourcesOf = (account: string): string[] =>
      bindings
        .filter((b) =>
          b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === 'podeip-system'),
        )
        .flatMap((b) => roles.find((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name)!.rules)
        .flatMap((rule) => rule.resources ?? []);
    expect(resourcesOf('podeip-binder')).toEqual(expect.arrayContaining(['pods', 'pods/status', 'podeips', 'leases']));
    expect(resourcesOf('podeip-binder')).not.toContain('secrets');
    expect(resourcesOf('podeip-webhook').filter((r) => r.startsWith('pods'))).toEqual([]);
  });

  it('gives the binder settings it accepts once the three cluster values are filled in', async () => {
    const dirOnDisk = await mkdtemp(join(tmpdir(), 'podeip-binder-config-'));
    try {
      const file = join(dirOnDisk, 'binder.yaml');
      await writeFile(file, configFile(dir, 'binder'));
      const env = envOf(deployment(dir, 'binder').spec.template.spec.containers[0]!);
      // As shipped, the binder refuses to start and names exactly what the admin must fill in.
      const unfilled = loadBinderConfig({ file, env, flags: {} });
      expect(unfilled.ok ? [] : unfilled.problems.map((p) => p.split(':')[0])).toEqual([
        'clusterId',
        'cloud.regionId',
        'cloud.vpcId',
      ]);
      const filled = loadBinderConfig({
        file,
        env,
        flags: { 'cluster-id': 'c8f3e2a1b0d9', region: 'cn-hangzhou', vpc: 'vpc-bp1abc' },
        podNamespace: 'podeip-system',
      });
      expect(filled.ok ? [] : filled.problems).toEqual([]);
      if (!filled.ok) return;
      expect(filled.config.leaderElection).toMatchObject({
        enabled: true,
        namespace: 'podeip-system',
        leaseName: 'podeip-binder',
      });
      const metricsPort = deployment(dir, 'binder').spec.template.spec.containers[0]!.ports!.find(
        (p) => p.name === 'metrics',
      );
      expect(filled.config.server.port).toBe(metricsPort?.containerPort);
      const credentials = filled.config.cloud.credentials;
      if (dir === 'overlays/access-key') {
        expect(credentials.source).toBe('key-file');
        const path = (credentials as { path: string }).path;
        const { volume, readOnly, key } = volumeHolding(deployment(dir, 'binder').spec.template.spec, path);
        expect({ secret: volume.secret?.secretName, readOnly }).toEqual({
          secret: 'podeip-binder-credentials',
          readOnly: true,
        });
        const secret = find<KubeObject & { data: Record<string, string> }>(dir, 'Secret', 'podeip-binder-credentials');
        expect(Object.keys(secret.data)).toEqual([key]);
      } else {
        expect(credentials).toEqual({ source: 'default-chain' });
      }
    } finally {
      await rm(dirOnDisk, { recursive: true, force: true });
    }
  });
});

describe('the overlays', () => {
  it('rrsa: gives Alibaba’s default chain a role, an OIDC provider and a token file STS accepts', () => {
    const spec = deployment('overlays/rrsa', 'binder').spec.template.spec;
    const env = envOf(spec.containers[0]!);
    expect(env.ALIBABA_CLOUD_ROLE_ARN).toMatch(/^acs:ram::.+:role\/podeip-binder$/);
    expect(env.ALIBABA_CLOUD_OIDC_PROVIDER_ARN).toMatch(/^acs:ram::.+:oidc-provider\/.+$/);
    const { volume, readOnly, key } = volumeHolding(spec, env.ALIBABA_CLOUD_OIDC_TOKEN_FILE!);
    expect(readOnly).toBe(true);
    expect(volume.projected?.sources).toContainEqual({
      serviceAccountToken: expect.objectContaining({ audience: 'sts.aliyuncs.com', path: key }),
    });
    const account = find('overlays/rrsa', 'ServiceAccount', 'podeip-binder');
    expect(account.metadata.annotations?.['pod-identity.alibabacloud.com/role-name']).toBe('podeip-binder');
    expect(objectsOf('overlays/rrsa').filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('cert-manager: a serving Certificate for the Service, injected into the registration, served from files', () => {
    const dir = 'overlays/cert-manager';
    const config = parse(configFile(dir, 'webhook'));
    expect(config.certificates.mode).toBe('files');
    const spec = deployment(dir, 'webhook').spec.template.spec;
    for (const file of [config.tls.certFile, config.tls.keyFile]) {
      const { volume, readOnly } = volumeHolding(spec, file);
      expect({ secret: volume.secret?.secretName, readOnly }).toEqual({ secret: 'podeip-webhook-tls', readOnly: true });
    }
    type Certificate = KubeObject & { spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string } } };
    const serving = objectsOf(dir).find(
      (o): o is Certificate => o.kind === 'Certificate' && (o as Certificate).spec.secretName === 'podeip-webhook-tls',
    )!;
    expect(serving.spec.dnsNames).toContain('podeip-webhook.podeip-system.svc');
    const issuer = find<KubeObject & { spec: { ca?: { secretName: string } } }>(
      dir,
      'Issuer',
      serving.spec.issuerRef.name,
    );
    const ca = objectsOf(dir).find(
      (o) => o.kind === 'Certificate' && (o as Certificate).spec.secretName === issuer.spec.ca?.secretName,
    ) as (Certificate & { spec: { isCA: boolean } }) | undefined;
    expect(ca?.spec.isCA).toBe(true);
    const mwc = find(dir, 'MutatingWebhookConfiguration', WEBHOOK_CONFIGURATION_NAME);
    expect(mwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(
      `${serving.metadata.namespace}/${serving.metadata.name}`,
    );
    expect(parse(configFile('base', 'webhook')).certificates.mode).toBe('self-managed');
  });

  it('monitoring: each ServiceMonitor selects a Service of its program with the port it scrapes', () => {
    const dir = 'overlays/monitoring';
    type Monitor = KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    };
    type Service = KubeObject & { spec: { ports: { name: string }[] } };
    const monitors = objectsOf(dir).filter((o): o is Monitor => o.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['podeip-binder', 'podeip-webhook']);
    for (const monitor of monitors) {
      const services = objectsOf(dir).filter(
        (o): o is Service =>
          o.kind === 'Service' &&
          o.metadata.namespace === monitor.metadata.namespace &&
          Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
      );
      expect(services).toHaveLength(1);
      for (const endpoint of monitor.spec.endpoints)
        expect(services[0]!.spec.ports.map((p) => p.name)).toContain(endpoint.port);
    }
  });
});

describe('the RBAC files', () => {
  it('say above every rule which call needs it', async () => {
    const uncommented: string[] = [];
    let rules = 0;
    for (const file of await yamlFilesUnder(DEPLOY_DIR)) {
      for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
        const kind = document.get('kind');
        if (kind !== 'Role' && kind !== 'ClusterRole') continue;
        const seq = document.get('rules', true);
        if (!isSeq(seq)) continue;
        seq.items.forEach((item, index) => {
          rules++;
          // yaml keeps a comment above a list's first item on the list itself.
          const comment =
            (isMap(item) ? item.commentBefore : undefined) ?? (index === 0 ? seq.commentBefore : undefined);
          if (comment === undefined || comment === null || comment.trim().length < 10)
            uncommented.push(
              `${file.slice(DEPLOY_DIR.length)} ${String(document.get('kind'))} ${String(document.getIn(['metadata', 'name']))} rule ${index}`,
            );
        });
      }
    }
    expect(rules).toBeGreaterThanOrEqual(8);
    expect(uncommented).toEqual([]);
  });
});

async function yamlFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}
