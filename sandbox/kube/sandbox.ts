/**
 * startKubeSandbox: the Kubernetes API stand-in on HTTPS (a throw-away CA, a random bearer token), with
 * the store, the request pipeline (admission included) and the fault-injection controls.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { generateCa, generateServingCert } from '../../certs/generate.js';
import { FaultInjector, matchesFilter, type KubeControls, type RequestLogEntry } from './controls.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.js';
import { authenticate, type AuthenticationContext } from './auth/authentication.js';
import { writeBootstrapPolicy } from './auth/bootstrap.js';
import { authorize, forbiddenMessage, type RbacTypes } from './auth/rbac.js';
import { requestAttributes } from './auth/request-info.js';
import { handleReview, isReviewPath } from './auth/reviews.js';
import { ServiceAccountTokens } from './auth/tokens.js';
import { forbidden, internalError, pathNotFound } from './errors.js';
import { sendJson, sendStatus, sendText, setWarnings } from './http-io.js';
import { renderKubeconfig } from './kubeconfig.js';
import { serveOpenApi } from './openapi.js';
import { createRequestPipeline, type RequestPipeline } from './request-pipeline.js';
import { handleResource } from './resource-handlers.js';
import { parseRoute } from './routes.js';
import { createClusterStore, type SandboxClusterStore } from './store.js';
import { StatusError, type AdmissionChain } from './types.js';
import { WatchConnections } from './watch-stream.js';

export interface KubeSandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  admission?: AdmissionChain;
  /** Watch events kept for resuming watches; older versions get 410 Expired. Default 1000. */
  watchHistory?: number;
  bookmarkIntervalMs?: number;
  logger?: Logger;
}

export interface KubeSandbox {
  url: string;
  port: number;
  caPem: string;
  /** The admin's bearer token (system:masters). */
  token: string;
  /** Issues and verifies ServiceAccount tokens (the kubelet's projected tokens, TokenRequest). */
  serviceAccountTokens: ServiceAccountTokens;
  store: SandboxClusterStore;
  /** Writes that go through decoding, built-in admission and the admission chain, like an HTTP request. */
  api: RequestPipeline;
  controls: KubeControls;
  kubeconfig(options?: { namespace?: string }): string;
  setAdmission(chain: AdmissionChain | undefined): void;
  close(): Promise<void>;
}

/** The in-cluster address of the API (the `kubernetes` Service in `default`). */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
const MAX_LOG_ENTRIES = 10_000;

function publishKubernetesService(store: SandboxClusterStore, host: string, port: number): void {
  const services = store.resourceType('', 'services')!;
  store.create(services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      clusterIP: KUBERNETES_SERVICE_IP,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
  });
  store.create(store.resourceType('', 'endpoints')!, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [{ addresses: [{ ip: host }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
  });
}

export async function startKubeSandbox(options: KubeSandboxOptions = {}): Promise<KubeSandbox> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger;
  const ca = generateCa({ commonName: 'kubernetes-sandbox-ca', validityDays: 30 });
  const serving = generateServingCert({
    ca,
    commonName: 'kube-apiserver',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: [
      ...new Set(['127.0.0.1', KUBERNETES_SERVICE_IP, ...(host === '0.0.0.0' || host === '::' ? [] : [host])]),
    ],
    validityDays: 30,
  });
  const token = randomBytes(24).toString('hex');
  const store = createClusterStore({
    rootCaPem: ca.certPem,
    ...(options.watchHistory === undefined ? {} : { watchHistory: options.watchHistory }),
    ...(options.bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs: options.bookmarkIntervalMs }),
    ...(logger === undefined ? {} : { logger }),
  });
  let admission = options.admission;
  const pipeline = createRequestPipeline(store, () => admission, logger);
  const watches = new WatchConnections();
  const faults = new FaultInjector();
  const log: RequestLogEntry[] = [];
  let port = 0;

  const context = { store, pipeline, watches, now: Date.now };
  const serviceAccountTokens = new ServiceAccountTokens();
  const rbac: RbacTypes = {
    roles: store.resourceType('rbac.authorization.k8s.io', 'roles')!,
    clusterRoles: store.resourceType('rbac.authorization.k8s.io', 'clusterroles')!,
    roleBindings: store.resourceType('rbac.authorization.k8s.io', 'rolebindings')!,
    clusterRoleBindings: store.resourceType('rbac.authorization.k8s.io', 'clusterrolebindings')!,
  };
  const authentication: AuthenticationContext = {
    adminToken: token,
    tokens: serviceAccountTokens,
    store,
    serviceAccounts: store.resourceType('', 'serviceaccounts')!,
    pods: store.resourceType('', 'pods')!,
    rbac,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: url.search,
      status: 0,
      watch:
        url.searchParams.get('watch') === 'true' ||
        url.searchParams.get('watch') === '1' ||
        url.pathname.includes('/watch/'),
      at: Date.now(),
    };
    log.push(entry);
    if (log.length > MAX_LOG_ENTRIES) log.shift();
    res.on('close', () => {
      entry.status = res.statusCode;
    });
    try {
      const route = parseRoute(url.pathname);
      // Health checks answer anonymously, as the system:public-info-viewer role allows on a real cluster.
      if (route.kind === 'health') {
        sendText(res, 200, 'ok');
        return;
      }
      const user = authenticate(req, authentication);
      const attributes = requestAttributes(user, method, url.pathname, route, url.searchParams);
      const decision = authorize(store, rbac, attributes);
      if (!decision.allowed) {
        const why = forbiddenMessage(attributes) + (decision.reason === '' ? '' : `: ${decision.reason}`);
        if (route.kind !== 'resource') throw forbidden({ group: '', plural: '' }, '', why);
        throw forbidden(route.target, attributes.name, why);
      }
      if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
      const failure = faults.failureFor(method, url.pathname);
      if (failure !== undefined) {
        sendStatus(res, failure.error.status, failure.headers);
        return;
      }
      const types = store.resourceTypes();
      switch (route.kind) {
        case 'version':
          return sendJson(res, 200, SERVER_VERSION);
        case 'api':
          return sendJson(res, 200, apiVersions(`${host}:${port}`));
        case 'apis':
          return sendJson(res, 200, apiGroupList(types));
        case 'group': {
          const group = apiGroup(types, route.group);
          if (group === undefined) throw pathNotFound();
          return sendJson(res, 200, group);
        }
        case 'groupVersion': {
          const list = apiResourceList(types, route.group, route.version);
          if (list === undefined) throw pathNotFound();
          return sendJson(res, 200, list);
        }
        case 'openapi':
          return serveOpenApi(req, res, route.path, types);
        case 'resource':
          if (isReviewPath(route.target)) return await handleReview(authentication, req, res, route.target, user);
          return await handleResource(context, req, res, route.target, url.searchParams, user);
        default:
          throw pathNotFound();
      }
    } catch (error) {
      // kube-apiserver sends webhook warnings even when the request is refused.
      const refusalWarnings = (error as { warnings?: unknown }).warnings;
      if (Array.isArray(refusalWarnings) && refusalWarnings.length > 0 && !res.headersSent)
        setWarnings(res, refusalWarnings as string[]);
      if (error instanceof StatusError) {
        sendStatus(
          res,
          error.status,
          error.status.code === 429 && error.status.details !== undefined
            ? { 'Retry-After': String((error.status.details as { retryAfterSeconds?: number }).retryAfterSeconds ?? 1) }
            : {},
        );
        return;
      }
      logger?.error({ err: error, method, path: url.pathname }, 'kube sandbox request failed');
      sendStatus(res, internalError((error as Error).message).status);
    }
  }

  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    void handle(req, res);
  });
  server.timeout = 0;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let connectionsAccepted = 0;
  server.on('secureConnection', () => {
    connectionsAccepted += 1;
  });
  publishKubernetesService(store, host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port);
  writeBootstrapPolicy(store, rbac);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger?.info({ url }, 'kube sandbox listening');

  const controls: KubeControls = {
    dropWatches: (dropOptions) => watches.dropAll(dropOptions?.graceful === true),
    openWatchCount: () => watches.count(),
    failRequests: (rule) => faults.setRule(rule),
    setLatency: (ms) => {
      faults.latencyMs = Math.max(0, ms);
    },
    setWatchHistory: (size) => store.setWatchHistory(size),
    setBookmarkInterval: (ms) => store.setBookmarkInterval(ms),
    requestCount: (filter) => log.filter((e) => matchesFilter(e, filter)).length,
    connectionCount: () => connectionsAccepted,
    requestLog: (filter) => log.filter((e) => matchesFilter(e, filter)).map((e) => ({ ...e })),
    clearRequestLog: () => {
      log.length = 0;
    },
    reset: () => {
      faults.setRule(undefined);
      faults.latencyMs = 0;
    },
  };

  return {
    url,
    port,
    caPem: ca.certPem,
    token,
    serviceAccountTokens,
    store,
    api: pipeline,
    controls,
    kubeconfig: (kubeconfigOptions) =>
      renderKubeconfig({
        server: url,
        caPem: ca.certPem,
        token,
        ...(kubeconfigOptions?.namespace === undefined ? {} : { namespace: kubeconfigOptions.namespace }),
      }),
    setAdmission: (chain) => {
      admission = chain;
    },
    close: async () => {
      watches.dropAll(false);
      store.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
