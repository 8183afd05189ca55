/**
 * client-node API objects, built from one KubeConfig, each request bounded by a timeout, and
 * the reading of client-node's errors (ApiException.body is the Status as a raw JSON string).
 */
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
  type ConfigurationOptions,
  type Middleware,
  type RequestContext,
  type ResponseContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';
import * as https from 'node:https';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface KubeApiClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  /** ReplicaSets, read by the binder to order two pods of one Deployment by revision. */
  apps: AppsV1Api;
  customObjects: CustomObjectsApi;
  coordination: CoordinationV1Api;
  /** Closes the kept-alive connections; calls after this open new ones. */
  close(): void;
}

export interface KubeConfigSource {
  /** A kubeconfig file; wins over KUBECONFIG. */
  kubeconfigPath?: string;
  /**
   * Root under which the service-account files are read on the in-cluster path (tests point it at a temporary
   * directory).
   */
  inClusterRoot?: string;
}

/**
 * A kubeconfig file when one is named (option, then the first of KUBECONFIG's paths), else the pod's
 * service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token, re-read as it rotates). Unlike
 * loadFromDefault, never falls back to ~/.kube/config or http://localhost:8080: a binder must not quietly
 * talk to whatever a home directory points at.
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  const fromEnv = process.env.KUBECONFIG?.split(':').find((p) => p.trim() !== '');
  const file = source.kubeconfigPath ?? fromEnv;
  if (file !== undefined && file !== '') {
    kc.loadFromFile(file);
    return kc;
  }
  if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
    throw new Error(
      'no kubeconfig given (--kubeconfig or KUBECONFIG) and not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset)',
    );
  }
  kc.loadFromCluster(source.inClusterRoot);
  return kc;
}

/**
 * A middleware that gives each request its own deadline. client-node 1.4 has no per-request timeout, and a
 * request to an apiserver behind a dead connection would otherwise wait on TCP keep-alive alone.
 */
export function requestTimeoutMiddleware(ms: number): Middleware {
  return {
    pre: async (context: RequestContext) => {
      context.setSignal(AbortSignal.timeout(ms));
      return context;
    },
    post: async (response: ResponseContext) => response,
  };
}

/** The agent options that decide how a TLS connection is made; two requests with equal ones can share sockets. */
const TLS_OPTION_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
type TlsOptions = Pick<https.AgentOptions, (typeof TLS_OPTION_KEYS)[number]>;

function sameTlsOptions(a: TlsOptions, b: TlsOptions): boolean {
  return TLS_OPTION_KEYS.every((key) => {
    const [x, y] = [a[key], b[key]];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) return x.equals(y);
    return x === y || JSON.stringify(x) === JSON.stringify(y);
  });
}

/**
 * Connections to the API server at most for pods, PodEIPs and Events; watches and the Lease have their
 * own. Requests beyond wait in the agent's queue for a free one: a burst of reconciles and Events then
 * costs the server and this process that many TLS sessions, not one per request in flight.
 */
export const MAX_API_CONNECTIONS = 16;

/** Requests in flight on a replaced agent end within their timeout; its sockets are closed after this. */
const REPLACED_AGENT_GRACE_MS = 120_000;

/**
 * The KubeConfig's authentication with one kept-alive agent. client-node 1.4 builds a new https.Agent
 * for every request, so no connection is ever reused: each call pays a TLS handshake and a new OpenSSL
 * context built from the CA, and a binder writing a few thousand times churns the allocator until its
 * RSS is tens of MB over its heap. Headers (tokens that rotate, exec credentials) are still applied per
 * request by the KubeConfig; only the agent is swapped for a shared one with the same TLS options, and a
 * new shared one is made when those options change. Proxy agents are left as client-node builds them.
 */
export class KeepAliveAuthentication implements SecurityAuthentication {
  private shared: { options: TlsOptions; agent: https.Agent } | undefined;
  private closed = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly maxSockets = MAX_API_CONNECTIONS,
  ) {}

  getName(): string {
    return 'podeip-keep-alive';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    const built = context.getAgent();
    if (this.closed || built === undefined || built.constructor !== https.Agent) return;
    context.setAgent(this.agentFor((built as https.Agent).options));
  }

  close(): void {
    this.closed = true;
    this.shared?.agent.destroy();
    this.shared = undefined;
  }

  private agentFor(options: https.AgentOptions): https.Agent {
    const tls: TlsOptions = Object.fromEntries(
      TLS_OPTION_KEYS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
    );
    if (this.shared !== undefined && sameTlsOptions(this.shared.options, tls)) return this.shared.agent;
    const replaced = this.shared?.agent;
    if (replaced !== undefined) setTimeout(() => replaced.destroy(), REPLACED_AGENT_GRACE_MS).unref();
    this.shared = { options: tls, agent: new https.Agent({ ...tls, keepAlive: true, maxSockets: this.maxSockets }) };
    return this.shared.agent;
  }
}

/** The Lease's own connections: renewals never queue behind a burst of pod writes. */
const LEASE_CONNECTIONS = 2;

export function createApiClients(kubeConfig: KubeConfig, options: { requestTimeoutMs?: number } = {}): KubeApiClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const work = new KeepAliveAuthentication(kubeConfig, MAX_API_CONNECTIONS);
  const lease = new KeepAliveAuthentication(kubeConfig, LEASE_CONNECTIONS);
  // One middleware only: client-node reverses the configuration's middleware array in place on every call.
  const configure = (authentication: KeepAliveAuthentication): ReturnType<typeof createConfiguration> =>
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: authentication },
      promiseMiddleware: [requestTimeoutMiddleware(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)],
    });
  const configuration = configure(work);
  return {
    kubeConfig,
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    customObjects: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configure(lease)),
    close: () => {
      work.close();
      lease.close();
    },
  };
}

/**
 * Call options that bound one call by `signal` (on top of the clients' default timeout). Call-time
 * middleware must be observable-style in client-node 1.4: the object API passes it on unwrapped.
 */
export function withSignal(signal: AbortSignal, base?: ConfigurationOptions): ConfigurationOptions {
  const middleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { ...base, middleware: [...(base?.middleware ?? []), middleware], middlewareMergeStrategy: 'append' };
}

/** Call options that send a patch with the given content type (client-node defaults to JSON patch). */
export const STRATEGIC_MERGE_PATCH: ConfigurationOptions = setHeaderOptions(
  'Content-Type',
  PatchStrategy.StrategicMergePatch,
);
export const MERGE_PATCH: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The parts of a Kubernetes Status a caller decides on. */
export interface KubeApiStatus {
  code: number;
  /** `NotFound`, `Conflict`, `AlreadyExists`, `Invalid`, `Expired`, …; empty when the body was not a Status. */
  reason: string;
  message: string;
  details?: {
    name?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

/**
 * The Status behind a failed client-node call, or undefined for failures that never reached the server
 * (timeouts, refused connections), which callers treat as transient.
 */
export function apiErrorStatus(error: unknown): KubeApiStatus | undefined {
  if (!(error instanceof ApiException) && !isApiExceptionLike(error)) return undefined;
  const { code, body } = error as { code: number; body: unknown };
  const parsed = parseStatusBody(body);
  return {
    code,
    reason: typeof parsed?.reason === 'string' ? parsed.reason : '',
    message: typeof parsed?.message === 'string' ? parsed.message : typeof body === 'string' ? body : '',
    ...(parsed?.details !== undefined && typeof parsed.details === 'object'
      ? { details: parsed.details as KubeApiStatus['details'] }
      : {}),
  };
}

function isApiExceptionLike(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'number' &&
    'body' in error
  );
}

function parseStatusBody(body: unknown): Record<string, unknown> | undefined {
  if (typeof body === 'object' && body !== null) return body as Record<string, unknown>;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function isNotFound(error: unknown): boolean {
  return apiErrorStatus(error)?.code === 404;
}

export function isConflict(error: unknown): boolean {
  return apiErrorStatus(error)?.code === 409;
}

export function isAlreadyExists(error: unknown): boolean {
  const status = apiErrorStatus(error);
  return status?.code === 409 && status.reason === 'AlreadyExists';
}

/**
 * True when a write carrying `metadata.uid` hit a different object of the same name. A patch's uid is not a
 * storage precondition: the server answers 422 (uid is immutable) or, through a storage precondition, 409
 * with "Precondition failed: UID in precondition".
 */
export function isUidMismatch(error: unknown): boolean {
  const status = apiErrorStatus(error);
  if (status === undefined) return false;
  if (status.code === 409) return /precondition/i.test(status.message) && /uid/i.test(status.message);
  if (status.code !== 422) return false;
  if (status.details?.causes?.some((c) => c.field === 'metadata.uid')) return true;
  return /metadata\.uid/.test(status.message);
}

/** A short description of a failure for logs: the Status when there is one, else the error's message. */
export function describeApiError(error: unknown): string {
  const status = apiErrorStatus(error);
  if (status !== undefined)
    return `${status.code}${status.reason === '' ? '' : ` ${status.reason}`}: ${status.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
