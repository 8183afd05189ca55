/**
 * The demo renders deploy/ without kubectl (a fresh machine has only Node): its renderer must give exactly
 * what `kubectl kustomize` gives for the base, every overlay and deploy/ itself, and refuse what it cannot do
 * by name.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderKustomization as renderForDemo, sandboxStrategicMerge } from '../../../cli/demo/kustomize.js';
import { DEPLOY_DIR, renderKustomization, type KubeObject } from './render.js';

const byIdentity = (
  objects: readonly { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[],
) =>
  [...objects].sort((a, b) =>
    `${a.apiVersion}/${a.kind}/${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
      `${b.apiVersion}/${b.kind}/${b.metadata.namespace ?? ''}/${b.metadata.name}`,
    ),
  );

describe("the demo's kustomize renderer", () => {
  for (const dir of [
    '.',
    'base',
    'overlays/access-key',
    'overlays/rrsa',
    'overlays/cert-manager',
    'overlays/monitoring',
  ])
    it(`renders deploy/${dir} as kubectl kustomize does`, async () => {
      const expected: KubeObject[] = await renderKustomization(join(DEPLOY_DIR, dir));
      const rendered = renderForDemo(join(DEPLOY_DIR, dir), sandboxStrategicMerge());
      expect(byIdentity(rendered)).toEqual(byIdentity(expected));
    });

  it('refuses what it does not do, by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podeip-renderer-'));
    try {
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: []\nnamePrefix: x-\nimages: []\n');
      expect(() => renderForDemo(dir, sandboxStrategicMerge())).toThrow(/does not support namePrefix, images/);
      writeFileSync(join(dir, 'kustomization.yaml'), 'configMapGenerator:\n  - name: c\n    literals: [a=b]\n');
      expect(() => renderForDemo(dir, sandboxStrategicMerge())).toThrow(/makes no name hashes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
