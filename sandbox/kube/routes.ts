/**
 * URL → what is being asked for: health, version, discovery, OpenAPI, or a resource path
 * (`/api/v1/namespaces/ns/pods/name/status`, `/apis/apps/v1/deployments`, legacy `/api/v1/watch/...`).
 */
export type Route =
  | { kind: 'health'; check: string }
  | { kind: 'version' }
  | { kind: 'api' }
  | { kind: 'apis' }
  | { kind: 'group'; group: string }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'openapi'; path: string }
  | { kind: 'resource'; target: ResourcePath }
  | { kind: 'unknown' };

export interface ResourcePath {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The deprecated `/watch/` path form, equivalent to `?watch=true`. */
  legacyWatch: boolean;
}

const HEALTH = /^\/(livez|readyz|healthz)(\/.*)?$/;

function resourcePath(group: string, version: string, segments: string[]): Route {
  let legacyWatch = false;
  if (segments[0] === 'watch') {
    legacyWatch = true;
    segments = segments.slice(1);
  }
  if (segments.length === 0) return { kind: 'groupVersion', group, version };
  const base = { group, version, legacyWatch };
  // namespaces/<ns>/<plural>[/<name>[/<sub>]] is namespaced; namespaces[/<name>[/status]] is the namespace itself.
  if (
    segments[0] === 'namespaces' &&
    group === '' &&
    (segments.length === 1 || segments.length === 2 || (segments.length === 3 && segments[2] === 'status'))
  ) {
    return {
      kind: 'resource',
      target: {
        ...base,
        plural: 'namespaces',
        ...(segments[1] === undefined ? {} : { name: segments[1] }),
        ...(segments[2] === undefined ? {} : { subresource: segments[2] }),
      },
    };
  }
  if (segments[0] === 'namespaces' && segments.length >= 3) {
    const [, namespace, plural, name, subresource, ...rest] = segments;
    if (rest.length > 0) return { kind: 'unknown' };
    return {
      kind: 'resource',
      target: {
        ...base,
        namespace: namespace!,
        plural: plural!,
        ...(name === undefined ? {} : { name }),
        ...(subresource === undefined ? {} : { subresource }),
      },
    };
  }
  const [plural, name, subresource, ...rest] = segments;
  if (rest.length > 0) return { kind: 'unknown' };
  return {
    kind: 'resource',
    target: {
      ...base,
      plural: plural!,
      ...(name === undefined ? {} : { name }),
      ...(subresource === undefined ? {} : { subresource }),
    },
  };
}

export function parseRoute(pathname: string): Route {
  const health = HEALTH.exec(pathname);
  if (health !== null) return { kind: 'health', check: health[1]! };
  if (pathname === '/version' || pathname === '/version/') return { kind: 'version' };
  if (pathname.startsWith('/openapi/')) return { kind: 'openapi', path: pathname };
  let segments: string[];
  try {
    segments = pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return { kind: 'unknown' };
  }
  if (segments[0] === 'api') {
    if (segments.length === 1) return { kind: 'api' };
    if (segments[1] !== 'v1') return { kind: 'unknown' };
    return resourcePath('', 'v1', segments.slice(2));
  }
  if (segments[0] === 'apis') {
    if (segments.length === 1) return { kind: 'apis' };
    if (segments.length === 2) return { kind: 'group', group: segments[1]! };
    return resourcePath(segments[1]!, segments[2]!, segments.slice(3));
  }
  return { kind: 'unknown' };
}
