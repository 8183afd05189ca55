/**
 * kubectl against the PodEIP CRD from deploy/crds: registration (Established, discovery), custom
 * resources with the CRD's printer columns, the status subresource, schema defaulting and strict field
 * validation, the 415 for strategic merge, finalizers keeping an object Terminating, and CRD deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { eventually, REPO_ROOT, startHarness, type Harness } from './harness.js';

const CRD_FILE = join(REPO_ROOT, 'deploy/crds/podeips.alibabacloud.com.yaml');

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const applied = await h.kubectl(['apply', '-f', CRD_FILE]);
  expect(applied.stdout.trim()).toBe('customresourcedefinition.apiextensions.k8s.io/podeips.alibabacloud.com created');
});
afterAll(async () => {
  await h.close();
});

const podEip = (name: string, extra = ''): string => `apiVersion: alibabacloud.com/v1beta1
kind: PodEIP
metadata:
  name: ${name}
${extra}spec:
  allocationID: eip-${name}
  allocationType:
    releaseStrategy: Follow
`;

describe('the CustomResourceDefinition', () => {
  it('is Established, applies again as unchanged, and serves its resource in discovery', async () => {
    expect((await h.kubectl(['apply', '-f', CRD_FILE])).stdout.trim()).toBe(
      'customresourcedefinition.apiextensions.k8s.io/podeips.alibabacloud.com unchanged',
    );
    const wait = await h.kubectl([
      'wait',
      '--for=condition=Established',
      'crd/podeips.alibabacloud.com',
      '--timeout=5s',
    ]);
    expect(wait.stdout.trim()).toBe(
      'customresourcedefinition.apiextensions.k8s.io/podeips.alibabacloud.com condition met',
    );
    const resources = await h.kubectl(['api-resources', '--api-group=alibabacloud.com', '--no-headers']);
    expect(resources.stdout).toMatch(/^podeips\s+alibabacloud\.com\/v1beta1\s+true\s+PodEIP$/m);
    const crd = JSON.parse((await h.kubectl(['get', 'crd', 'podeips.alibabacloud.com', '-o', 'json'])).stdout);
    expect(crd.status.acceptedNames.kind).toBe('PodEIP');
    expect(crd.status.storedVersions).toEqual(['v1beta1']);
    expect((await h.kubectl(['get', 'crd', '--no-headers'])).stdout).toMatch(
      /^podeips\.alibabacloud\.com\s+\d{4}-\d{2}-\d{2}T/,
    );
  });
});

describe('PodEIP custom resources', () => {
  it('creates, applies twice, and prints the printer columns, defaulting allocationType.type', async () => {
    const file = await h.manifest('eip-a.yaml', podEip('a'));
    expect((await h.kubectl(['create', '-f', file])).stdout.trim()).toBe('podeip.alibabacloud.com/a created');
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('podeip.alibabacloud.com/a configured');
    expect((await h.kubectl(['apply', '-f', file])).stdout.trim()).toBe('podeip.alibabacloud.com/a unchanged');
    const object = JSON.parse((await h.kubectl(['get', 'podeip', 'a', '-o', 'json'])).stdout);
    expect(object.spec.allocationType).toEqual({ releaseStrategy: 'Follow', type: 'Auto' });
    expect(object.metadata.generation).toBe(1);
    const table = await h.kubectl(['get', 'podeips', '-o', 'wide']);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+EIP\s+ADDRESS\s+ENI\s+PRIVATE IP\s+STATUS\s+AGE$/);
    // Other tests' PodEIPs may be listed too.
    expect(rows.find((row) => row.startsWith('a '))).toMatch(/^a\s+eip-a\s+\S+s$/);
  });

  it('patches status through the subresource only, and spec through the object only', async () => {
    await h.kubectl(['create', '-f', await h.manifest('eip-patched.yaml', podEip('patched'))]);
    const status = await h.kubectl([
      'patch',
      'podeip',
      'patched',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"eipAddress":"47.1.2.3","status":"InUse"},"spec":{"allocationID":"ignored"}}',
    ]);
    expect(status.stdout.trim()).toBe('podeip.alibabacloud.com/patched patched');
    await h.kubectl([
      'patch',
      'podeip',
      'patched',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/status","value":{"eipAddress":"ignored"}}]',
    ]);
    const object = JSON.parse((await h.kubectl(['get', 'podeip', 'patched', '-o', 'json'])).stdout);
    expect(object.spec.allocationID).toBe('eip-patched');
    expect(object.status).toEqual({ eipAddress: '47.1.2.3', status: 'InUse' });
    expect(object.metadata.generation).toBe(1);
    expect((await h.kubectl(['get', 'podeip', 'patched', '--no-headers'])).stdout).toMatch(
      /^patched\s+eip-patched\s+47\.1\.2\.3\s+InUse\s/,
    );
    await h.kubectl(['patch', 'podeip', 'patched', '--type=merge', '-p', '{"spec":{"bandwidthPackageID":"cbwp-1"}}']);
    expect(JSON.parse((await h.kubectl(['get', 'podeip', 'patched', '-o', 'json'])).stdout).metadata.generation).toBe(
      2,
    );
  });

  it('refuses a strategic merge patch with 415, as for every custom resource', async () => {
    await h.kubectl(['create', '-f', await h.manifest('eip-smp.yaml', podEip('smp'))]);
    const result = await h.kubectl([
      'patch',
      'podeip',
      'smp',
      '--type=strategic',
      '-p',
      '{"spec":{"allocationID":"x"}}',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'error: application/strategic-merge-patch+json is not supported by alibabacloud.com/v1beta1, Kind=PodEIP: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
  });

  it('validates against the schema: required fields, enums, and unknown fields under --validate=strict', async () => {
    const missing = await h.kubectl(['create', '-f', '-'], {
      input:
        'apiVersion: alibabacloud.com/v1beta1\nkind: PodEIP\nmetadata: {name: bad}\nspec: {allocationType: {releaseStrategy: Sometimes}}\n',
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('The PodEIP "bad" is invalid:');
    expect(missing.stderr).toContain('spec.allocationID: Required value');
    expect(missing.stderr).toContain(
      'spec.allocationType.releaseStrategy: Unsupported value: "Sometimes": supported values: "Follow", "TTL", "Never"',
    );
    const unknown = await h.kubectl(['create', '-f', '-'], {
      input: podEip('extra').replace('spec:\n', 'spec:\n  colour: blue\n'),
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.colour"');
    const lenient = await h.kubectl(['create', '--validate=false', '-f', '-'], {
      input: podEip('extra').replace('spec:\n', 'spec:\n  colour: blue\n'),
    });
    expect(lenient.code).toBe(0);
    expect(JSON.parse((await h.kubectl(['get', 'podeip', 'extra', '-o', 'json'])).stdout).spec.colour).toBeUndefined();
  });

  it('keeps an object with a finalizer Terminating until the finalizer is removed', async () => {
    await h.kubectl(['apply', '-f', '-'], {
      input: podEip('held', 'finalizers: [podeip.alibabacloud.com/release]\n'.replace(/^/, '  ')),
    });
    const watch = h.kubectlStream(['get', 'podeips', '-w', '--output-watch-events']);
    try {
      await eventually(() => (h.sandbox.controls.openWatchCount() > 0 ? true : undefined));
      expect((await h.kubectl(['delete', 'podeip', 'held', '--wait=false'])).stdout.trim()).toBe(
        'podeip.alibabacloud.com "held" deleted',
      );
      const terminating = JSON.parse((await h.kubectl(['get', 'podeip', 'held', '-o', 'json'])).stdout);
      expect(terminating.metadata.deletionTimestamp).toBeDefined();
      expect(terminating.metadata.deletionGracePeriodSeconds).toBe(0);
      const added = await h.kubectl([
        'patch',
        'podeip',
        'held',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/late"}]',
      ]);
      expect(added.stderr).toContain(
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/late"}',
      );
      await h.kubectl(['patch', 'podeip', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      expect((await h.kubectl(['get', 'podeip', 'held'])).stderr.trim()).toBe(
        'Error from server (NotFound): podeips.alibabacloud.com "held" not found',
      );
      await watch.waitFor((l) => /^DELETED\s+held\s/.test(l));
      expect(watch.lines.filter((l) => /\sheld\s/.test(l)).map((l) => l.split(/\s+/)[0])).toEqual([
        'ADDED',
        'MODIFIED',
        'MODIFIED',
        'DELETED',
      ]);
    } finally {
      await watch.stop();
    }
  });

  it('applies server-side', async () => {
    const file = await h.manifest('eip-ssa.yaml', podEip('ssa'));
    expect((await h.kubectl(['apply', '--server-side', '-f', file])).stdout.trim()).toBe(
      'podeip.alibabacloud.com/ssa serverside-applied',
    );
    await h.manifest('eip-ssa.yaml', podEip('ssa').replace('eip-ssa', 'eip-ssa2'));
    expect((await h.kubectl(['apply', '--server-side', '-f', file])).stdout.trim()).toBe(
      'podeip.alibabacloud.com/ssa serverside-applied',
    );
    expect((await h.kubectl(['get', 'podeip', 'ssa', '-o', 'jsonpath={.spec.allocationID}'])).stdout).toBe('eip-ssa2');
  });

  it('deletes every instance with the CRD, then stops serving the resource', async () => {
    await h.kubectl(['apply', '-f', await h.manifest('eip-doomed.yaml', podEip('doomed'))]);
    try {
      expect((await h.kubectl(['delete', '-f', CRD_FILE])).stdout.trim()).toBe(
        'customresourcedefinition.apiextensions.k8s.io "podeips.alibabacloud.com" deleted',
      );
      const gone = await h.kubectl(['get', 'podeips']);
      expect(gone.code).toBe(1);
      // kubectl's discovery cache still knows podeips, so it lists and the server answers 404.
      expect(gone.stderr.trim()).toBe(
        'Error from server (NotFound): Unable to list "alibabacloud.com/v1beta1, Resource=podeips": the server could not find the requested resource',
      );
      expect((await h.raw('GET', '/apis/alibabacloud.com/v1beta1/namespaces/default/podeips')).status).toBe(404);
    } finally {
      // The other tests need the CRD, whichever order they run in.
      await h.kubectl(['apply', '-f', CRD_FILE]);
      await h.kubectl(['wait', '--for=condition=Established', 'crd/podeips.alibabacloud.com', '--timeout=20s']);
    }
    // Its instances went with it: the CRD is back, the PodEIP is not.
    expect((await h.kubectl(['get', 'podeip', 'doomed'])).stderr.trim()).toBe(
      'Error from server (NotFound): podeips.alibabacloud.com "doomed" not found',
    );
  });
});
