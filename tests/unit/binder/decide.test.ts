/**
 * decideBinding, branch by branch: each row is what the binder observed and the one step it must take.
 * Pure data in, pure data out; no clock but `now`.
 */
import { describe, expect, it } from '@jest/globals';
import type { PodEIP, PodEIPStatus } from '../../../api/podeip.js';
import { decideBinding } from '../../../binder/controller/decide.js';
import {
  POD_LAST_SEEN_REFRESH_MS,
  RESYNC_BOUND_MS,
  WAIT_MS,
  type Action,
  type Decision,
  type Observed,
} from '../../../binder/controller/decision.js';
import { statusPatchFor, ttlExpiry } from '../../../binder/controller/podeip-status.js';
import type { PodProjection } from '../../../binder/kube/pod-projection.js';
import {
  ADDRESS,
  AUTO,
  AUTO_REQUEST,
  IP,
  NOW,
  NOW_ISO,
  OLD_UID,
  STATIC,
  TRUE,
  UID,
  boundStatus,
  eip,
  eni,
  inUse,
  observed,
  pod,
  podEip,
  recordedOld,
  type PodEipShape,
} from './decide-fixtures.js';

const act = (actions: Action[], requeueAfterMs?: number): Decision => ({
  kind: 'act',
  actions,
  ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
});
const condition = (status: 'True' | 'False', reason: string, message: string): Action => ({
  type: 'set-condition',
  condition: { status, reason, message },
});
const warning = (reason: string, message: string): Action => ({
  type: 'event',
  eventType: 'Warning',
  reason,
  message,
});
/** The condition False and a Warning Event, both with `message`. */
const failure = (reason: string, message: string, requeueAfterMs?: number): Decision =>
  act([condition('False', reason, message), warning(reason, message)], requeueAfterMs);
const unassociate = (eniId: string, ip: string, owner = UID): Action => ({
  type: 'unassociate-eip',
  allocationId: 'eip-auto1',
  networkInterfaceId: eniId,
  privateIp: ip,
  podUid: owner,
});
const finish: Action = { type: 'finish-podeip' };

type Row = [string, Observed, Decision];

function table(rows: Row[]): void {
  it.each(rows)('%s', (_name, o, expected) => {
    expect(decideBinding(o)).toEqual(expected);
  });
}

describe('what the pod asks for', () => {
  table([
    ['nothing: no pod, no record', observed({}), act([])],
    [
      'nothing asked, nothing written: costs nothing',
      observed({ pod: pod({ eipAnnotations: {}, hasEipReadinessGate: false }) }),
      act([]),
    ],
    [
      'nothing asked, a stale address: removed',
      observed({ pod: pod({ eipAnnotations: { [ADDRESS]: '198.51.100.7' }, hasEipReadinessGate: false }) }),
      act([{ type: 'annotate-pod', address: null }]),
    ],
    [
      'nothing asked but gated: the gate is let through',
      observed({ pod: pod({ eipAnnotations: { 'k8s.aliyun.com/pod-with-eip': 'false' } }) }),
      act([
        condition(
          'True',
          'NoEipRequested',
          'the pod asks for no EIP (no pod-with-eip or pod-eip-instanceid annotation), so there is nothing to wait for',
        ),
      ]),
    ],
    [
      'nothing asked, gate already True: nothing',
      observed({ pod: pod({ eipAnnotations: {}, eipCondition: TRUE }) }),
      act([]),
    ],
    [
      'nothing asked, gated but terminating: nothing',
      observed({ pod: pod({ eipAnnotations: {}, deletionTimestamp: NOW_ISO }) }),
      act([]),
    ],
    [
      'invalid annotations: condition and Event, no retry',
      observed({ pod: pod({ eipAnnotations: { ...AUTO, 'k8s.aliyun.com/eip-bandwidth': 'lots' } }) }),
      failure(
        'InvalidEipAnnotations',
        'k8s.aliyun.com/eip-bandwidth="lots": must be an integer from 1 to 200 Mbit/s for PostPaid PayByTraffic EIPs',
      ),
    ],
    [
      'hostNetwork: refused',
      observed({ pod: pod({ hostNetwork: true }) }),
      failure(
        'HostNetworkNotSupported',
        "a hostNetwork pod shares its node's IP, and an EIP is bound to a pod's own IP; remove hostNetwork or the EIP annotations",
      ),
    ],
    ['no IP yet: wait for the next pod event', observed({ pod: pod({ podIP: undefined }) }), act([])],
    ['no record yet: the EIPPolicies are asked first', observed({ pod: pod() }), { kind: 'observe', what: 'policy' }],
    [
      'no record, and no EIPPolicy lets the namespace have it: refused with the reason, nothing recorded',
      observed({
        pod: pod(),
        policy: { allowed: false, message: 'no EIPPolicy lets namespace default use EIPs' },
      }),
      act(
        [
          {
            type: 'set-condition',
            condition: {
              status: 'False',
              reason: 'EipPolicyDenied',
              message: 'no EIPPolicy lets namespace default use EIPs',
            },
          },
          {
            type: 'event',
            eventType: 'Warning',
            reason: 'EipPolicyDenied',
            message: 'no EIPPolicy lets namespace default use EIPs',
          },
        ],
        60_000,
      ),
    ],
    [
      'auto, no record: the record comes first',
      observed({ pod: pod(), policy: { allowed: true } }),
      act(
        [
          {
            type: 'create-podeip',
            spec: { allocationID: '', allocationType: { type: 'Auto', releaseStrategy: 'Follow' } },
            podUid: UID,
          },
        ],
        0,
      ),
    ],
    [
      'static with TTL, no record: the record names the EIP',
      observed({
        pod: pod({ eipAnnotations: { ...STATIC, 'k8s.aliyun.com/pod-eip-release-strategy': '10m' } }),
        policy: { allowed: true },
      }),
      act(
        [
          {
            type: 'create-podeip',
            spec: {
              allocationID: 'eip-static1',
              allocationType: { type: 'Static', releaseStrategy: 'TTL', releaseAfter: '10m0s' },
            },
            podUid: UID,
          },
        ],
        0,
      ),
    ],
  ]);
});

describe('binding', () => {
  const auto = podEip({ allocationID: '' });
  table([
    [
      'looks up the ENI before anything else',
      observed({ pod: pod(), podEip: auto }),
      { kind: 'observe', what: 'network-interface' },
    ],
    [
      'no ENI holds the IP: NoNetworkInterface, nothing allocated',
      observed({ pod: pod(), podEip: auto, networkInterface: null }),
      failure(
        'NoNetworkInterface',
        `no ENI in the VPC holds the pod IP ${IP}: an EIP needs pods on ENI IPs (Terway); overlay networks cannot have one`,
        WAIT_MS.misconfigured,
      ),
    ],
    [
      'the node NIC: refused',
      observed({ pod: pod(), podEip: auto, networkInterface: eni({ type: 'Primary' }) }),
      failure(
        'NodePrimaryNetworkInterface',
        `the pod IP ${IP} is on the node's primary network interface eni-1; podeip binds EIPs to pod ENIs only`,
        WAIT_MS.misconfigured,
      ),
    ],
    [
      'auto, nothing recorded: looks for tagged EIPs first',
      observed({ pod: pod(), podEip: auto, networkInterface: eni() }),
      { kind: 'observe', what: 'tagged-eips' },
    ],
    [
      'a tagged EIP from before a crash: recorded',
      observed({ pod: pod(), podEip: auto, networkInterface: eni(), taggedEips: [eip({ allocationId: 'eip-found' })] }),
      act([{ type: 'record-allocation', allocationId: 'eip-found' }], 0),
    ],
    [
      'none: allocates, with the recorded attempt',
      observed({
        pod: pod(),
        podEip: podEip({ allocationID: '', attempt: '2' }),
        networkInterface: eni(),
        taggedEips: [],
      }),
      act(
        [
          condition('False', 'AllocatingEip', 'allocating an EIP'),
          { type: 'allocate-eip', request: AUTO_REQUEST, podUid: UID, attempt: 2 },
        ],
        0,
      ),
    ],
    [
      'an unreadable attempt counts as 0; no progress over a True condition',
      observed({
        pod: pod({ eipCondition: TRUE }),
        podEip: podEip({ allocationID: '', attempt: 'x' }),
        networkInterface: eni(),
        taggedEips: [],
      }),
      act([{ type: 'allocate-eip', request: AUTO_REQUEST, podUid: UID, attempt: 0 }], 0),
    ],
    [
      'then looks at the EIP',
      observed({ pod: pod(), podEip: podEip(), networkInterface: eni() }),
      { kind: 'observe', what: 'eip' },
    ],
    [
      'the static EIP does not exist',
      observed({
        pod: pod({ eipAnnotations: STATIC }),
        podEip: podEip({ type: 'Static', allocationID: 'eip-static1' }),
        networkInterface: eni(),
        eip: null,
      }),
      failure('EipNotFound', 'the EIP eip-static1 does not exist in this region', WAIT_MS.misconfigured),
    ],
    [
      'our auto EIP vanished: forgotten, with a new attempt',
      observed({ pod: pod(), podEip: podEip({ attempt: '1' }), networkInterface: eni(), eip: null }),
      act(
        [
          { type: 'record-allocation', allocationId: '', attempt: 2 },
          warning('EipNotFound', 'the EIP eip-auto1 allocated for this pod no longer exists; allocating another'),
        ],
        0,
      ),
    ],
    [
      'Available: records the target, then associates',
      observed({ pod: pod(), podEip: podEip(), networkInterface: eni(), eip: eip() }),
      act(
        [
          condition('False', 'AssociatingEip', `associating the EIP eip-auto1 (198.51.100.7) with eni-1/${IP}`),
          {
            type: 'write-podeip-status',
            status: { networkInterfaceID: 'eni-1', privateIPAddress: IP, status: 'Available', podLastSeen: NOW_ISO },
          },
          { type: 'associate-eip', allocationId: 'eip-auto1', networkInterface: eni(), podUid: UID },
        ],
        WAIT_MS.associating,
      ),
    ],
    [
      'Available, target already recorded: associates again',
      observed({
        pod: pod(),
        podEip: podEip({ status: { networkInterfaceID: 'eni-1', privateIPAddress: IP, status: 'Available' } }),
        networkInterface: eni(),
        eip: eip(),
      }),
      act(
        [
          condition('False', 'AssociatingEip', `associating the EIP eip-auto1 (198.51.100.7) with eni-1/${IP}`),
          { type: 'associate-eip', allocationId: 'eip-auto1', networkInterface: eni(), podUid: UID },
        ],
        WAIT_MS.associating,
      ),
    ],
    [
      'Available, a bandwidth package asked for: joins it first',
      observed({
        pod: pod({ eipAnnotations: { ...AUTO, 'k8s.aliyun.com/eip-common-bandwidth-package-id': 'cbwp-bp1pkg001' } }),
        podEip: podEip({ bandwidthPackageID: 'cbwp-bp1pkg001' }),
        networkInterface: eni(),
        eip: eip(),
      }),
      act(
        [
          {
            type: 'add-to-bandwidth-package',
            allocationId: 'eip-auto1',
            bandwidthPackageId: 'cbwp-bp1pkg001',
            podUid: UID,
          },
        ],
        WAIT_MS.transition,
      ),
    ],
    [
      'bound but outside the asked-for package: joins it',
      observed({
        pod: pod({ eipAnnotations: { ...AUTO, 'k8s.aliyun.com/eip-common-bandwidth-package-id': 'cbwp-bp1pkg001' } }),
        podEip: podEip({ status: boundStatus }),
        networkInterface: eni(),
        eip: inUse(),
      }),
      act(
        [
          {
            type: 'add-to-bandwidth-package',
            allocationId: 'eip-auto1',
            bandwidthPackageId: 'cbwp-bp1pkg001',
            podUid: UID,
          },
        ],
        WAIT_MS.transition,
      ),
    ],
    [
      'Associating: looks again soon, the pod waits on it',
      observed({ pod: pod(), podEip: podEip(), networkInterface: eni(), eip: eip({ status: 'Associating' }) }),
      act(
        [condition('False', 'AssociatingEip', 'waiting for the EIP eip-auto1: it is Associating')],
        WAIT_MS.associating,
      ),
    ],
    [
      "Unassociating (someone else's move): waits for the cloud",
      observed({ pod: pod(), podEip: podEip(), networkInterface: eni(), eip: eip({ status: 'Unassociating' }) }),
      act(
        [condition('False', 'AssociatingEip', 'waiting for the EIP eip-auto1: it is Unassociating')],
        WAIT_MS.transition,
      ),
    ],
    [
      'InUse where this record bound it before (an older IP): moved',
      observed({
        pod: pod(),
        podEip: podEip({ status: recordedOld }),
        networkInterface: eni(),
        eip: inUse({ instanceId: 'eni-old', privateIpAddress: '192.168.0.99' }),
      }),
      act(
        [
          condition('False', 'AssociatingEip', `moving the EIP eip-auto1 from eni-old/192.168.0.99 to eni-1/${IP}`),
          unassociate('eni-old', '192.168.0.99'),
        ],
        WAIT_MS.transition,
      ),
    ],
    [
      'auto EIP bound to something else: left alone',
      observed({
        pod: pod(),
        podEip: podEip(),
        networkInterface: eni(),
        eip: inUse({ instanceId: 'i-other', instanceType: 'EcsInstance', privateIpAddress: '' }),
      }),
      failure(
        'EipBoundElsewhere',
        'the EIP eip-auto1 is bound to EcsInstance i-other, not to this pod; unbind it there and podeip will bind it here',
        WAIT_MS.misconfigured,
      ),
    ],
  ]);
});

describe('a static EIP bound elsewhere', () => {
  const o = {
    pod: pod({ eipAnnotations: STATIC }),
    podEip: podEip({ type: 'Static', allocationID: 'eip-static1' }),
    networkInterface: eni(),
  };
  const elsewhere = inUse({ allocationId: 'eip-static1', instanceId: 'eni-2', privateIpAddress: '192.168.0.20' });
  table([
    ['asks who holds that IP', observed({ ...o, eip: elsewhere }), { kind: 'observe', what: 'ip-holder' }],
    [
      'another live pod: waits for it',
      observed({ ...o, eip: elsewhere, ipHolder: { namespace: 'ns', name: 'other' } }),
      failure(
        'EipInUseByAnotherPod',
        'the EIP eip-static1 is bound to the pod ns/other (NetworkInterface eni-2/192.168.0.20); waiting until that pod lets it go',
        WAIT_MS.heldByAnotherPod,
      ),
    ],
    [
      'no pod: bound elsewhere',
      observed({ ...o, eip: elsewhere, ipHolder: null }),
      failure(
        'EipBoundElsewhere',
        'the EIP eip-static1 is bound to NetworkInterface eni-2/192.168.0.20, not to this pod; unbind it there and podeip will bind it here',
        WAIT_MS.misconfigured,
      ),
    ],
    [
      'bound to an ENI primary IP elsewhere: no pod to ask about',
      observed({ ...o, eip: inUse({ allocationId: 'eip-static1', instanceId: 'eni-2', privateIpAddress: '' }) }),
      failure(
        'EipBoundElsewhere',
        'the EIP eip-static1 is bound to NetworkInterface eni-2, not to this pod; unbind it there and podeip will bind it here',
        WAIT_MS.misconfigured,
      ),
    ],
  ]);
});

describe('bound', () => {
  it('writes the status, the address, the condition and one Event, then resyncs', () => {
    expect(
      decideBinding(
        observed({
          pod: pod(),
          podEip: podEip({ status: { networkInterfaceID: 'eni-1', privateIPAddress: IP, status: 'Available' } }),
          networkInterface: eni(),
          eip: inUse(),
        }),
      ),
    ).toEqual(
      act(
        [
          { type: 'write-podeip-status', status: { ...boundStatus, podLastSeen: NOW_ISO } },
          { type: 'annotate-pod', address: '198.51.100.7' },
          {
            type: 'set-condition',
            condition: {
              status: 'True',
              reason: 'Associate eip succeed',
              message: `EIP eip-auto1 (198.51.100.7) is bound to eni-1/${IP}`,
            },
          },
          {
            type: 'event',
            eventType: 'Normal',
            reason: 'EipBound',
            message: `EIP eip-auto1 (198.51.100.7) is bound to eni-1/${IP}`,
          },
        ],
        RESYNC_BOUND_MS,
      ),
    );
  });

  const seenLately: PodEIPStatus = {
    ...boundStatus,
    podLastSeen: new Date(NOW - POD_LAST_SEEN_REFRESH_MS).toISOString(),
  };

  it('writes nothing new when all already says so (an ENI primary IP reads as no private IP)', () => {
    const primary = eni({ isPrimaryIp: true });
    const decision = decideBinding(
      observed({
        pod: pod({ eipCondition: TRUE }),
        podEip: podEip({ status: seenLately }),
        networkInterface: primary,
        eip: inUse({ privateIpAddress: '' }),
      }),
    );
    expect(decision).toEqual(
      act(
        [
          { type: 'annotate-pod', address: '198.51.100.7' },
          condition('True', 'Associate eip succeed', `EIP eip-auto1 (198.51.100.7) is bound to eni-1/${IP}`),
        ],
        RESYNC_BOUND_MS,
      ),
    );
  });

  it('ignores fields only ACK writes when comparing the status', () => {
    const decision = decideBinding(
      observed({
        pod: pod({ eipCondition: TRUE }),
        podEip: podEip({ status: { ...seenLately, bandwidth: '5' } }),
        networkInterface: eni(),
        eip: inUse(),
      }),
    );
    expect(decision.kind === 'act' && decision.actions.map((a) => a.type)).toEqual(['annotate-pod', 'set-condition']);
  });

  it("stamps a TTL record's podLastSeen again once it is older than half a resync, so the TTL never counts from long before the pod went", () => {
    const stale = { ...boundStatus, podLastSeen: new Date(NOW - POD_LAST_SEEN_REFRESH_MS - 1000).toISOString() };
    const ttlPod = pod({
      eipCondition: TRUE,
      eipAnnotations: { ...AUTO, 'k8s.aliyun.com/pod-eip-release-strategy': '10m' },
    });
    const decision = decideBinding(
      observed({
        pod: ttlPod,
        podEip: podEip({ strategy: 'TTL', releaseAfter: '10m0s', status: stale }),
        networkInterface: eni(),
        eip: inUse(),
      }),
    );
    expect(decision).toEqual(
      act(
        [
          { type: 'write-podeip-status', status: { ...boundStatus, podLastSeen: NOW_ISO } },
          { type: 'annotate-pod', address: '198.51.100.7' },
          condition('True', 'Associate eip succeed', `EIP eip-auto1 (198.51.100.7) is bound to eni-1/${IP}`),
        ],
        RESYNC_BOUND_MS,
      ),
    );
    // Follow and Never never read it: no write every resync for them.
    const follow = decideBinding(
      observed({
        pod: pod({ eipCondition: TRUE }),
        podEip: podEip({ status: stale }),
        networkInterface: eni(),
        eip: inUse(),
      }),
    );
    expect(follow.kind === 'act' && follow.actions.map((a) => a.type)).toEqual(['annotate-pod', 'set-condition']);
  });
});

describe('terminating', () => {
  const deletion = '2025-06-01T11:59:50Z';
  table([
    ['no record: nothing', observed({ pod: pod({ deletionTimestamp: deletion }) }), act([])],
    [
      'podLastSeen stamped once, so TTL counts from now',
      observed({ pod: pod({ deletionTimestamp: deletion }), podEip: podEip({ status: boundStatus }) }),
      act([{ type: 'write-podeip-status', status: { ...boundStatus, podLastSeen: NOW_ISO } }]),
    ],
    [
      'never stamped: stamped now',
      observed({ pod: pod({ deletionTimestamp: deletion }), podEip: podEip({}) }),
      act([{ type: 'write-podeip-status', status: { podLastSeen: NOW_ISO } }]),
    ],
    [
      'already stamped: the binding stays until the pod is gone',
      observed({
        pod: pod({ deletionTimestamp: deletion }),
        podEip: podEip({ status: { ...boundStatus, podLastSeen: '2025-06-01T11:59:55Z' } }),
      }),
      act([]),
    ],
  ]);
});

describe('finished (Succeeded or Failed, not deleted yet)', () => {
  const finishedMark = { status: 'False' as const, reason: 'PodFinished', message: 'finished' };
  const done = (over: Partial<PodProjection> = {}): PodProjection =>
    pod({ phase: 'Succeeded', eipCondition: finishedMark, ...over });
  table([
    [
      'first pass: podLastSeen is stamped, so a TTL counts from the finish; then the condition marks it done',
      observed({ pod: pod({ phase: 'Failed', eipCondition: TRUE }), podEip: podEip({ status: boundStatus }) }),
      act(
        [
          { type: 'write-podeip-status', status: { ...boundStatus, podLastSeen: NOW_ISO } },
          condition(
            'False',
            'PodFinished',
            'the pod has finished (Failed), so its IP is no longer its own: its EIP binding is undone',
          ),
        ],
        0,
      ),
    ],
    [
      'first pass without a record: only the condition',
      observed({ pod: pod({ phase: 'Succeeded' }) }),
      act(
        [
          condition(
            'False',
            'PodFinished',
            'the pod has finished (Succeeded), so its IP is no longer its own: its EIP binding is undone',
          ),
        ],
        0,
      ),
    ],
    [
      'Follow: unbound from the IP the pod no longer holds',
      observed({ pod: done(), podEip: podEip({ status: boundStatus }), eip: inUse() }),
      act([unassociate('eni-1', IP)], WAIT_MS.transition),
    ],
    [
      'Follow, unbound: released',
      observed({ pod: done(), podEip: podEip({ status: boundStatus }), eip: eip() }),
      act([{ type: 'release-eip', allocationId: 'eip-auto1' }], WAIT_MS.transition),
    ],
    [
      'Never: needs the EIP',
      observed({ pod: done(), podEip: podEip({ strategy: 'Never', status: boundStatus }) }),
      { kind: 'observe', what: 'eip' },
    ],
    [
      'Never: unbound from the IP the CNI gave back, but kept',
      observed({ pod: done(), podEip: podEip({ strategy: 'Never', status: boundStatus }), eip: inUse() }),
      act([unassociate('eni-1', IP)], WAIT_MS.transition),
    ],
    [
      'Never, unbound: the record says so and the address goes',
      observed({
        pod: done({ eipAnnotations: { ...AUTO, [ADDRESS]: '198.51.100.7' } }),
        podEip: podEip({ strategy: 'Never', status: boundStatus }),
        eip: eip(),
      }),
      act(
        [
          {
            type: 'write-podeip-status',
            status: {
              eipAddress: '198.51.100.7',
              status: 'Available',
              isp: 'BGP',
              internetChargeType: 'PayByTraffic',
              resourceGroupID: 'rg-1',
              podLastSeen: boundStatus.podLastSeen!,
            },
          },
          { type: 'annotate-pod', address: null },
        ],
        0,
      ),
    ],
    [
      'Never, unbound and recorded so: kept as it is',
      observed({
        pod: done(),
        podEip: podEip({ strategy: 'Never', status: { eipAddress: '198.51.100.7', status: 'Available' } }),
        eip: eip(),
      }),
      act([]),
    ],
    [
      'Never, bound by someone else since: not touched, kept; the record no longer names the ENI and IP',
      observed({
        pod: done(),
        podEip: podEip({ strategy: 'Never', status: boundStatus }),
        eip: inUse({ instanceId: 'eni-9' }),
      }),
      act(
        [
          {
            type: 'write-podeip-status',
            status: {
              eipAddress: boundStatus.eipAddress,
              internetChargeType: boundStatus.internetChargeType,
              isp: boundStatus.isp,
              podLastSeen: boundStatus.podLastSeen,
              resourceGroupID: boundStatus.resourceGroupID,
              status: 'InUse',
            },
          },
        ],
        0,
      ),
    ],
    [
      'TTL, unbound: waits out the TTL from the finish',
      observed({
        pod: done(),
        podEip: podEip({
          strategy: 'TTL',
          releaseAfter: '1m0s',
          status: { eipAddress: '198.51.100.7', status: 'Available', podLastSeen: NOW_ISO },
        }),
        eip: eip(),
      }),
      act([], 60_000),
    ],
    [
      'TTL expired, unbound: released',
      observed({
        pod: done(),
        podEip: podEip({
          strategy: 'TTL',
          releaseAfter: '1m0s',
          status: { status: 'Available', podLastSeen: '2025-06-01T11:50:00.000Z' },
        }),
        eip: eip(),
      }),
      act([{ type: 'release-eip', allocationId: 'eip-auto1' }], WAIT_MS.transition),
    ],
    [
      'the record of a previous pod of the name (TTL): not adopted, left to run its course',
      observed({
        pod: done(),
        podEip: podEip({
          owner: OLD_UID,
          strategy: 'TTL',
          releaseAfter: '10m0s',
          status: { ...boundStatus, podLastSeen: NOW_ISO },
        }),
        eip: inUse(),
      }),
      // The previous pod gave its IP up: its binding is undone, the EIP kept for the TTL.
      act([unassociate('eni-1', IP, OLD_UID)], WAIT_MS.transition),
    ],
    [
      'record gone: the address annotation goes, and no new binding starts',
      observed({ pod: done({ eipAnnotations: { ...AUTO, [ADDRESS]: '198.51.100.7' } }) }),
      act([{ type: 'annotate-pod', address: null }]),
    ],
    ['record and annotation gone: nothing', observed({ pod: done() }), act([])],
    ['no IP any more makes no difference', observed({ pod: done({ podIP: undefined }) }), act([])],
  ]);
});

describe('the record of an earlier pod of the same name', () => {
  const previous = (shape: PodEipShape): PodEIP => podEip({ owner: OLD_UID, status: boundStatus, ...shape });
  table([
    [
      'TTL, same kind: adopted',
      observed({ pod: pod(), podEip: previous({ strategy: 'TTL', releaseAfter: '10m0s' }) }),
      act([{ type: 'adopt-podeip', podUid: UID }], 0),
    ],
    [
      'Never, same static EIP: adopted',
      observed({
        pod: pod({ eipAnnotations: { ...STATIC, 'k8s.aliyun.com/pod-eip-release-strategy': 'Never' } }),
        podEip: previous({ type: 'Static', strategy: 'Never', allocationID: 'eip-static1' }),
      }),
      act([{ type: 'adopt-podeip', podUid: UID }], 0),
    ],
    [
      'Follow: the previous binding is undone first',
      observed({ pod: pod(), podEip: previous({}), eip: inUse() }),
      act(
        [
          condition(
            'False',
            'WaitingForPreviousPod',
            'waiting for the EIP of the previous pod of this name to be released',
          ),
          unassociate('eni-1', IP, OLD_UID),
        ],
        WAIT_MS.transition,
      ),
    ],
    [
      'Follow: which needs the EIP first',
      observed({ pod: pod(), podEip: previous({}) }),
      { kind: 'observe', what: 'eip' },
    ],
    [
      'TTL, another static EIP asked for: the previous binding needs the EIP',
      observed({
        pod: pod({ eipAnnotations: STATIC }),
        podEip: previous({
          strategy: 'TTL',
          releaseAfter: '1h0m0s',
          status: { ...boundStatus, podLastSeen: '2025-06-01T11:55:00.000Z' },
        }),
      }),
      { kind: 'observe', what: 'eip' },
    ],
    [
      'TTL, another static EIP asked for, the previous binding undone: waits out the TTL',
      observed({
        pod: pod({ eipAnnotations: STATIC }),
        podEip: previous({
          strategy: 'TTL',
          releaseAfter: '1h0m0s',
          status: { eipAddress: '198.51.100.7', status: 'Available', podLastSeen: '2025-06-01T11:55:00.000Z' },
        }),
      }),
      act(
        [
          condition(
            'False',
            'WaitingForPreviousPod',
            'waiting for the EIP of the previous pod of this name to be released',
          ),
        ],
        WAIT_MS.ttlCheckCap,
      ),
    ],
  ]);
});

describe('undoing a binding', () => {
  const gone = (shape: PodEipShape, more: Partial<Observed> = {}): Observed =>
    observed({ podEip: podEip({ status: boundStatus, ...shape }), ...more });
  table([
    ['Never, pod gone: its binding needs the EIP', gone({ strategy: 'Never' }), { kind: 'observe', what: 'eip' }],
    [
      'Never, pod gone: unbound from the IP it gave up (the CNI may hand it on), the EIP kept',
      gone({ strategy: 'Never' }, { eip: inUse() }),
      act([unassociate('eni-1', IP)], WAIT_MS.transition),
    ],
    [
      'Never, pod gone and unbound: kept, with no cloud call',
      gone({ strategy: 'Never', status: { eipAddress: '198.51.100.7', status: 'Available' } }),
      act([]),
    ],
    [
      'TTL not expired: unbound first',
      gone(
        { strategy: 'TTL', releaseAfter: '1m0s', status: { ...boundStatus, podLastSeen: '2025-06-01T11:59:30.000Z' } },
        { eip: inUse() },
      ),
      act([unassociate('eni-1', IP)], WAIT_MS.transition),
    ],
    [
      'TTL not expired, unbound: looks again at expiry',
      gone({
        strategy: 'TTL',
        releaseAfter: '1m0s',
        status: { eipAddress: '198.51.100.7', status: 'Available', podLastSeen: '2025-06-01T11:59:30.000Z' },
      }),
      act([], 30_000),
    ],
    [
      'TTL expired: released',
      gone({ strategy: 'TTL', releaseAfter: '1m0s' }, { eip: inUse() }),
      act([unassociate('eni-1', IP)], WAIT_MS.transition),
    ],
    [
      'Never, but the PodEIP was deleted by hand: released',
      gone({ strategy: 'Never', deletionTimestamp: NOW_ISO }, { pod: pod(), eip: eip() }),
      act([{ type: 'release-eip', allocationId: 'eip-auto1' }], WAIT_MS.transition),
    ],
    [
      'Follow, PrePaid and unbound: never released (the API refuses), the record goes with an Event on it',
      gone({ strategy: 'Follow' }, { eip: eip({ instanceChargeType: 'PrePaid' }) }),
      act([
        {
          type: 'event',
          eventType: 'Warning',
          reason: 'PrepaidEipKept',
          message: expect.stringMatching(
            /^the EIP eip-auto1 \(.*\) is PrePaid: podeip cannot release it/,
          ) as unknown as string,
          onPodEip: true,
        },
        finish,
      ]),
    ],
    [
      'the pod no longer asks: undone even for Never',
      gone({ strategy: 'Never' }, { pod: pod({ eipAnnotations: {} }), eip: eip() }),
      act([{ type: 'release-eip', allocationId: 'eip-auto1' }], WAIT_MS.transition),
    ],
    ['static, never allocated anything: finished', gone({ type: 'Static', allocationID: '' }), act([finish])],
    [
      'auto, nothing recorded: looks for tagged EIPs',
      gone({ allocationID: '' }),
      { kind: 'observe', what: 'tagged-eips' },
    ],
    [
      'auto, a tagged EIP found: recorded, to be released',
      gone({ allocationID: '' }, { taggedEips: [eip({ allocationId: 'eip-found' })] }),
      act([{ type: 'record-allocation', allocationId: 'eip-found' }], 0),
    ],
    ['auto, none found: finished', gone({ allocationID: '' }, { taggedEips: [] }), act([finish], 0)],
    ['needs the EIP', gone({}), { kind: 'observe', what: 'eip' }],
    ['the EIP is gone: finished', gone({}, { eip: null }), act([finish])],
    [
      'bound by someone else since: left alone',
      gone({}, { eip: inUse({ instanceId: 'eni-9' }) }),
      act([
        warning('EipBoundElsewhere', 'the EIP eip-auto1 is bound to eni-9 by someone else; podeip leaves it as it is'),
        finish,
      ]),
    ],
    [
      'static, Available: finished, never released',
      gone({ type: 'Static', allocationID: 'eip-static1' }, { eip: eip({ allocationId: 'eip-static1' }) }),
      act([finish]),
    ],
    [
      'auto in a package: leaves it first',
      gone({}, { eip: eip({ bandwidthPackageId: 'cbwp-bp1pkg001' }) }),
      act(
        [
          {
            type: 'remove-from-bandwidth-package',
            allocationId: 'eip-auto1',
            bandwidthPackageId: 'cbwp-bp1pkg001',
            podUid: UID,
          },
        ],
        WAIT_MS.transition,
      ),
    ],
    [
      'auto, Available: released',
      gone({}, { eip: eip() }),
      act([{ type: 'release-eip', allocationId: 'eip-auto1' }], WAIT_MS.transition),
    ],
    ['Unassociating or Releasing: waits', gone({}, { eip: eip({ status: 'Releasing' }) }), act([], WAIT_MS.transition)],
    [
      "another controller's PodEIP (ACK's, Terway's), pod gone: nothing of it is touched",
      gone({ foreign: true }, { eip: inUse() }),
      act([]),
    ],
    [
      "another controller's PodEIP, pod live: left to that controller, with a Warning",
      observed({ pod: pod(), podEip: podEip({ foreign: true, status: boundStatus }) }),
      act([
        {
          type: 'event',
          eventType: 'Warning',
          reason: 'PodEipOwnedElsewhere',
          message:
            "the PodEIP ns/web was not written by podeip (ACK's or Terway's EIP controller keeps it): " +
            'podeip leaves this EIP to that controller',
        },
      ]),
    ],
    [
      'no owner recorded: the token falls back to nothing',
      gone({ owner: null }, { eip: inUse() }),
      act([unassociate('eni-1', IP, '')], WAIT_MS.transition),
    ],
  ]);
});

describe('the annotations changed on a live pod', () => {
  table([
    [
      'auto to static: the auto EIP is released first',
      observed({ pod: pod({ eipAnnotations: STATIC }), podEip: podEip({ status: boundStatus }), eip: inUse() }),
      act([unassociate('eni-1', IP)], WAIT_MS.transition),
    ],
    [
      'static to auto: the static EIP is only unbound',
      observed({
        pod: pod(),
        podEip: podEip({ type: 'Static', allocationID: 'eip-static1' }),
        eip: eip({ allocationId: 'eip-static1' }),
      }),
      act([finish]),
    ],
    [
      'another static EIP: the old one is let go',
      observed({
        pod: pod({ eipAnnotations: STATIC }),
        podEip: podEip({ type: 'Static', allocationID: 'eip-other' }),
        eip: null,
      }),
      act([finish]),
    ],
  ]);
});

describe('the release strategy changed on a live pod', () => {
  const withStrategy = (value: string): PodProjection =>
    pod({ eipAnnotations: { ...AUTO, 'k8s.aliyun.com/pod-eip-release-strategy': value } });
  table([
    [
      'Follow to Never: recorded at once',
      observed({ pod: withStrategy('Never'), podEip: podEip({ status: boundStatus }) }),
      act([{ type: 'record-release-strategy', allocationType: { type: 'Auto', releaseStrategy: 'Never' } }], 0),
    ],
    [
      'Never to Follow (annotation removed): recorded',
      observed({ pod: pod(), podEip: podEip({ strategy: 'Never', status: boundStatus }) }),
      act([{ type: 'record-release-strategy', allocationType: { type: 'Auto', releaseStrategy: 'Follow' } }], 0),
    ],
    [
      'a TTL of another length: recorded as Go spells it',
      observed({
        pod: withStrategy('90s'),
        podEip: podEip({ strategy: 'TTL', releaseAfter: '1m0s', status: boundStatus }),
      }),
      act(
        [
          {
            type: 'record-release-strategy',
            allocationType: { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '1m30s' },
          },
        ],
        0,
      ),
    ],
    [
      'the same TTL: nothing to record',
      observed({
        pod: withStrategy('60s'),
        podEip: podEip({ strategy: 'TTL', releaseAfter: '1m0s', status: boundStatus }),
      }),
      { kind: 'observe', what: 'network-interface' },
    ],
  ]);
});

describe('helpers', () => {
  it('ttlExpiry counts releaseAfter from podLastSeen, else from creation; undefined when unreadable', () => {
    expect(ttlExpiry(podEip({ strategy: 'TTL', releaseAfter: '10m0s', status: { podLastSeen: NOW_ISO } }))).toBe(
      NOW + 600_000,
    );
    expect(ttlExpiry(podEip({ strategy: 'TTL', releaseAfter: '1m0s' }))).toBe(Date.parse('2025-06-01T11:01:00Z'));
    expect(ttlExpiry(podEip({ strategy: 'TTL', releaseAfter: 'soon' }))).toBeUndefined();
  });

  it('statusPatchFor removes podeip’s fields left out, keeps ACK’s own, and is undefined when equal', () => {
    expect(
      statusPatchFor({ ...boundStatus, bandwidth: '5' }, { networkInterfaceID: 'eni-2', status: 'Available' }),
    ).toEqual({
      networkInterfaceID: 'eni-2',
      status: 'Available',
      eipAddress: null,
      privateIPAddress: null,
      isp: null,
      internetChargeType: null,
      resourceGroupID: null,
      podLastSeen: null,
    });
    expect(statusPatchFor(boundStatus, { ...boundStatus })).toBeUndefined();
    expect(statusPatchFor(undefined, { status: 'InUse' })).toEqual({ status: 'InUse' });
  });
});
