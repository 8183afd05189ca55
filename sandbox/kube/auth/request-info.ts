/**
 * What an HTTP request asks to do, in the terms an authorizer decides on (apiserver's RequestInfo): the
 * verb from the method (a GET of a collection is list, or watch with `watch=true`; a DELETE of one is
 * deletecollection), the group, resource, subresource, namespace and name from the path. A list or watch
 * with the field selector `metadata.name=X` names X, so a rule limited by resourceNames can allow it.
 */
import type { Route } from '../routes.js';
import type { UserInfo } from '../types.js';
import type { RequestAttributes } from './rbac.js';

const READ_VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', OPTIONS: 'get' };
const WRITE_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function nameFromFieldSelector(query: URLSearchParams): string {
  const selector = query.get('fieldSelector');
  if (selector === null) return '';
  for (const term of selector.split(',')) {
    const match = /^metadata\.name==?(.*)$/.exec(term.trim());
    if (match !== null) return match[1]!;
  }
  return '';
}

export function requestAttributes(
  user: UserInfo,
  method: string,
  path: string,
  route: Route,
  query: URLSearchParams,
): RequestAttributes {
  // Non-resource URLs take the HTTP verb in lower case (get, post, put, …), as apiserver does.
  const nonResource: RequestAttributes = {
    user,
    verb: method === 'HEAD' ? 'get' : method.toLowerCase(),
    resourceRequest: false,
    path,
    apiGroup: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
  if (route.kind !== 'resource') return nonResource;
  const target = route.target;
  const watch = target.legacyWatch || query.get('watch') === 'true' || query.get('watch') === '1';
  let verb: string;
  let name = target.name ?? '';
  if (target.name === undefined) {
    if (method === 'GET' || method === 'HEAD') verb = watch ? 'watch' : 'list';
    else if (method === 'DELETE') verb = 'deletecollection';
    else verb = WRITE_VERBS[method] ?? method.toLowerCase();
    if (verb === 'list' || verb === 'watch') name = nameFromFieldSelector(query);
  } else {
    verb = watch && method === 'GET' ? 'watch' : (READ_VERBS[method] ?? WRITE_VERBS[method] ?? method.toLowerCase());
  }
  // A Namespace is its own namespace: /api/v1/namespaces/foo is in the namespace "foo".
  const namespace =
    target.namespace ?? (target.group === '' && target.plural === 'namespaces' ? (target.name ?? '') : '');
  return {
    user,
    verb,
    resourceRequest: true,
    path,
    apiGroup: target.group,
    resource: target.plural,
    subresource: target.subresource ?? '',
    namespace,
    name,
  };
}
