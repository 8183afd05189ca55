/**
 * What the admission tests share: a real store, real HTTPS webhooks with certificates from
 * certs/generate.ts, and builders for webhook configurations and admission attributes.
 */
import { eipAnnotationMatchCondition } from '../../../../webhook/registration.js';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { generateCa, generateServingCert, type PemPair } from '../../../../certs/generate.js';
import type { AdmissionReviewRequest } from '../../../../sandbox/kube/admission/index.js';
import type { SandboxClusterStore } from '../../../../sandbox/kube/store.js';
import {
  StatusError,
  type AdmissionAttributes,
  type AdmissionResult,
  type KubeObject,
  type UserInfo,
} from '../../../../sandbox/kube/types.js';

export const HOOK_NAMESPACE = 'webhooks';
export const HOOK_SERVICE = 'hooks';
export const SERVICE_DNS_NAME = `${HOOK_SERVICE}.${HOOK_NAMESPACE}.svc`;

// Three RSA keys for the whole suite: the trusted CA, its serving certificate, and a CA nobody trusts.
export const trustedCa: PemPair = generateCa({ commonName: 'admission test CA', validityDays: 1 });
export const strangerCa: PemPair = generateCa({ commonName: 'some other CA', validityDays: 1 });
export const servingCert: PemPair = generateServingCert({
  ca: trustedCa,
  commonName: SERVICE_DNS_NAME,
  dnsNames: [SERVICE_DNS_NAME, 'localhost'],
  ipAddresses: ['127.0.0.1'],
  validityDays: 1,
});

export const caBundleOf = (ca: PemPair): string => Buffer.from(ca.certPem, 'utf8').toString('base64');

export interface RecordedCall {
  path: string;
  search: string;
  headers: IncomingHttpHeaders;
  review: AdmissionReviewRequest;
  /** Which TLS connection carried it (1, 2, …), to see keep-alive at work. */
  connection: number;
}

/** What a route answers: a JSON body (the default), raw text, or nothing within the client's patience. */
export interface Answer {
  status?: number;
  json?: unknown;
  text?: string;
  delayMs?: number;
}

export type Route = (review: AdmissionReviewRequest) => Answer;

export interface ReviewServer {
  port: number;
  calls: RecordedCall[];
  route(path: string, answer: Route): void;
  callsTo(path: string): RecordedCall[];
  close(): Promise<void>;
}

/** A webhook server: every POST is recorded and answered by the route registered for its path. */
export async function startReviewServer(pair: PemPair = servingCert): Promise<ReviewServer> {
  const routes = new Map<string, Route>();
  const calls: RecordedCall[] = [];
  let connections = 0;
  const connectionIds = new WeakMap<TLSSocket, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://webhook');
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReviewRequest;
      calls.push({
        path: url.pathname,
        search: url.search,
        headers: req.headers,
        review,
        connection: connectionIds.get(req.socket as TLSSocket) ?? 0,
      });
      const route = routes.get(url.pathname);
      const answer: Answer = route === undefined ? { status: 404, text: 'no such route' } : route(review);
      const send = (): void => {
        const body = answer.text ?? JSON.stringify(answer.json);
        res.writeHead(answer.status ?? 200, {
          'Content-Type': answer.text === undefined ? 'application/json' : 'text/plain',
        });
        res.end(body);
      };
      if (answer.delayMs === undefined) return send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) send();
      }, answer.delayMs);
      timers.add(timer);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => connectionIds.set(socket, ++connections));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    route: (path, answer) => routes.set(path, answer),
    callsTo: (path) => calls.filter((c) => c.path === path),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// Answers, built the way a webhook builds them.
export const review = (request: AdmissionReviewRequest['request'], response: Record<string, unknown>): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: request.uid, ...response },
});

export const allow =
  (extra: Record<string, unknown> = {}): Route =>
  (r) => ({ json: review(r.request, { allowed: true, ...extra }) });

export const patchWith =
  (ops: unknown[], extra: Record<string, unknown> = {}): Route =>
  (r) => ({
    json: review(r.request, {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
      ...extra,
    }),
  });

export const deny =
  (status?: Record<string, unknown>, extra: Record<string, unknown> = {}): Route =>
  (r) => ({
    json: review(r.request, { allowed: false, ...(status === undefined ? {} : { status }), ...extra }),
  });

/** A webhook entry calling the test server through the `hooks` Service in `webhooks`. */
export function serviceWebhook(
  name: string,
  path: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    clientConfig: { service: { namespace: HOOK_NAMESPACE, name: HOOK_SERVICE, path }, caBundle: caBundleOf(trustedCa) },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  };
}

export function addWebhookConfiguration(
  store: SandboxClusterStore,
  name: string,
  webhooks: Array<Record<string, unknown>>,
): KubeObject {
  const type = store.resourceType('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')!;
  return store.create(type, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks,
  });
}

export function addNamespace(store: SandboxClusterStore, name: string, labels: Record<string, string> = {}): void {
  store.create(store.resourceType('', 'namespaces')!, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  });
}

export const ALICE: UserInfo = {
  username: 'alice',
  uid: 'u-1',
  groups: ['devs', 'system:authenticated'],
  extra: { team: ['net'] },
};

export function pod(
  name: string,
  extra: {
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generateName?: string;
  } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(name === '' ? {} : { name }),
      ...(extra.generateName === undefined ? {} : { generateName: extra.generateName }),
      namespace: extra.namespace ?? 'default',
      ...(extra.labels === undefined ? {} : { labels: extra.labels }),
      ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
    },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
  };
}

/** The attributes the request pipeline hands admission for a write of `object` (or a DELETE of `oldObject`). */
export function attributesFor(
  store: SandboxClusterStore,
  operation: AdmissionAttributes['operation'],
  object: KubeObject | undefined,
  extra: Partial<AdmissionAttributes> = {},
): AdmissionAttributes {
  const subject = object ?? extra.oldObject!;
  const apiVersion = subject.apiVersion ?? 'v1';
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const type = store.resourceTypeForKind(group, subject.kind ?? 'Pod')!;
  const optionsKind =
    operation === 'DELETE' ? 'DeleteOptions' : operation === 'UPDATE' ? 'UpdateOptions' : 'CreateOptions';
  return {
    operation,
    type,
    ...(type.namespaced ? { namespace: subject.metadata.namespace ?? 'default' } : {}),
    name: subject.metadata.name ?? '',
    ...(object === undefined ? {} : { object }),
    dryRun: false,
    userInfo: ALICE,
    options: { kind: optionsKind, apiVersion: 'meta.k8s.io/v1' },
    ...extra,
  };
}

/** The matchCondition podeip ships (webhook/registration.ts): only pods that ask about an EIP. */
export function podeipMatchCondition(): { name: string; expression: string } {
  return eipAnnotationMatchCondition();
}

/** The StatusError an admission call is refused with; fails the test if it is admitted or fails otherwise. */
export async function refusal(promise: Promise<AdmissionResult>): Promise<StatusError> {
  const outcome = await promise.then(
    (result) => result,
    (error: unknown) => error,
  );
  if (!(outcome instanceof StatusError)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
  return outcome;
}
