/**
 * Self-managed certificates with no human in the loop. Every replica reads the Secret (creating it when
 * there is none: a create that loses the race with 409 reads the winner's, so replicas starting together
 * agree on one CA), serves its current pair and follows it through a watch, with a re-read every repair
 * period as a backstop. One replica at a time, the holder of a Lease, writes: it renews (self-managed.ts
 * has the steps), restores a deleted or broken Secret from what it last saw, and keeps the
 * MutatingWebhookConfiguration as podeip builds it, caBundle included, whoever deleted or edited it.
 */
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Watch,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
} from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { describeApiError, isConflict, isNotFound } from '../api/kube/api-clients.js';
import { LeaderElector } from '../api/kube/leader-election.js';
import {
  joinPemBundle,
  materialFromSecret,
  materialToSecret,
  newMaterial,
  renewalStep,
  splitPemBundle,
  type CertificateMaterial,
  type MaterialSettings,
} from './self-managed.js';
import type { PemPair } from './generate.js';

export interface CertificateKeeperOptions extends MaterialSettings {
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  leaseName: string;
  /** Unique per replica (the pod's name and a random suffix). */
  identity: string;
  /** The registration podeip wants, trusting `caBundlePem`. */
  registration(caBundlePem: string): V1MutatingWebhookConfiguration;
  /** Called with each new pair to serve; a throw means the pair was refused and the old one stays. */
  serve(pair: PemPair): void;
  repairIntervalSeconds: number;
  logger: Logger;
  now?: () => number;
}

/** Bursts of watch events settle into one pass. */
const SETTLE_MS = 50;
const WATCH_RESTART_MS = 1000;

export class CertificateKeeper {
  private readonly core: CoreV1Api;
  private readonly admission: AdmissionregistrationV1Api;
  private readonly elector: LeaderElector;
  private readonly now: () => number;
  private readonly log: Logger;
  private served: PemPair | undefined;
  /** The last valid material seen in the Secret: what a deleted or broken Secret is restored from. */
  private lastGood: CertificateMaterial | undefined;
  private leading = false;
  private stopped = false;
  private watches: AbortController[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private passTimer: NodeJS.Timeout | undefined;
  private passRunning: Promise<void> | undefined;
  private passAgain = false;

  constructor(private readonly options: CertificateKeeperOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.admission = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    this.now = options.now ?? Date.now;
    this.log = options.logger;
    this.elector = new LeaderElector({
      api: options.kubeConfig.makeApiClient(CoordinationV1Api),
      namespace: options.namespace,
      name: options.leaseName,
      identity: options.identity,
      logger: options.logger,
      onStartedLeading: () => {
        this.leading = true;
        this.log.info({ lease: options.leaseName }, 'leading the certificates: renewals and repairs are ours');
        this.schedulePass(0);
      },
      onStoppedLeading: () => {
        this.leading = false;
      },
    });
  }

  /** The pair served now. */
  get current(): PemPair | undefined {
    return this.served;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Reads or creates the Secret and serves it; resolves once a pair is served. Then watches and leads. */
  async start(): Promise<PemPair> {
    for (;;) {
      const secret = await this.readSecret();
      if (secret !== undefined) {
        const reading = materialFromSecret(secret.data, secret.metadata?.annotations);
        if (reading.ok) {
          this.adopt(reading.material);
          break;
        }
        // A broken Secret at start: make one good again, as the leader would (a conflict re-reads).
        this.log.warn({ problem: reading.problem }, 'the certificates Secret is not usable; writing a new one');
        await this.writeSecret(newMaterial(this.options), secret).catch((err: unknown) => this.retryable(err));
        continue;
      }
      const material = newMaterial(this.options);
      try {
        await this.writeSecret(material, undefined);
        this.log.info({ secret: this.options.secretName }, 'created the certificates Secret with a new CA');
      } catch (err) {
        // 409: another replica created it first; the loop reads and serves the winner's.
        this.retryable(err);
      }
    }
    this.watch('secret');
    this.watch('registration');
    const tick = setInterval(() => {
      void this.refreshFromSecret();
      this.schedulePass(0);
    }, this.options.repairIntervalSeconds * 1000);
    tick.unref();
    this.timers.add(tick);
    this.elector.start();
    return this.served as PemPair;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watches) w.abort();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.passTimer);
    await this.elector.stop({ release: true });
    await this.passRunning;
  }

  private retryable(err: unknown): void {
    if (isConflict(err)) return;
    throw new Error(
      `certificates Secret ${this.options.namespace}/${this.options.secretName}: ${describeApiError(err)}`,
      {
        cause: err,
      },
    );
  }

  private adopt(material: CertificateMaterial): void {
    this.lastGood = material;
    const { serving } = material;
    if (this.served?.certPem === serving.certPem && this.served.keyPem === serving.keyPem) return;
    try {
      this.options.serve(serving);
      this.served = serving;
    } catch (err) {
      this.log.error({ reason: (err as Error).message }, 'the Secret holds a certificate the server refused');
    }
  }

  private async readSecret(): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name: this.options.secretName, namespace: this.options.namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async writeSecret(material: CertificateMaterial, existing: V1Secret | undefined): Promise<void> {
    const { data, annotations } = materialToSecret(material);
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: this.options.secretName,
        namespace: this.options.namespace,
        labels: { 'app.kubernetes.io/name': 'podeip', 'app.kubernetes.io/component': 'webhook' },
        annotations,
        ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      data,
    };
    if (existing === undefined) await this.core.createNamespacedSecret({ namespace: this.options.namespace, body });
    else
      await this.core.replaceNamespacedSecret({
        name: this.options.secretName,
        namespace: this.options.namespace,
        body,
      });
  }

  private async refreshFromSecret(): Promise<void> {
    try {
      const secret = await this.readSecret();
      if (secret === undefined) return;
      const reading = materialFromSecret(secret.data, secret.metadata?.annotations);
      if (reading.ok) this.adopt(reading.material);
    } catch (err) {
      this.log.warn({ reason: describeApiError(err) }, 'cannot read the certificates Secret; serving what we have');
    }
  }

  private watch(what: 'secret' | 'registration'): void {
    if (this.stopped) return;
    const path =
      what === 'secret'
        ? `/api/v1/namespaces/${this.options.namespace}/secrets`
        : '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
    const name = what === 'secret' ? this.options.secretName : this.registrationName();
    const restart = (): void => {
      if (this.stopped) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.watch(what);
      }, WATCH_RESTART_MS);
      this.timers.add(t);
    };
    new Watch(this.options.kubeConfig)
      .watch(
        path,
        { fieldSelector: `metadata.name=${name}` },
        (phase: string, object: V1Secret) => {
          if (what === 'secret' && phase !== 'DELETED' && phase !== 'BOOKMARK') {
            const reading = materialFromSecret(object.data, object.metadata?.annotations);
            if (reading.ok) this.adopt(reading.material);
          }
          this.schedulePass(SETTLE_MS);
        },
        () => restart(),
      )
      .then(
        (controller) => {
          if (this.stopped) controller.abort();
          else this.watches.push(controller);
          // Whatever changed while no watch ran is caught by a pass.
          this.schedulePass(SETTLE_MS);
        },
        () => restart(),
      );
  }

  private registrationName(): string {
    return this.options.registration('').metadata?.name as string;
  }

  /** Runs a leader's pass after `delayMs`; passes never overlap (a request during one runs it again). */
  private schedulePass(delayMs: number): void {
    if (this.stopped || !this.leading) return;
    clearTimeout(this.passTimer);
    this.passTimer = setTimeout(() => {
      if (this.passRunning) {
        this.passAgain = true;
        return;
      }
      this.passRunning = (async () => {
        do {
          this.passAgain = false;
          await this.pass().catch((err: unknown) =>
            this.log.warn({ reason: describeApiError(err) }, 'certificates repair pass failed; retrying'),
          );
        } while (this.passAgain && this.leading && !this.stopped);
      })().finally(() => {
        this.passRunning = undefined;
      });
    }, delayMs);
  }

  /** One leader's pass: the Secret whole, a renewal step when due, the registration as podeip builds it. */
  private async pass(): Promise<void> {
    if (!this.leading || this.stopped) return;
    let secret = await this.readSecret();
    let material: CertificateMaterial;
    const reading = secret === undefined ? undefined : materialFromSecret(secret.data, secret.metadata?.annotations);
    if (reading?.ok) {
      material = reading.material;
      this.adopt(material);
    } else {
      const started = this.now();
      material = this.lastGood ?? newMaterial(this.options);
      await this.writeSecret(material, secret);
      this.log.warn(
        {
          secret: this.options.secretName,
          problem: reading === undefined ? 'deleted' : reading.problem,
          restored: this.lastGood !== undefined,
          ms: this.now() - started,
        },
        'certificates Secret repaired',
      );
      secret = await this.readSecret();
    }

    const trusted = await this.ensureRegistration(material);
    const step = renewalStep(material, this.now(), this.options, trusted);
    if (step.kind === 'none') {
      this.scheduleDue(step.dueAt);
      return;
    }
    await this.writeSecret(step.material, secret);
    this.log.info({ step: step.kind, cas: step.material.caBundle.length }, `certificate renewal: ${step.kind}`);
    this.adopt(step.material);
    await this.ensureRegistration(step.material);
    this.schedulePass(0);
  }

  private scheduleDue(dueAt: number): void {
    const wait = Math.max(0, Math.min(dueAt - this.now(), this.options.repairIntervalSeconds * 1000));
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.schedulePass(0);
    }, wait);
    t.unref();
    this.timers.add(t);
  }

  /**
   * Creates or puts back the registration; true when, afterwards, its caBundle holds every CA of the
   * material's bundle.
   */
  private async ensureRegistration(material: CertificateMaterial): Promise<boolean> {
    const desired = this.options.registration(joinPemBundle(material.caBundle));
    const name = desired.metadata?.name as string;
    let actual: V1MutatingWebhookConfiguration | undefined;
    try {
      actual = await this.admission.readMutatingWebhookConfiguration({ name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (actual === undefined) {
      const started = this.now();
      await this.admission.createMutatingWebhookConfiguration({ body: desired });
      this.log.warn({ name, ms: this.now() - started }, 'webhook registration was missing: created');
      return true;
    }
    if (sameRegistration(desired, actual)) return true;
    const started = this.now();
    await this.admission.replaceMutatingWebhookConfiguration({
      name,
      body: {
        ...desired,
        metadata: { ...actual.metadata, labels: { ...actual.metadata?.labels, ...desired.metadata?.labels } },
      },
    });
    // As applied from deploy/, the registration has no caBundle until a replica fills it in: not a repair.
    const unfilled = (actual.webhooks ?? []).every((webhook) => !webhook.clientConfig?.caBundle);
    if (unfilled) this.log.info({ name, ms: this.now() - started }, 'webhook registration: caBundle filled in');
    else
      this.log.warn(
        { name, ms: this.now() - started },
        'webhook registration differed from what podeip keeps: put back',
      );
    return true;
  }
}

/** Empty values the API server may add by default count as absent. */
function pruned(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruned);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const p = pruned(v);
    if (p === undefined || p === null) continue;
    if (typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[key] = p;
  }
  return out;
}

/** Whether the registration's webhooks (caBundle included, compared as a set of CAs) are podeip's. */
export function sameRegistration(
  desired: V1MutatingWebhookConfiguration,
  actual: V1MutatingWebhookConfiguration,
): boolean {
  const normal = (c: V1MutatingWebhookConfiguration): unknown =>
    pruned(
      JSON.parse(JSON.stringify(c.webhooks ?? [])).map((w: { clientConfig?: { caBundle?: string } }) => {
        const bundle = w.clientConfig?.caBundle;
        if (w.clientConfig && bundle !== undefined)
          w.clientConfig.caBundle = splitPemBundle(Buffer.from(bundle, 'base64').toString('utf8'))
            .map((p) => p.trim())
            .sort()
            .join('\n');
        return w;
      }),
    );
  return isDeepStrictEqual(normal(desired), normal(actual));
}
