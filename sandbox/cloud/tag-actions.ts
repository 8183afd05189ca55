/**
 * VPC TagResources / UnTagResources / ListTagResources for `ResourceType=EIP`, with the limits and codes
 * of the VPC tag operations: ≤20 tags per call and per resource, ≤50 resource ids, keys non-empty,
 * ≤128 characters, not starting with `aliyun` or `acs:`, no `http://` or `https://`.
 */
import type { ActionContext, ActionHandler } from './action-context.js';
import { CloudApiError, missingParameter } from './errors.js';
import { decodePageToken, encodePageToken } from './page-tokens.js';
import type { RequestParams } from './params.js';
import type { StoredEip } from './world.js';

const MAX_TAGS_PER_RESOURCE = 20;
const MAX_RESOURCE_IDS = 50;
/** Values the API knows; the sandbox holds only EIPs, so ids of the other types are never found. */
const RESOURCE_TYPES = ['VPC', 'VSWITCH', 'ROUTETABLE', 'EIP', 'VPNGATEWAY', 'NATGATEWAY', 'COMMONBANDWIDTHPACKAGE'];

export interface Tag {
  key: string;
  value: string;
}

/** Checks tags as given to AllocateEipAddress or TagResources; a key given twice is refused. */
export function checkedTags(pairs: Array<{ key: string; value: string | undefined }>): Tag[] {
  if (pairs.length > MAX_TAGS_PER_RESOURCE) {
    throw new CloudApiError('SizeLimitExceeded.TagNum', {
      message: `The maximum number of tags is exceeded: ${pairs.length} given, at most ${MAX_TAGS_PER_RESOURCE}.`,
    });
  }
  const seen = new Set<string>();
  return pairs.map(({ key, value = '' }) => {
    const keyProblem = tagTextProblem(key);
    if (keyProblem !== undefined)
      throw new CloudApiError('InvalidTagKey', { message: `The tag keys are not valid: "${key}" ${keyProblem}.` });
    const valueProblem = value === '' ? undefined : tagTextProblem(value);
    if (valueProblem !== undefined)
      throw new CloudApiError('InvalidTagValue', {
        message: `The tag values are not valid: "${value}" ${valueProblem}.`,
      });
    if (seen.has(key))
      throw new CloudApiError('Forbidden.TagKey.Duplicated', {
        status: 400,
        message: `The specified tag key already exists: ${key} is given twice.`,
      });
    seen.add(key);
    return { key, value };
  });
}

function tagTextProblem(text: string): string | undefined {
  if (text === '') return 'is empty';
  if (text.length > 128) return 'is longer than 128 characters';
  if (/^(aliyun|acs:)/.test(text)) return 'starts with aliyun or acs:';
  if (/https?:\/\//.test(text)) return 'contains http:// or https://';
  return undefined;
}

/** Whether an EIP carries every pair; a pair without a value matches on the key alone. */
export function hasAllTags(eip: StoredEip, filters: Array<{ key: string; value: string | undefined }>): boolean {
  return filters.every((filter) =>
    eip.tags.some((tag) => tag.key === filter.key && (filter.value === undefined || tag.value === filter.value)),
  );
}

function resourceType(params: RequestParams): string {
  const type = params.required('ResourceType');
  if (!RESOURCE_TYPES.includes(type)) {
    throw new CloudApiError('InvalidResourceType.NotFound', {
      message: `The instance type is not found: ${type}. Valid values: ${RESOURCE_TYPES.join(', ')}.`,
    });
  }
  return type;
}

function resourceIds(params: RequestParams, required: boolean): string[] {
  const ids = params.list('ResourceId', Number.MAX_SAFE_INTEGER);
  if (required && ids.length === 0) throw missingParameter('ResourceId.N');
  if (ids.length > MAX_RESOURCE_IDS) {
    throw new CloudApiError('SizeLimitExceeded.ResourceId', {
      message: `The maximum number of resource IDs is exceeded: ${ids.length} given, at most ${MAX_RESOURCE_IDS}.`,
    });
  }
  return ids;
}

function eipsNamed(context: ActionContext, type: string, ids: string[]): StoredEip[] {
  const missing = ids.filter((id) => type !== 'EIP' || !context.world.eips.has(id));
  if (missing.length > 0)
    throw new CloudApiError('InvalidInstanceIds.NotFound', {
      message: `The instanceIds are not found: ${missing.join(', ')}`,
    });
  return ids.map((id) => context.world.findEip(id));
}

export const tagResources: ActionHandler = (context) => {
  const { params } = context;
  const type = resourceType(params);
  const ids = resourceIds(params, true);
  const pairs = params.tags();
  if (pairs.length === 0) throw missingParameter('Tag.N');
  const tags = checkedTags(pairs);
  const eips = eipsNamed(context, type, ids);
  for (const eip of eips) {
    const merged = new Map(eip.tags.map((tag) => [tag.key, tag.value]));
    for (const tag of tags) merged.set(tag.key, tag.value);
    if (merged.size > MAX_TAGS_PER_RESOURCE) {
      throw new CloudApiError('QuotaExceeded.TagNum', {
        message: `Custom Tags quota exceeded: ${eip.allocationId} would carry ${merged.size} tags, at most ${MAX_TAGS_PER_RESOURCE}.`,
      });
    }
  }
  // All checks pass before anything changes: a refused call tags nothing.
  for (const eip of eips) {
    const merged = new Map(eip.tags.map((tag) => [tag.key, tag.value]));
    for (const tag of tags) merged.set(tag.key, tag.value);
    eip.tags = [...merged].map(([key, value]) => ({ key, value }));
  }
  return {};
};

export const unTagResources: ActionHandler = (context) => {
  const { params } = context;
  const type = resourceType(params);
  const eips = eipsNamed(context, type, resourceIds(params, true));
  const keys = params.list('TagKey', MAX_TAGS_PER_RESOURCE);
  const removeAll = params.boolean('All');
  for (const eip of eips) {
    if (keys.length > 0) eip.tags = eip.tags.filter((tag) => !keys.includes(tag.key));
    else if (removeAll) eip.tags = [];
  }
  return {};
};

export const listTagResources: ActionHandler = (context) => {
  const { params, world } = context;
  const type = resourceType(params);
  const ids = resourceIds(params, false);
  const filters = params.tags();
  if (filters.length > MAX_TAGS_PER_RESOURCE) {
    throw new CloudApiError('SizeLimitExceeded.TagNum', {
      message: `The maximum number of tags is exceeded: ${filters.length} given, at most ${MAX_TAGS_PER_RESOURCE}.`,
    });
  }
  if (ids.length === 0 && filters.length === 0) throw new CloudApiError('BothEmpty.TagsAndResources');
  const maxResults = params.integer('MaxResults', { min: 1, max: 50 }, 50);
  const token = params.optional('NextToken');
  const offset = token === undefined ? 0 : decodePageToken('tagResources', token, 'InvalidNextToken.Malformed');

  const eips =
    type !== 'EIP'
      ? []
      : [...world.eips.values()].filter(
          (eip) => (ids.length === 0 || ids.includes(eip.allocationId)) && hasAllTags(eip, filters),
        );
  const rows = eips.flatMap((eip) =>
    eip.tags.map((tag) => ({ ResourceId: eip.allocationId, ResourceType: type, TagKey: tag.key, TagValue: tag.value })),
  );
  const page = rows.slice(offset, offset + maxResults);
  const next = offset + maxResults < rows.length ? encodePageToken('tagResources', offset + maxResults) : '';
  return { NextToken: next, TagResources: { TagResource: page } };
};
