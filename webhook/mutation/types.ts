import type { AnnotationProblem } from '../../api/eip-request.js';

/** One RFC 6902 operation. Paths are JSON Pointers (`/` in keys escaped as `~1`). */
export type JsonPatchOp =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'test'; path: string; value: unknown };

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** What the planner decided for one pod: allow as is, allow with a patch, or deny with every reason. */
export type PodMutationPlan =
  | { decision: 'allow'; patch: JsonPatchOp[]; warnings: string[] }
  | { decision: 'deny'; problems: AnnotationProblem[]; message: string; warnings: string[] };
