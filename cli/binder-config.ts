/** Where `podeip binder` reads its settings: the file, the environment, the flags, and the pod it runs in. */
import { readFileSync } from 'node:fs';
import { binderSettings, validateBinderConfig, type BinderConfig } from '../binder/index.js';
import { loadConfig, type ConfigResult } from './config.js';

/** Mounted into every pod with a service account; holds the pod's namespace. */
export const POD_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface LoadBinderConfigInput {
  file?: string;
  flags: Readonly<Record<string, string | boolean | undefined>>;
  env: Readonly<Record<string, string | undefined>>;
  /** The pod's own namespace, the Lease's default home; absent outside a cluster. */
  podNamespace?: string;
}

export function loadBinderConfig(input: LoadBinderConfigInput): ConfigResult<BinderConfig> {
  return loadConfig({
    settings: binderSettings,
    ...(input.file === undefined ? {} : { file: input.file }),
    flags: input.flags,
    env: input.env,
    check: (raw, sourceOf) =>
      validateBinderConfig(raw, {
        sourceOf,
        ...(input.podNamespace === undefined ? {} : { podNamespace: input.podNamespace }),
      }),
  });
}

/** The namespace of the pod this process runs in, or undefined outside a cluster. */
export function readPodNamespace(file = POD_NAMESPACE_FILE): string | undefined {
  try {
    const namespace = readFileSync(file, 'utf8').trim();
    return namespace === '' ? undefined : namespace;
  } catch {
    return undefined;
  }
}
