/**
 * One API call from request to answer, in the real gateway's order: route (action + version) →
 * authenticate → authorize (RAM) → RegionId → flow control → injected fault → ClientToken → the action.
 * Transport concerns (reading the body, resetting sockets) belong to http-server.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSIONS, findAction, hostIdFor, type ActionSpec, type Product } from './action-catalog.js';
import type { StoredAccessKey } from './access-keys.js';
import { SIGNATURE_V1_PARAMETERS, type RequestAuthenticator, type SignedRequest } from './authentication.js';
import type { ClientTokenTable } from './client-tokens.js';
import type { EipLifecycle } from './eip-lifecycle.js';
import { CloudApiError, errorBody, missingParameter } from './errors.js';
import { isTransportFault, type FaultInjector } from './faults.js';
import { RequestParams } from './params.js';
import type { RateLimiter } from './rate-limits.js';
import type { TransportFaultCode } from './types.js';
import type { CloudWorld } from './world.js';

export interface GatewayAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** Instead of the answer: drop the connection, or answer with a non-JSON 502. */
  transportFault?: TransportFaultCode;
}

export interface GatewayDependencies {
  world: CloudWorld;
  lifecycle: EipLifecycle;
  authenticator: RequestAuthenticator;
  limiter: RateLimiter;
  faults: FaultInjector;
  tokens: ClientTokenTable;
  logger?: Logger;
}

type CallCounts = Record<string, { ok: number; failed: number }>;

export class ApiGateway {
  private counts: CallCounts = {};

  constructor(private readonly deps: GatewayDependencies) {}

  callCounts(): CallCounts {
    return structuredClone(this.counts);
  }

  resetCallCounts(): void {
    this.counts = {};
  }

  async handle(request: SignedRequest): Promise<GatewayAnswer> {
    const requestId = randomUUID().toUpperCase();
    const action = header(request, 'x-acs-action') ?? parameter(request, 'Action') ?? '';
    const version = header(request, 'x-acs-version') ?? parameter(request, 'Version') ?? '';
    const product: Product = API_VERSIONS[version] ?? 'Vpc';
    const hostId = hostIdFor(product, this.deps.world.regionId);
    const latency = onceDelay(this.deps.faults.latencyFor(action));
    let answer: GatewayAnswer;
    try {
      answer = await this.run(request, requestId, action, version, latency);
    } catch (error) {
      const apiError = error instanceof CloudApiError ? error : this.unexpected(error, action);
      answer = {
        status: apiError.status,
        headers: apiError.headers,
        body: errorBody(apiError, requestId, hostId, product),
      };
    }
    await latency();
    this.count(action, answer);
    answer.headers = { ...answer.headers, 'x-acs-request-id': String(answer.body.RequestId ?? requestId) };
    this.deps.logger?.debug(
      { action, requestId, status: answer.status, code: answer.body.Code ?? answer.transportFault },
      'sandbox cloud call',
    );
    return answer;
  }

  /** `latency` is awaited where the call has taken effect but its ClientToken still counts as processing. */
  private async run(
    request: SignedRequest,
    requestId: string,
    action: string,
    version: string,
    latency: () => Promise<void>,
  ): Promise<GatewayAnswer> {
    const { world, authenticator, limiter, faults, tokens } = this.deps;
    const product = API_VERSIONS[version];
    if (product === undefined)
      throw new CloudApiError('InvalidVersion', {
        message: `Specified parameter Version is not valid: "${version}" (2016-04-28 for VPC, 2014-05-26 for ECS).`,
      });
    const spec = findAction(product, action);
    if (spec === undefined) {
      throw new CloudApiError('InvalidApi.NotFound', {
        message: `Specified api is not found, please check your url and method: ${action} is not a ${product} ${version} action served here.`,
      });
    }
    const caller = authenticator.authenticate(request);
    if (caller.deniedActions.has(action)) throw forbidden(caller, spec, action, world.accountId);

    const params = new RequestParams(actionParameters(request));
    const regionId = params.optional('RegionId');
    if (regionId === undefined) throw missingParameter('RegionId');
    if (regionId !== world.regionId) {
      throw new CloudApiError('InvalidRegionId.NotFound', {
        message: `The specified RegionId does not exist in our records: ${regionId} (this sandbox serves ${world.regionId}).`,
      });
    }
    limiter.take({ accountId: world.accountId, regionId, action });

    const injected = faults.drawFailure(action);
    if (injected !== undefined && !faults.failAfterEffect)
      return injectedAnswer(injected, requestId, product, world.regionId);

    const token = spec.acceptsClientToken ? params.optional('ClientToken') : undefined;
    const claim = token === undefined ? undefined : tokens.claim(world.accountId, action, token, params.all());
    if (claim?.kind === 'replay') return { status: 200, headers: {}, body: claim.body };
    let body: Record<string, unknown>;
    try {
      body = { RequestId: requestId, ...spec.handler({ params, world, lifecycle: this.deps.lifecycle }) };
    } catch (error) {
      if (claim) {
        await latency();
        tokens.failed(claim.key);
      }
      throw error;
    }
    if (claim) {
      await latency();
      tokens.succeeded(claim.key, body);
    }
    if (injected !== undefined) return injectedAnswer(injected, requestId, product, world.regionId);
    return { status: 200, headers: {}, body };
  }

  private unexpected(error: unknown, action: string): CloudApiError {
    this.deps.logger?.error({ err: error, action }, 'sandbox cloud action failed unexpectedly');
    return new CloudApiError('InternalError');
  }

  private count(action: string, answer: GatewayAnswer): void {
    const name = action === '' ? '(none)' : action;
    const entry = (this.counts[name] ??= { ok: 0, failed: 0 });
    if (answer.status < 400 && answer.transportFault === undefined) entry.ok += 1;
    else entry.failed += 1;
  }
}

/** A delay that runs at most once, however many paths reach it. */
function onceDelay(ms: number): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => (pending ??= ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
}

function header(request: SignedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function parameter(request: SignedRequest, name: string): string | undefined {
  return [...request.query, ...request.form].reverse().find(([key]) => key === name)?.[1];
}

/** Query and form parameters, minus those that belong to the v1 signature. */
function actionParameters(request: SignedRequest): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of [...request.query, ...request.form])
    if (!SIGNATURE_V1_PARAMETERS.has(name)) params[name] = value;
  return params;
}

function injectedAnswer(code: string, requestId: string, product: Product, regionId: string): GatewayAnswer {
  if (isTransportFault(code)) return { status: 502, headers: {}, body: { RequestId: requestId }, transportFault: code };
  const error = new CloudApiError(code);
  // A throttled answer tells the SDK when to come back, as flow control does.
  const headers: Record<string, string> = code.includes('Throttling') ? { 'x-acs-retry-after': '1000' } : {};
  return { status: error.status, headers, body: errorBody(error, requestId, hostIdFor(product, regionId), product) };
}

function forbidden(caller: StoredAccessKey, spec: ActionSpec, action: string, accountId: string): CloudApiError {
  const authAction = `${spec.product.toLowerCase()}:${action}`;
  const detail = {
    AuthAction: authAction,
    AuthPrincipalType: caller.principalType,
    AuthPrincipalOwnerId: accountId,
    AuthPrincipalDisplayName: caller.displayName,
    PolicyType: 'AccountLevelIdentityBasedPolicy',
    NoPermissionType: 'ImplicitDeny',
    EncodedDiagnosticMessage: Buffer.from(
      JSON.stringify({ AuthAction: authAction, AuthPrincipalDisplayName: caller.displayName }),
    ).toString('base64'),
  };
  return new CloudApiError('Forbidden.RAM', {
    message: `User not authorized to operate on the specified resource, or this API doesn't support RAM: ${caller.displayName} may not ${authAction}.`,
    extraBody: { AccessDeniedDetail: detail },
  });
}
