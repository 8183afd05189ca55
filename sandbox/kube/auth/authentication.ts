/**
 * Who is asking: the sandbox's own bearer token is the cluster admin (`system:masters`); a ServiceAccount
 * token this stand-in issued is its account, as long as the account (and the pod it is bound to) still
 * exists with the uid it was issued for. Anything else is 401. Impersonation headers (`kubectl --as`,
 * `--as-group`) then switch to another user when the requester may `impersonate` them.
 */
import type { IncomingMessage } from 'node:http';
import { forbidden, unauthorized } from '../errors.js';
import { ADMIN_USER } from '../request-pipeline.js';
import type { ClusterStore, ResourceType, UserInfo } from '../types.js';
import { authorize, forbiddenMessage, type RbacTypes, type RequestAttributes } from './rbac.js';
import type { ServiceAccountTokens } from './tokens.js';

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export interface AuthenticationContext {
  adminToken: string;
  tokens: ServiceAccountTokens;
  store: ClusterStore;
  serviceAccounts: ResourceType;
  pods: ResourceType;
  rbac: RbacTypes;
}

/** The groups kube-apiserver gives every ServiceAccount of `namespace`. */
export function serviceAccountGroups(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];
}

export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return {
    username: `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`,
    ...(uid === undefined ? {} : { uid }),
    groups: serviceAccountGroups(namespace),
  };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match === null ? undefined : match[1];
}

function tokenUser(token: string, context: AuthenticationContext): UserInfo | undefined {
  const claims = context.tokens.verify(token);
  if (claims === undefined) return undefined;
  const account = context.store.get(context.serviceAccounts, claims.namespace, claims.serviceAccount.name);
  if (account?.metadata.uid !== claims.serviceAccount.uid) return undefined;
  if (claims.pod !== undefined) {
    const pod = context.store.get(context.pods, claims.namespace, claims.pod.name);
    if (pod?.metadata.uid !== claims.pod.uid) return undefined;
  }
  const user = serviceAccountUser(claims.namespace, claims.serviceAccount.name, claims.serviceAccount.uid);
  if (claims.pod !== undefined)
    user.extra = {
      'authentication.kubernetes.io/pod-name': [claims.pod.name],
      'authentication.kubernetes.io/pod-uid': [claims.pod.uid],
    };
  return user;
}

function headerValues(req: IncomingMessage, name: string): string[] {
  return (req.headersDistinct[name] ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The user a request acts as, or a 401 (unknown token) or 403 (impersonation not allowed). */
export function authenticate(req: IncomingMessage, context: AuthenticationContext): UserInfo {
  const token = bearerToken(req);
  if (token === undefined) throw unauthorized();
  const user = token === context.adminToken ? ADMIN_USER : tokenUser(token, context);
  if (user === undefined) throw unauthorized();
  const asUser = req.headers['impersonate-user'];
  const asGroups = headerValues(req, 'impersonate-group');
  if (typeof asUser !== 'string' || asUser === '') return user;

  const check = (attributes: Omit<RequestAttributes, 'user' | 'verb' | 'resourceRequest' | 'path' | 'subresource'>) => {
    const full: RequestAttributes = {
      ...attributes,
      user,
      verb: 'impersonate',
      resourceRequest: true,
      path: '',
      subresource: '',
    };
    if (!authorize(context.store, context.rbac, full).allowed)
      throw forbidden({ group: full.apiGroup, plural: full.resource }, full.name, forbiddenMessage(full));
  };
  let impersonated: UserInfo;
  if (asUser.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const [namespace = '', name = ''] = asUser.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
    check({ apiGroup: '', resource: 'serviceaccounts', namespace, name });
    impersonated = serviceAccountUser(namespace, name);
  } else {
    check({ apiGroup: '', resource: 'users', namespace: '', name: asUser });
    impersonated = { username: asUser, groups: asUser === 'system:anonymous' ? [] : ['system:authenticated'] };
  }
  for (const group of asGroups) {
    check({ apiGroup: '', resource: 'groups', namespace: '', name: group });
    if (!impersonated.groups.includes(group)) impersonated.groups.unshift(group);
  }
  return impersonated;
}
