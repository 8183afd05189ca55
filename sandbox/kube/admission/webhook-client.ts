/**
 * The HTTPS call to one webhook, as kube-apiserver's webhook client makes it: the address from
 * `clientConfig.url` or the Service (resolved to a local address), TLS verified against the caBundle with
 * the Service's DNS name, `?timeout=Ns`, one deadline for the whole exchange, and connections kept alive
 * per (address, server name, caBundle). Failures are worded as Go's client words them.
 */
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import type { WebhookClientConfig } from './webhook-configuration.js';

export interface ServiceAddress {
  host: string;
  port: number;
  /** A pod run as processes is reached through its sandbox's socket for that port, not host:port. */
  socketPath?: string;
}

export type ServiceResolver = (ref: { namespace: string; name: string; port: number }) => ServiceAddress | undefined;

export interface WebhookEndpoint {
  /** As kube-apiserver shows it in errors: `https://<svc>.<ns>.svc:<port><path>?timeout=<N>s`. */
  url: string;
  /** Where the stand-in actually connects; undefined when the Service has no address. */
  address: ServiceAddress | undefined;
  /** Service the address was looked up for, for the "not found" failure. */
  serviceName?: string;
  path: string;
  /** The name the certificate must carry; undefined for an IP address (verified against IP SANs). */
  servername: string | undefined;
  /** PEM; undefined means the system roots. */
  caPem: string | undefined;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: string };

function pemFromCaBundle(caBundle: string | undefined): Outcome<string | undefined> {
  if (caBundle === undefined || caBundle === '') return { ok: true, value: undefined };
  const pem = Buffer.from(caBundle, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const parses =
    blocks.length > 0 &&
    blocks.every((block) => {
      try {
        new X509Certificate(block);
        return true;
      } catch {
        return false;
      }
    });
  if (!parses)
    return {
      ok: false,
      failure: 'could not get REST client: unable to load root certificates: unable to parse bytes as PEM block',
    };
  return { ok: true, value: pem };
}

export function webhookEndpoint(
  config: WebhookClientConfig,
  timeoutSeconds: number,
  resolveService: ServiceResolver,
): Outcome<WebhookEndpoint> {
  const ca = pemFromCaBundle(config.caBundle);
  if (!ca.ok) return ca;
  const query = `?timeout=${timeoutSeconds}s`;
  if (config.service !== undefined) {
    const { namespace, name, port } = config.service;
    const host = `${name}.${namespace}.svc`;
    const path = config.service.path === undefined || config.service.path === '' ? '/' : config.service.path;
    return {
      ok: true,
      value: {
        url: `https://${host}:${port}${path}${query}`,
        address: resolveService({ namespace, name, port }),
        serviceName: name,
        path: path + query,
        servername: host,
        caPem: ca.value,
      },
    };
  }
  if (config.url === undefined)
    return { ok: false, failure: 'could not get REST client: webhook clientConfig has neither url nor service' };
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    return { ok: false, failure: `could not get REST client: invalid url ${JSON.stringify(config.url)}` };
  }
  if (url.protocol !== 'https:')
    return {
      ok: false,
      failure: `could not get REST client: 'https' is the only allowed URL scheme, got ${JSON.stringify(url.protocol.slice(0, -1))}`,
    };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? 443 : Number(url.port);
  const path = url.pathname === '' ? '/' : url.pathname;
  const shown = `${url.protocol}//${url.host}${path}${query}`;
  return {
    ok: true,
    value: {
      url: shown,
      address: { host, port },
      path: path + query,
      servername: isIP(host) === 0 ? host : undefined,
      caPem: ca.value,
    },
  };
}

/** Keep-alive agents, one per (address, server name, caBundle), so repeated reviews reuse their connections. */
export class TlsAgentCache {
  private readonly agents = new Map<string, Agent>();

  agentFor(address: ServiceAddress, servername: string | undefined, caPem: string | undefined): Agent {
    const key = JSON.stringify([address.host, address.port, address.socketPath ?? '', servername ?? '', caPem ?? '']);
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = new Agent({
        keepAlive: true,
        ...(caPem === undefined ? {} : { ca: caPem }),
        ...(servername === undefined ? {} : { servername }),
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Closes every kept connection; later calls open new ones. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Node's transport errors in the words of Go's net/http and crypto/tls, which users search for. */
function describeTransportError(
  error: Error & { code?: string; cert?: { subjectaltname?: string } },
  endpoint: WebhookEndpoint,
  address: ServiceAddress,
): string {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return `dial tcp ${address.host}:${address.port}: connect: connection refused`;
  if (code === 'ECONNRESET') return 'read: connection reset by peer';
  if (UNKNOWN_AUTHORITY.has(code))
    return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // Go lists the SANs of the kind it checked: DNS names for a host name, IP addresses for an address.
    const prefix = endpoint.servername === undefined ? 'IP Address:' : 'DNS:';
    const names = (error.cert?.subjectaltname ?? '')
      .split(', ')
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length));
    return `tls: failed to verify certificate: x509: certificate is valid for ${names.join(', ')}, not ${endpoint.servername ?? address.host}`;
  }
  if (error.message === 'socket hang up') return 'EOF';
  return error.message;
}

/** client-go's error for an answer outside 200–206: the Status it carries, or a generic one. */
function describeErrorAnswer(statusCode: number, body: string): string {
  try {
    const status = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (status.kind === 'Status' && typeof status.message === 'string') return status.message;
  } catch {
    // Not a Status: fall through to the generic wording.
  }
  if (statusCode >= 500)
    return `an error on the server (${JSON.stringify(body.trim())}) has prevented the request from succeeding`;
  return `the server responded with the status code ${statusCode} but did not return more information`;
}

class DeadlineExceeded extends Error {
  constructor() {
    super('context deadline exceeded');
  }
}

/** POSTs the review and returns the body of a 2xx answer; anything else is the reason the call failed. */
export function postAdmissionReview(
  endpoint: WebhookEndpoint,
  review: unknown,
  timeoutSeconds: number,
  agents: TlsAgentCache,
): Promise<Outcome<string>> {
  const address = endpoint.address;
  const failed = (reason: string): Outcome<string> => ({
    ok: false,
    failure: `failed to call webhook: Post ${JSON.stringify(endpoint.url)}: ${reason}`,
  });
  if (address === undefined)
    return Promise.resolve(failed(`service ${JSON.stringify(endpoint.serviceName ?? '')} not found`));
  const body = JSON.stringify(review);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome<string>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const req = request(
      {
        ...(address.socketPath === undefined
          ? { host: address.host, port: address.port }
          : { socketPath: address.socketPath }),
        method: 'POST',
        path: endpoint.path,
        agent: agents.agentFor(address, endpoint.servername, endpoint.caPem),
        ...(endpoint.caPem === undefined ? {} : { ca: endpoint.caPem }),
        ...(endpoint.servername === undefined ? {} : { servername: endpoint.servername }),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, */*',
          'Content-Length': Buffer.byteLength(body),
          'User-Agent': 'kube-apiserver-admission',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => settle(failed(describeTransportError(error, endpoint, address))));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const statusCode = res.statusCode ?? 0;
          if (statusCode < 200 || statusCode > 206)
            settle({ ok: false, failure: `failed to call webhook: ${describeErrorAnswer(statusCode, text)}` });
          else settle({ ok: true, value: text });
        });
      },
    );
    const deadline = setTimeout(() => req.destroy(new DeadlineExceeded()), timeoutSeconds * 1000);
    req.on('error', (error) =>
      settle(
        failed(error instanceof DeadlineExceeded ? error.message : describeTransportError(error, endpoint, address)),
      ),
    );
    req.end(body);
  });
}
