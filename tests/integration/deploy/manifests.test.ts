/**
 * Every kustomization under deploy/ renders with kubectl, every object it renders is valid against its
 * kind's OpenAPI schema, and the components combine.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DEPLOY_DIR, renderKustomization, schemaProblem, type KubeObject } from './render.js';

const KUSTOMIZATIONS = [
  '',
  'base',
  'overlays/access-key',
  'overlays/rrsa',
  'overlays/cert-manager',
  'overlays/monitoring',
];

const key = (o: KubeObject): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('deploy/ kustomizations', () => {
  it.each(KUSTOMIZATIONS)('deploy/%s renders objects that are all valid for their kind', async (dir) => {
    const objects = await renderKustomization(join(DEPLOY_DIR, dir));
    expect(objects.length).toBeGreaterThan(10);
    expect(objects.map(schemaProblem).filter((problem) => problem !== undefined)).toEqual([]);
    expect(new Set(objects.map(key)).size).toBe(objects.length);
  });

  it('deploy/ is the base', async () => {
    expect(await renderKustomization(DEPLOY_DIR)).toEqual(await renderKustomization(join(DEPLOY_DIR, 'base')));
  });

  it('the components combine in one kustomization of a user’s own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'podeip-kustomize-'));
    try {
      // kustomize takes other directories by relative path only.
      const components = ['access-key', 'cert-manager', 'monitoring'].map((c) =>
        relative(dir, join(DEPLOY_DIR, 'components', c)),
      );
      await writeFile(
        join(dir, 'kustomization.yaml'),
        JSON.stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: [relative(dir, join(DEPLOY_DIR, 'base'))],
          components,
          images: [{ name: 'podeip', newName: 'registry.example.com/podeip', newTag: '9.9.9' }],
        }),
      );
      const objects = await renderKustomization(dir);
      expect(objects.map(schemaProblem).filter((problem) => problem !== undefined)).toEqual([]);
      const kinds = new Set(objects.map((o) => o.kind));
      for (const kind of ['Secret', 'Certificate', 'ServiceMonitor']) expect(kinds).toContain(kind);
      const images = objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => (o as Deployment).spec.template.spec.containers[0]!.image);
      expect(images).toEqual(['registry.example.com/podeip:9.9.9', 'registry.example.com/podeip:9.9.9']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the schema check refuses an object that breaks its kind’s schema, and a kind it does not know', () => {
    const broken: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken' },
      spec: {
        selector: {},
        template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'https' }] }] } },
      },
    };
    expect(schemaProblem(broken)).toMatch(/containerPort must be integer/);
    expect(schemaProblem({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } })).toMatch(
      /no schema known/,
    );
  });
});

interface Deployment extends KubeObject {
  spec: { template: { spec: { containers: { image: string }[] } } };
}
