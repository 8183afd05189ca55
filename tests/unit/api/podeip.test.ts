import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { parseAllDocuments } from 'yaml';
import type { EipRequest } from '../../../api/eip-request.js';
import { podEipCustomResourceDefinition, podEipSpecFor } from '../../../api/podeip.js';

const CRD_FILE = new URL('../../../deploy/crds/podeips.alibabacloud.com.yaml', import.meta.url);

function schemaValidator(options: { useDefaults?: boolean } = {}) {
  const ajv = new AjvModule.default({
    allErrors: true,
    ...options,
    formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/ },
  });
  const [version] = podEipCustomResourceDefinition().spec.versions;
  return ajv.compile(version?.schema.openAPIV3Schema ?? {});
}

/** The Deployment example's PodEIP from ACK's manual (docs/annotations.md#the-podeip-resource). */
const ackFollowExample = {
  apiVersion: 'alibabacloud.com/v1beta1',
  kind: 'PodEIP',
  metadata: { name: 'example-xxx', namespace: 'default', finalizers: ['podeip-controller.alibabacloud.com/finalizer'] },
  spec: { allocationID: 'eip-2ze2qe8zsxxx', allocationType: { releaseStrategy: 'Follow', type: 'Auto' } },
  status: {
    eipAddress: '39.102.0.1',
    internetChargeType: 'PayByTraffic',
    isp: 'BGP',
    networkInterfaceID: 'eni-2zeagv8f3xxxx',
    podLastSeen: '2023-12-15T05:18:47Z',
    privateIPAddress: '192.168.0.1',
    publicIpAddressPoolID: 'pippool-2ze498cmhk96xxx',
    resourceGroupID: 'rg-acfmwxxxxxsq',
    status: 'InUse',
  },
};
/** The StatefulSet example's PodEIP from the same manual. */
const ackTtlExample = {
  ...ackFollowExample,
  metadata: { name: 'example-0', namespace: 'default' },
  spec: {
    allocationID: 'eip-2ze08metxxx',
    allocationType: { releaseAfter: '10m', releaseStrategy: 'TTL', type: 'Auto' },
  },
};

describe('the PodEIP CRD', () => {
  it('is the same object in deploy/crds as in code', () => {
    const documents = parseAllDocuments(readFileSync(CRD_FILE, 'utf8'));
    expect(documents).toHaveLength(1);
    expect(documents[0]?.errors).toEqual([]);
    expect(documents[0]?.toJS()).toEqual(podEipCustomResourceDefinition());
  });

  it("uses ACK's names, so either controller can serve the same objects", () => {
    const crd = podEipCustomResourceDefinition();
    expect(crd.metadata.name).toBe('podeips.alibabacloud.com');
    expect(crd.spec).toMatchObject({
      group: 'alibabacloud.com',
      names: { kind: 'PodEIP', listKind: 'PodEIPList', plural: 'podeips', singular: 'podeip' },
      scope: 'Namespaced',
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({
      name: 'v1beta1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it('shows the binding in kubectl get podeips', () => {
    expect(podEipCustomResourceDefinition().spec.versions[0]?.additionalPrinterColumns).toEqual([
      { name: 'EIP', type: 'string', jsonPath: '.spec.allocationID' },
      { name: 'Address', type: 'string', jsonPath: '.status.eipAddress' },
      { name: 'ENI', type: 'string', jsonPath: '.status.networkInterfaceID' },
      { name: 'Private IP', type: 'string', jsonPath: '.status.privateIPAddress' },
      { name: 'Status', type: 'string', jsonPath: '.status.status' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ]);
  });

  it('gives a fresh copy each time, so a caller cannot change it for everyone', () => {
    const first = podEipCustomResourceDefinition();
    first.spec.versions[0]?.additionalPrinterColumns.pop();
    expect(podEipCustomResourceDefinition().spec.versions[0]?.additionalPrinterColumns).toHaveLength(6);
  });

  it.each([
    ['the Deployment example', ackFollowExample],
    ['the StatefulSet example', ackTtlExample],
  ])("accepts %s from ACK's manual", (_, example) => {
    const validate = schemaValidator();
    expect(validate(example) ? [] : validate.errors).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['no allocationID', { allocationType: { type: 'Auto', releaseStrategy: 'Follow' } }],
    ['no allocationType', { allocationID: 'eip-1' }],
    ['no releaseStrategy', { allocationID: 'eip-1', allocationType: { type: 'Auto' } }],
    ['an unknown type', { allocationID: 'eip-1', allocationType: { type: 'Dynamic', releaseStrategy: 'Follow' } }],
    ['an unknown strategy', { allocationID: 'eip-1', allocationType: { type: 'Auto', releaseStrategy: 'Sometimes' } }],
  ])('refuses a spec with %s', (_, spec) => {
    expect(schemaValidator()({ ...ackFollowExample, spec })).toBe(false);
  });

  it('refuses a podLastSeen that is not a timestamp', () => {
    expect(schemaValidator()({ ...ackFollowExample, status: { podLastSeen: 'yesterday' } })).toBe(false);
  });

  it('defaults the allocation type to Auto', () => {
    const object = {
      ...ackFollowExample,
      spec: { allocationID: 'eip-1', allocationType: { releaseStrategy: 'Never' } },
    };
    expect(schemaValidator({ useDefaults: true })(object)).toBe(true);
    expect(object.spec.allocationType).toEqual({ releaseStrategy: 'Never', type: 'Auto' });
  });
});

describe('podEipSpecFor', () => {
  const auto = (extra: Partial<Extract<EipRequest, { mode: 'auto' }>> = {}): EipRequest => ({
    mode: 'auto',
    bandwidth: 5,
    internetChargeType: 'PayByTraffic',
    instanceChargeType: 'PostPaid',
    releaseStrategy: { type: 'Follow' },
    ...extra,
  });

  it.each<[string, EipRequest, object]>([
    ['an auto EIP that follows its pod', auto(), { type: 'Auto', releaseStrategy: 'Follow' }],
    [
      'an auto EIP kept forever',
      auto({ releaseStrategy: { type: 'Never' } }),
      { type: 'Auto', releaseStrategy: 'Never' },
    ],
    [
      'a TTL of 10m',
      auto({ releaseStrategy: { type: 'TTL', after: '10m', seconds: 600 } }),
      { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '10m0s' },
    ],
    [
      'a TTL of 5m30s',
      auto({ releaseStrategy: { type: 'TTL', after: '330s', seconds: 330 } }),
      { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '5m30s' },
    ],
    [
      'a TTL of 1.5h',
      auto({ releaseStrategy: { type: 'TTL', after: '1.5h', seconds: 5400 } }),
      { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '1h30m0s' },
    ],
    [
      'a static EIP',
      { mode: 'static', allocationId: 'eip-bp1static', releaseStrategy: { type: 'Follow' } },
      { type: 'Static', releaseStrategy: 'Follow' },
    ],
  ])('records %s', (_, request, allocationType) => {
    const spec = podEipSpecFor(request, 'eip-bp1a2b3c4d');
    expect(spec).toEqual({ allocationID: 'eip-bp1a2b3c4d', allocationType });
    expect(schemaValidator()({ ...ackFollowExample, spec })).toBe(true);
  });

  it('records the common bandwidth package an auto EIP joins', () => {
    expect(podEipSpecFor(auto({ commonBandwidthPackageId: 'cbwp-bp1pkg000' }), 'eip-bp1a2b3c4d')).toEqual({
      allocationID: 'eip-bp1a2b3c4d',
      bandwidthPackageID: 'cbwp-bp1pkg000',
      allocationType: { type: 'Auto', releaseStrategy: 'Follow' },
    });
  });
});
