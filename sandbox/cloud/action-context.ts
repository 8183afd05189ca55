/** What an API action handler gets, and what it returns: the response body without its RequestId. */
import type { EipLifecycle } from './eip-lifecycle.js';
import type { RequestParams } from './params.js';
import type { CloudWorld } from './world.js';

export interface ActionContext {
  params: RequestParams;
  world: CloudWorld;
  lifecycle: EipLifecycle;
}

export type ActionHandler = (context: ActionContext) => Record<string, unknown>;
