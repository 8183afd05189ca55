/** The Alibaba Cloud stand-in. Import from here rather than from the files behind it. */
export { startCloudSandbox } from './sandbox.js';
export { PUBLISHED_PER_MINUTE, DEFAULT_PER_MINUTE, DEFAULT_WINDOW_MS } from './rate-limits.js';
export { DEFAULT_TRANSITION_DELAYS } from './transitions.js';
export type * from './types.js';
