/**
 * OpenAPI v3, only as much as kubectl needs: its index (`/openapi/v3`) and one document per
 * group-version whose PATCH operations carry `x-kubernetes-group-version-kind` and declare the
 * `fieldValidation` and `dryRun` query parameters. Finding them, kubectl leaves validation to the server
 * instead of downloading /openapi/v2 for client-side validation (which fails without it). No kind's
 * schema is published, so client-side apply builds its patches from kubectl's compiled-in types, exactly
 * as it does against any server whose schema it cannot use. /openapi/v2 stays 404.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathNotFound } from './errors.js';
import { sendJson } from './http-io.js';
import type { ResourceType } from './types.js';

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

const WRITE_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function operation(
  type: ResourceType,
  action: string,
  extra: Array<Record<string, unknown>> = [],
): Record<string, unknown> {
  return {
    operationId: `${action}${type.kind}`,
    parameters: extra,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
  };
}

function pathsFor(type: ResourceType): Record<string, unknown> {
  const prefix = `/${groupVersionPath(type.group, type.version)}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.plural}`;
  const item = {
    get: operation(type, 'get'),
    put: operation(type, 'put', WRITE_PARAMETERS),
    patch: operation(type, 'patch', [
      ...WRITE_PARAMETERS,
      { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
    ]),
    delete: operation(type, 'delete', [WRITE_PARAMETERS[0]!]),
  };
  const paths: Record<string, unknown> = {
    [prefix]: {
      get: operation(type, 'list'),
      post: operation(type, 'post', WRITE_PARAMETERS),
      delete: operation(type, 'deletecollection', [WRITE_PARAMETERS[0]!]),
    },
    [`${prefix}/{name}`]: item,
  };
  if (type.hasStatus)
    paths[`${prefix}/{name}/status`] = {
      get: operation(type, 'get'),
      put: operation(type, 'put', WRITE_PARAMETERS),
      patch: item.patch,
    };
  return paths;
}

function documentFor(types: ResourceType[], group: string, version: string): Record<string, unknown> {
  const paths = Object.assign(
    {},
    ...types.filter((t) => t.group === group && t.version === version).map(pathsFor),
  ) as Record<string, unknown>;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.33.1' },
    paths,
    // kubectl treats a document without components as broken; a schema no kind matches keeps it whole.
    components: {
      schemas: {
        'io.k8s.apimachinery.pkg.apis.meta.v1.Status': {
          type: 'object',
          description: 'Status is a return value for calls that do not return other objects.',
        },
      },
    },
  };
}

function hashOf(value: unknown): string {
  return createHash('sha512').update(JSON.stringify(value)).digest('hex').slice(0, 128).toUpperCase();
}

export function serveOpenApi(_req: IncomingMessage, res: ServerResponse, path: string, types: ResourceType[]): void {
  const groupVersions = [...new Map(types.map((t) => [`${t.group}/${t.version}`, t])).values()].map((t) => ({
    group: t.group,
    version: t.version,
  }));
  if (path === '/openapi/v3' || path === '/openapi/v3/') {
    const index: Record<string, { serverRelativeURL: string }> = {};
    for (const { group, version } of groupVersions) {
      const gvPath = groupVersionPath(group, version);
      index[gvPath] = { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${hashOf(documentFor(types, group, version))}` };
    }
    sendJson(res, 200, { paths: index });
    return;
  }
  for (const { group, version } of groupVersions) {
    if (path === `/openapi/v3/${groupVersionPath(group, version)}`) {
      sendJson(res, 200, documentFor(types, group, version));
      return;
    }
  }
  throw pathNotFound();
}
