/**
 * The API-only resources of authentication and authorization: SelfSubjectAccessReview (`kubectl auth
 * can-i`), SubjectAccessReview, SelfSubjectReview (`kubectl auth whoami`) and TokenRequest
 * (`serviceaccounts/<name>/token`, `kubectl create token`). They are answered, never stored.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRecord } from '../../../api/is-record.js';
import { causes, invalid, methodNotAllowed, notFound } from '../errors.js';
import { decodeObjectBody, readBodyBytes, sendJson } from '../http-io.js';
import type { ResourcePath } from '../routes.js';
import type { ClusterStore, ResourceType, UserInfo } from '../types.js';
import { authorize, type RbacTypes, type RequestAttributes } from './rbac.js';
import {
  DEFAULT_AUDIENCES,
  DEFAULT_EXPIRATION_SECONDS,
  MIN_EXPIRATION_SECONDS,
  type ServiceAccountTokens,
} from './tokens.js';

export interface ReviewContext {
  store: ClusterStore;
  rbac: RbacTypes;
  tokens: ServiceAccountTokens;
  serviceAccounts: ResourceType;
  pods: ResourceType;
}

const REVIEWS = new Set([
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/subjectaccessreviews',
  'authentication.k8s.io/selfsubjectreviews',
]);

/** True when the path is one of the resources this module answers. */
export function isReviewPath(target: ResourcePath): boolean {
  if (target.group === '' && target.plural === 'serviceaccounts' && target.subresource === 'token') return true;
  return target.name === undefined && REVIEWS.has(`${target.group}/${target.plural}`);
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function accessStatus(store: ClusterStore, rbac: RbacTypes, user: UserInfo, spec: Record<string, unknown>) {
  const resource = isRecord(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource = isRecord(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  const attributes: RequestAttributes =
    resource !== undefined
      ? {
          user,
          verb: text(resource.verb),
          resourceRequest: true,
          path: '',
          apiGroup: text(resource.group),
          resource: text(resource.resource),
          subresource: text(resource.subresource),
          namespace: text(resource.namespace),
          name: text(resource.name),
        }
      : {
          user,
          verb: text(nonResource?.verb),
          resourceRequest: false,
          path: text(nonResource?.path),
          apiGroup: '',
          resource: '',
          subresource: '',
          namespace: '',
          name: '',
        };
  const decision = authorize(store, rbac, attributes);
  return decision.allowed
    ? { allowed: true, reason: 'RBAC: allowed' }
    : { allowed: false, ...(decision.reason === '' ? {} : { reason: decision.reason }) };
}

export async function handleReview(
  context: ReviewContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourcePath,
  user: UserInfo,
): Promise<void> {
  const kindOf: Record<string, string> = {
    selfsubjectaccessreviews: 'SelfSubjectAccessReview',
    subjectaccessreviews: 'SubjectAccessReview',
    selfsubjectreviews: 'SelfSubjectReview',
    serviceaccounts: 'TokenRequest',
  };
  const kind = kindOf[target.plural]!;
  if (req.method !== 'POST') throw methodNotAllowed(req.method ?? '', kind);
  const body = decodeObjectBody(await readBodyBytes(req), req.headers['content-type'], kind);
  const object = isRecord(body) ? body : {};
  const spec = isRecord(object.spec) ? object.spec : {};
  const apiVersion = target.group === '' ? 'authentication.k8s.io/v1' : `${target.group}/${target.version}`;
  const metadata = { creationTimestamp: null, ...(isRecord(object.metadata) ? object.metadata : {}) };
  const answer = (status: Record<string, unknown>, extra: Record<string, unknown> = {}): void =>
    sendJson(res, 201, { kind, apiVersion, metadata, ...extra, status });

  switch (target.plural) {
    case 'selfsubjectaccessreviews':
      return answer(accessStatus(context.store, context.rbac, user, spec), { spec });
    case 'subjectaccessreviews': {
      const subject: UserInfo = {
        username: text(spec.user),
        groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
        ...(typeof spec.uid === 'string' ? { uid: spec.uid } : {}),
      };
      return answer(accessStatus(context.store, context.rbac, subject, spec), { spec });
    }
    case 'selfsubjectreviews':
      return answer({ userInfo: user });
    default:
      return issueToken(context, target, spec, answer);
  }
}

function issueToken(
  context: ReviewContext,
  target: ResourcePath,
  spec: Record<string, unknown>,
  answer: (status: Record<string, unknown>, extra?: Record<string, unknown>) => void,
): void {
  const namespace = target.namespace ?? '';
  const name = target.name ?? '';
  const account = context.store.get(context.serviceAccounts, namespace, name);
  if (account === undefined) throw notFound(context.serviceAccounts, name);
  const expirationSeconds =
    typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : DEFAULT_EXPIRATION_SECONDS;
  const tokenRequestType = { group: 'authentication.k8s.io', kind: 'TokenRequest' };
  if (expirationSeconds < MIN_EXPIRATION_SECONDS)
    throw invalid(tokenRequestType, name, [
      causes.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'),
    ]);
  const bound = isRecord(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  let pod: { name: string; uid: string } | undefined;
  if (bound !== undefined) {
    if (bound.kind !== 'Pod')
      throw invalid(tokenRequestType, name, [causes.notSupported('spec.boundObjectRef.kind', bound.kind, ['Pod'])]);
    const found = context.store.get(context.pods, namespace, text(bound.name));
    if (found === undefined || (typeof bound.uid === 'string' && bound.uid !== found.metadata.uid))
      throw notFound(context.pods, text(bound.name));
    pod = { name: found.metadata.name!, uid: found.metadata.uid! };
  }
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : DEFAULT_AUDIENCES;
  const issued = context.tokens.issue(
    { namespace, serviceAccount: { name, uid: account.metadata.uid! }, ...(pod === undefined ? {} : { pod }) },
    { audiences, expirationSeconds },
  );
  answer(
    { token: issued.token, expirationTimestamp: new Date(issued.expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') },
    { metadata: { name, namespace, creationTimestamp: null }, spec: { ...spec, audiences, expirationSeconds } },
  );
}
