/**
 * The binder as a library, its one way in: the settings (schema, type, the flags and variables that map
 * onto them, the check) and `start`. Reading files, the environment and flags, and signals, are cli/'s.
 */
export { binderSettings, createBinderConfigSchema, DEFAULT_LEASE_NAMESPACE } from './config/schema.js';
export type { BinderConfig } from './config/types.js';
export { validateBinderConfig } from './config/validate.js';
export {
  referencedFileProblems,
  start,
  SHUTDOWN_TIMEOUT_MS,
  type BinderDeps,
  type RunningBinderProgram,
} from './main.js';
export { BINDER_NODE_OPTIONS, missingNodeOptions } from './runtime.js';
export { drain, DrainRefused, type DrainOptions, type DrainReport } from './drain.js';
