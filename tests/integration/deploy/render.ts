/**
 * deploy/ as kustomize renders it, and each rendered object checked against the OpenAPI schema of its
 * kind: kubernetes-models for Kubernetes' own kinds, @kubernetes-models/cert-manager and
 * @kubernetes-models/prometheus-operator for the custom resources the overlays create.
 */
import { execFile } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import * as certManagerModels from '@kubernetes-models/cert-manager';
import * as prometheusOperatorModels from '@kubernetes-models/prometheus-operator';
import * as kubernetesModels from 'kubernetes-models';

export const KUBECTL = '/usr/bin/kubectl';
export const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
export const DEPLOY_DIR = `${REPO_ROOT}deploy`;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize DIR`, parsed; rejects with kubectl's own message when it fails. */
export function renderKustomization(dir: string): Promise<KubeObject[]> {
  return new Promise((resolve, reject) => {
    execFile(KUBECTL, ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`kubectl kustomize ${dir} failed: ${stderr || error.message}`));
      const objects = parseAllDocuments(stdout)
        .map((document) => document.toJS() as KubeObject | null)
        .filter((object): object is KubeObject => object !== null);
      resolve(objects);
    });
  });
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

function isModelClass(value: unknown): value is ModelClass {
  return (
    typeof value === 'function' &&
    typeof (value as { apiVersion?: unknown }).apiVersion === 'string' &&
    typeof (value as { kind?: unknown }).kind === 'string'
  );
}

/** Every model class the three packages export, found by walking their group/version namespaces. */
function collectModels(namespace: object, into: Map<string, ModelClass>, depth = 0): Map<string, ModelClass> {
  for (const value of Object.values(namespace)) {
    if (isModelClass(value)) into.set(`${value.apiVersion}/${value.kind}`, value);
    else if (typeof value === 'object' && value !== null && depth < 3) collectModels(value, into, depth + 1);
  }
  return into;
}

const MODELS = [kubernetesModels, certManagerModels, prometheusOperatorModels].reduce(
  (models, namespace) => collectModels(namespace, models),
  new Map<string, ModelClass>(),
);

/** The schema's complaint about `object`, or undefined when it is valid. Unknown kinds are a complaint. */
export function schemaProblem(object: KubeObject): string | undefined {
  const Model = MODELS.get(`${object.apiVersion}/${object.kind}`);
  if (Model === undefined) return `${object.apiVersion} ${object.kind}: no schema known for this kind`;
  try {
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return `${object.kind} ${object.metadata.name}: ${(error as Error).message}`;
  }
}
