/**
 * The REST verbs on resource paths: GET (object, list with paging, watch), POST (create, pods/binding),
 * PUT (update, /status), PATCH (four types), DELETE (object, collection), with query parameters
 * parsed and validated as kube-apiserver does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRecord } from '../../api/is-record.js';
import { badRequest, gone, methodNotAllowed, notFound, pathNotFound, statusSuccess } from './errors.js';
import { crdVersion } from './crd.js';
import {
  decodeObjectBody,
  negotiate,
  readBody,
  readBodyBytes,
  sendJson,
  setWarnings,
  statusBody,
  tableContentType,
  type Representation,
} from './http-io.js';
import { patchTypeOf, parsePatchBody } from './patch.js';
import { applyScale, hasScale, patchScale, scaleOf } from './scale.js';
import { builtInPrinter, customResourcePrinter, type Printer } from './printers.js';
import type { RequestOptions, RequestPipeline } from './request-pipeline.js';
import { apiVersionOf, isBuiltIn } from './resource-types.js';
import type { ResourcePath } from './routes.js';
import type { SandboxClusterStore } from './store.js';
import type { DeleteOptions, KubeObject, KubeStatus, ListOptions, ResourceType, UserInfo } from './types.js';
import { serveWatch, type WatchConnections } from './watch-stream.js';

export interface ResourceHandlerContext {
  store: SandboxClusterStore;
  pipeline: RequestPipeline;
  watches: WatchConnections;
  now(): number;
}

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  target: ResourcePath;
  type: ResourceType;
  /** Who asked; writes carry it into admission reviews and managedFields. */
  user?: UserInfo;
}

function booleanParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === 'true' || value === '1';
}

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(value)}`);
  return parsed;
}

function listOptionsOf(query: URLSearchParams, namespace: string | undefined): ListOptions {
  const options: ListOptions = {};
  if (namespace !== undefined) options.namespace = namespace;
  const labelSelector = query.get('labelSelector');
  if (labelSelector !== null) options.labelSelector = labelSelector;
  const fieldSelector = query.get('fieldSelector');
  if (fieldSelector !== null) options.fieldSelector = fieldSelector;
  return options;
}

function requestOptions(
  query: URLSearchParams,
  subresource: string | undefined,
  userInfo: UserInfo | undefined,
): RequestOptions {
  const dryRun = query.getAll('dryRun');
  for (const value of dryRun)
    if (value !== 'All') throw badRequest(`Invalid dryRun value: ${JSON.stringify(value)}, supported values: "All"`);
  const fieldValidation = query.get('fieldValidation') ?? undefined;
  if (fieldValidation !== undefined && !['Strict', 'Warn', 'Ignore'].includes(fieldValidation)) {
    throw badRequest(
      `fieldValidation: Unsupported value: ${JSON.stringify(fieldValidation)}: supported values: "Ignore", "Strict", "Warn"`,
    );
  }
  const options: RequestOptions = { dryRun: dryRun.length > 0, ...(userInfo === undefined ? {} : { userInfo }) };
  const fieldManager = query.get('fieldManager');
  if (fieldManager !== null) options.fieldManager = fieldManager;
  if (fieldValidation !== undefined) options.fieldValidation = fieldValidation as RequestOptions['fieldValidation'];
  if (subresource !== undefined) options.subresource = subresource;
  return options;
}

function printerFor(store: SandboxClusterStore, type: ResourceType): Printer {
  if (isBuiltIn(type)) return builtInPrinter(type);
  const crd = store.get(
    store.resourceType('apiextensions.k8s.io', 'customresourcedefinitions')!,
    undefined,
    `${type.plural}.${type.group}`,
  );
  return customResourcePrinter(crd === undefined ? undefined : crdVersion(crd, type.version)?.additionalPrinterColumns);
}

function partialMetadata(object: KubeObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

function tableOf(
  context: ResourceHandlerContext,
  request: Request,
  objects: KubeObject[],
  metadata: Record<string, unknown>,
  withColumns = true,
): Record<string, unknown> {
  const printer = printerFor(context.store, request.type);
  const include = request.query.get('includeObject') ?? 'Metadata';
  const now = context.now();
  const version = tableContentType(request.req.headers.accept).includes('v=v1beta1') ? 'v1beta1' : 'v1';
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${version}`,
    metadata,
    columnDefinitions: withColumns ? printer.columns : [],
    rows: objects.map((object) => ({
      cells: printer.cells(object, now),
      ...(include === 'None' ? {} : { object: include === 'Object' ? object : partialMetadata(object) }),
    })),
  };
}

/** Built-in list items travel without kind/apiVersion (typed lists); custom resources keep them. */
function listItem(type: ResourceType, object: KubeObject): KubeObject {
  if (!isBuiltIn(type)) return object;
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest as KubeObject;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start })).toString('base64url');
}

function decodeContinue(value: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
    if (typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') throw new Error('bad token');
    return { rv: parsed.rv, start: parsed.start };
  } catch {
    throw badRequest(`invalid continue token`);
  }
}

function itemKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

function respondObject(
  context: ResourceHandlerContext,
  request: Request,
  code: number,
  object: KubeObject,
  representation: Representation,
): void {
  if (representation === 'table') {
    sendJson(
      request.res,
      code,
      tableOf(context, request, [object], { resourceVersion: object.metadata.resourceVersion ?? '' }),
      tableContentType(request.req.headers.accept),
    );
  } else if (representation === 'partial-metadata') {
    sendJson(request.res, code, partialMetadata(object));
  } else {
    sendJson(request.res, code, object);
  }
}

function handleList(context: ResourceHandlerContext, request: Request, representation: Representation): void {
  const { query, type } = request;
  const continueParam = query.get('continue');
  let token: { rv: number; start: string } | undefined;
  if (continueParam !== null && continueParam !== '') {
    token = decodeContinue(continueParam);
    if (context.store.isCompacted(token.rv)) {
      throw gone(
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
      );
    }
  }
  const limit = integerParam(query, 'limit');
  // Only the page is copied out of the store: paging through a large list is not quadratic.
  const listed = context.store.listPage(type, {
    ...listOptionsOf(query, request.target.namespace),
    ...(token === undefined ? {} : { after: token.start }),
    ...(limit !== undefined && limit > 0 ? { limit } : {}),
  });
  const items = listed.items;
  const resourceVersion = token === undefined ? listed.resourceVersion : String(token.rv);
  const metadata: Record<string, unknown> = { resourceVersion };
  if (limit !== undefined && limit > 0 && listed.remaining > 0) {
    metadata.continue = encodeContinue({ rv: Number(resourceVersion), start: itemKey(items[items.length - 1]!) });
    if (query.get('labelSelector') === null && query.get('fieldSelector') === null)
      metadata.remainingItemCount = listed.remaining;
  }
  if (representation === 'table') {
    sendJson(
      request.res,
      200,
      tableOf(context, request, items, metadata),
      tableContentType(request.req.headers.accept),
    );
    return;
  }
  if (representation === 'partial-metadata') {
    sendJson(request.res, 200, {
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata,
      items: items.map(partialMetadata),
    });
    return;
  }
  sendJson(request.res, 200, {
    kind: type.listKind,
    apiVersion: apiVersionOf(type),
    metadata,
    items: items.map((item) => listItem(type, item)),
  });
}

function handleWatch(context: ResourceHandlerContext, request: Request, representation: Representation): void {
  const { query, type } = request;
  const resourceVersion = query.get('resourceVersion') ?? undefined;
  serveWatch(context.store, context.watches, request.req, request.res, {
    type,
    options: {
      ...listOptionsOf(query, request.target.namespace),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
      allowWatchBookmarks: booleanParam(query, 'allowWatchBookmarks'),
    },
    ...(integerParam(query, 'timeoutSeconds') === undefined
      ? {}
      : { timeoutSeconds: integerParam(query, 'timeoutSeconds')! }),
    sendInitialEvents: booleanParam(query, 'sendInitialEvents'),
    present: (object, first) => {
      if (representation === 'table')
        return tableOf(context, request, [object], { resourceVersion: object.metadata.resourceVersion ?? '' }, first);
      if (representation === 'partial-metadata') return partialMetadata(object);
      return object;
    },
  });
}

async function deleteOptionsOf(request: Request): Promise<DeleteOptions> {
  const raw = await readBody(request.req);
  const body =
    raw.trim() === '' || raw.trim() === 'null'
      ? {}
      : decodeObjectBody(raw, request.req.headers['content-type'], 'DeleteOptions');
  if (!isRecord(body)) throw badRequest('the DeleteOptions body must be an object');
  const options: DeleteOptions = {};
  const { query } = request;
  const grace =
    integerParam(query, 'gracePeriodSeconds') ??
    (typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
  if (grace !== undefined) options.gracePeriodSeconds = grace;
  const orphan =
    query.get('orphanDependents') ??
    (typeof body.orphanDependents === 'boolean' ? String(body.orphanDependents) : null);
  const policy =
    query.get('propagationPolicy') ??
    (typeof body.propagationPolicy === 'string' ? body.propagationPolicy : undefined) ??
    (orphan === 'true' ? 'Orphan' : orphan === 'false' ? 'Background' : undefined);
  if (policy !== undefined) {
    if (!['Orphan', 'Background', 'Foreground'].includes(policy))
      throw badRequest(
        `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`,
      );
    options.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  }
  if (isRecord(body.preconditions)) options.preconditions = body.preconditions as DeleteOptions['preconditions'];
  const dryRun = [...query.getAll('dryRun'), ...(Array.isArray(body.dryRun) ? (body.dryRun as string[]) : [])];
  if (dryRun.length > 0) options.dryRun = true;
  return options;
}

async function handleBinding(context: ResourceHandlerContext, request: Request): Promise<void> {
  const body = decodeObjectBody(await readBody(request.req), request.req.headers['content-type'], 'Binding');
  const target = isRecord(body) && isRecord(body.target) ? body.target : undefined;
  if (target === undefined || typeof target.name !== 'string' || target.name === '')
    throw badRequest('Binding target name is required');
  context.store.bindPod(request.target.namespace!, request.target.name!, target.name);
  sendJson(request.res, 201, statusBody(statusSuccess()));
}

/** GET/PUT/PATCH of `<workload>/scale`; writes land on the workload's spec.replicas. */
async function handleScale(
  context: ResourceHandlerContext,
  request: Request,
  namespace: string | undefined,
  name: string,
): Promise<void> {
  const { req, res, type, query } = request;
  const object = context.store.get(type, namespace, name);
  if (object === undefined) throw notFound(type, name);
  let updated: KubeObject;
  switch (req.method) {
    case 'GET':
      sendJson(res, 200, scaleOf(object));
      return;
    case 'PUT':
      updated = applyScale(
        type,
        object,
        decodeObjectBody(await readBodyBytes(req), req.headers['content-type'], 'Scale') as KubeObject,
      );
      break;
    case 'PATCH': {
      const patchType = patchTypeOf(req.headers['content-type'], { ...type, group: '' });
      updated = patchScale(type, object, patchType, parsePatchBody(await readBody(req), patchType));
      break;
    }
    default:
      throw methodNotAllowed(req.method ?? '', 'Scale');
  }
  const result = await context.pipeline.update(
    type,
    namespace,
    name,
    updated,
    requestOptions(query, undefined, request.user),
  );
  setWarnings(res, result.warnings);
  sendJson(res, 200, scaleOf(result.object));
}

export async function handleResource(
  context: ResourceHandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: ResourcePath,
  query: URLSearchParams,
  user?: UserInfo,
): Promise<void> {
  const type = context.store
    .resourceTypes()
    .find((t) => t.group === target.group && t.version === target.version && t.plural === target.plural);
  if (type === undefined) throw pathNotFound();
  if (!type.namespaced && target.namespace !== undefined) throw pathNotFound();
  const sub = target.subresource;
  const knownSub =
    sub === undefined ||
    (sub === 'status' && type.hasStatus) ||
    (sub === 'scale' && hasScale(type)) ||
    (sub === 'binding' && type.plural === 'pods' && type.group === '');
  if (!knownSub) throw pathNotFound();
  const request: Request = { req, res, query, target, type, ...(user === undefined ? {} : { user }) };
  const representation = negotiate(req.headers.accept);
  const namespace = type.namespaced ? target.namespace : undefined;
  const method = req.method ?? 'GET';

  if (target.name === undefined) {
    if (method === 'GET') {
      if (target.legacyWatch || booleanParam(query, 'watch')) handleWatch(context, request, representation);
      else handleList(context, request, representation);
      return;
    }
    if (method === 'POST') {
      if (type.namespaced && namespace === undefined) throw methodNotAllowed('POST', type.listKind);
      const body = decodeObjectBody(await readBodyBytes(req), req.headers['content-type'], type.kind);
      const result = await context.pipeline.create(
        type,
        namespace,
        body,
        requestOptions(query, undefined, request.user),
      );
      setWarnings(res, result.warnings);
      respondObject(context, request, result.code, result.object, representation);
      return;
    }
    if (method === 'DELETE') {
      const options = await deleteOptionsOf(request);
      const result = await context.pipeline.deleteCollection(
        type,
        listOptionsOf(query, namespace),
        options,
        requestOptions(query, undefined, request.user),
      );
      setWarnings(res, result.warnings);
      sendJson(res, 200, {
        kind: type.listKind,
        apiVersion: apiVersionOf(type),
        metadata: { resourceVersion: context.store.currentResourceVersion() },
        items: result.object.map((item) => listItem(type, item)),
      });
      return;
    }
    throw methodNotAllowed(method, type.listKind);
  }

  const name = target.name;
  if (sub === 'scale') return handleScale(context, request, namespace, name);
  switch (method) {
    case 'GET': {
      if (sub === 'binding') throw methodNotAllowed(method, type.kind);
      const object = context.store.get(type, namespace, name);
      if (object === undefined) throw notFound(type, name);
      respondObject(context, request, 200, object, representation);
      return;
    }
    case 'POST': {
      if (sub === 'binding') return handleBinding(context, request);
      throw methodNotAllowed(method, type.kind);
    }
    case 'PUT': {
      if (sub === 'binding') throw methodNotAllowed(method, type.kind);
      const body = decodeObjectBody(await readBodyBytes(req), req.headers['content-type'], type.kind);
      const result = await context.pipeline.update(
        type,
        namespace,
        name,
        body,
        requestOptions(query, sub, request.user),
      );
      setWarnings(res, result.warnings);
      respondObject(context, request, result.code, result.object, representation);
      return;
    }
    case 'PATCH': {
      if (sub === 'binding') throw methodNotAllowed(method, type.kind);
      const patchType = patchTypeOf(req.headers['content-type'], type);
      const patch = parsePatchBody(await readBody(req), patchType);
      const result = await context.pipeline.patch(
        type,
        namespace,
        name,
        patchType,
        patch,
        requestOptions(query, sub, request.user),
      );
      setWarnings(res, result.warnings);
      respondObject(context, request, result.code, result.object, representation);
      return;
    }
    case 'DELETE': {
      if (sub !== undefined) throw methodNotAllowed(method, type.kind);
      const options = await deleteOptionsOf(request);
      const result = await context.pipeline.delete(
        type,
        namespace,
        name,
        options,
        requestOptions(query, undefined, request.user),
      );
      setWarnings(res, result.warnings);
      const object = result.object;
      if ((object as KubeStatus).kind === 'Status') sendJson(res, 200, statusBody(object as KubeStatus));
      else respondObject(context, request, 200, object as KubeObject, representation);
      return;
    }
    default:
      throw methodNotAllowed(method, type.kind);
  }
}
