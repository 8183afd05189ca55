/**
 * decideBound's checks one by one, each with its own table: a binding in, the decision it stops at (or
 * undefined, to let the next check decide), or the ENI or EIP it hands on. Rows are written one field a
 * line, so a diff shows the row that changed.
 */
import { describe, expect, it } from '@jest/globals';
import type { AutoEipRequest, StaticEipRequest } from '../../../api/eip-request.js';
import type { EipState, NetworkInterfaceMatch } from '../../../binder/cloud/eip-cloud.js';
import {
  allocationNeeded,
  alreadyBound,
  anotherEipAsked,
  bandwidthPackageToJoin,
  nextBindingStep,
  recordedEip,
  releaseStrategyChanged,
  usableNetworkInterface,
  type Binding,
  type LocatedBinding,
} from '../../../binder/controller/decide-bound.js';
import {
  RESYNC_BOUND_MS,
  WAIT_MS,
  type Action,
  type Decision,
  type Observed,
} from '../../../binder/controller/decision.js';
import {
  AUTO_REQUEST,
  IP,
  NOW_ISO,
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
} from './decide-fixtures.js';

const AUTO = AUTO_REQUEST;
const IN_PACKAGE: AutoEipRequest = { ...AUTO, commonBandwidthPackageId: 'cbwp-1' };
const HANDED_OVER = {
  status: 'False' as const,
  reason: 'EipHandedOver',
  message: 'the EIP eip-auto1 went to ns/gw-new, a newer pod of Deployment/gw',
};
const TAKING_OVER = 'taking the EIP eip-auto1 over from ns/gw-old, an older pod of Deployment/gw';
const STATIC: StaticEipRequest = { mode: 'static', allocationId: 'eip-static1', releaseStrategy: { type: 'Follow' } };

/** An auto binding of the fixture pod, with what a row changes. */
function binding(over: Partial<Binding> & { seen?: Partial<Observed> } = {}): Binding {
  const { seen, ...rest } = over;
  const base = { pod: pod(), podEip: podEip(), request: AUTO, ...rest };
  return { ...base, observed: observed({ pod: base.pod, podEip: base.podEip, ...seen }) };
}
function located(over: Partial<LocatedBinding> & { seen?: Partial<Observed> } = {}): LocatedBinding {
  const { seen: _seen, ...rest } = over; // binding() reads `seen`; it is not a field of the binding
  return { ...binding(over), eni: eni(), eip: inUse(), ...rest };
}

/** Handed over (again), and looked at again: a rollback may make it the newer. */
const stillHandedOver = (message: string): Decision => ({
  kind: 'act',
  actions: [{ type: 'set-condition', condition: { status: 'False', reason: 'EipHandedOver', message } }],
  requeueAfterMs: WAIT_MS.heldByAnotherPod,
});

/** A static pod of Deployment/gw that handed its EIP over, the EIP now free, with what was seen besides. */
const handedOver = (seen: Partial<Observed>): LocatedBinding =>
  located({
    request: STATIC,
    pod: pod({ workload: 'Deployment/gw', eipCondition: HANDED_OVER }),
    eip: eip(),
    podEip: podEip({ status: { networkInterfaceID: 'eni-1', privateIPAddress: IP, status: 'Available' } }),
    seen,
  });

/** A static pod of Deployment/gw whose EIP is bound to another pod of it, `holder`. */
const contending = (of: {
  created: string;
  revision: number;
  holder: { name: string; createdAt: string; revision: number };
}): LocatedBinding =>
  located({
    request: STATIC,
    pod: pod({ workload: 'Deployment/gw', createdAt: of.created }),
    eip: inUse({ instanceId: 'eni-9', privateIpAddress: '192.168.0.50' }),
    seen: { ipHolder: { namespace: 'ns', workload: 'Deployment/gw', ...of.holder }, podRevision: of.revision },
  });

interface Row<In, Out> {
  name: string;
  given: In;
  want: Out;
}
function table<In, Out>(check: (given: In) => Out, rows: Row<In, Out>[]): void {
  it.each(rows)('$name', ({ given, want }) => {
    expect(check(given)).toEqual(want);
  });
}

describe('anotherEipAsked', () => {
  table<Binding, Decision | undefined>(anotherEipAsked, [
    {
      name: 'the same auto request: the next check decides',
      given: binding(),
      want: undefined,
    },
    {
      name: 'static asked, auto recorded: the auto EIP is undone first',
      given: binding({ request: STATIC, seen: { eip: eip() } }),
      want: { kind: 'act', actions: [{ type: 'release-eip', allocationId: 'eip-auto1' }], requeueAfterMs: 2000 },
    },
    {
      name: 'another static EIP asked: the recorded one needs looking at',
      given: binding({ request: STATIC, podEip: podEip({ type: 'Static', allocationID: 'eip-other' }) }),
      want: { kind: 'observe', what: 'eip' },
    },
    {
      name: 'the same static EIP: the next check decides',
      given: binding({ request: STATIC, podEip: podEip({ type: 'Static', allocationID: 'eip-static1' }) }),
      want: undefined,
    },
  ]);
});

describe('releaseStrategyChanged', () => {
  table<Binding, Decision | undefined>(releaseStrategyChanged, [
    {
      name: 'the same strategy: the next check decides',
      given: binding(),
      want: undefined,
    },
    {
      name: 'Never asked, Follow recorded: recorded at once',
      given: binding({ request: { ...AUTO, releaseStrategy: { type: 'Never' } } }),
      want: {
        kind: 'act',
        actions: [{ type: 'record-release-strategy', allocationType: { type: 'Auto', releaseStrategy: 'Never' } }],
        requeueAfterMs: 0,
      },
    },
    {
      name: 'a TTL of another length: recorded as Go spells it',
      given: binding({
        request: { ...AUTO, releaseStrategy: { type: 'TTL', after: '90s', seconds: 90 } },
        podEip: podEip({ strategy: 'TTL', releaseAfter: '1m0s' }),
      }),
      want: {
        kind: 'act',
        actions: [
          {
            type: 'record-release-strategy',
            allocationType: { type: 'Auto', releaseStrategy: 'TTL', releaseAfter: '1m30s' },
          },
        ],
        requeueAfterMs: 0,
      },
    },
  ]);
});

describe('usableNetworkInterface', () => {
  table<Binding, Decision | NetworkInterfaceMatch>(usableNetworkInterface, [
    {
      name: 'not looked up yet: looks it up',
      given: binding(),
      want: { kind: 'observe', what: 'network-interface' },
    },
    {
      name: 'a pod ENI: handed on',
      given: binding({ seen: { networkInterface: eni() } }),
      want: eni(),
    },
    {
      name: 'no ENI holds the IP: NoNetworkInterface',
      given: binding({ seen: { networkInterface: null } }),
      want: failure(
        'NoNetworkInterface',
        `no ENI in the VPC holds the pod IP ${IP}: an EIP needs pods on ENI IPs (Terway); overlay networks cannot have one`,
        WAIT_MS.misconfigured,
      ),
    },
    {
      name: "the node's primary NIC: NodePrimaryNetworkInterface",
      given: binding({ seen: { networkInterface: eni({ type: 'Primary', networkInterfaceId: 'eni-node' }) } }),
      want: failure(
        'NodePrimaryNetworkInterface',
        `the pod IP ${IP} is on the node's primary network interface eni-node; podeip binds EIPs to pod ENIs only`,
        WAIT_MS.misconfigured,
      ),
    },
  ]);
});

describe('allocationNeeded', () => {
  const unallocated = podEip({ allocationID: '', attempt: '2' });
  table<Binding, Decision | undefined>(allocationNeeded, [
    {
      name: 'an EIP recorded: the next check decides',
      given: binding(),
      want: undefined,
    },
    {
      name: 'static: never allocated',
      given: binding({ request: STATIC, podEip: podEip({ type: 'Static', allocationID: '' }) }),
      want: undefined,
    },
    {
      name: 'nothing recorded: looks for EIPs tagged for the pod first',
      given: binding({ podEip: unallocated }),
      want: { kind: 'observe', what: 'tagged-eips' },
    },
    {
      name: 'one tagged from before a crash: recorded',
      given: binding({ podEip: unallocated, seen: { taggedEips: [eip({ allocationId: 'eip-found' })] } }),
      want: { kind: 'act', actions: [{ type: 'record-allocation', allocationId: 'eip-found' }], requeueAfterMs: 0 },
    },
    {
      name: 'none: allocates with the recorded attempt, and says so',
      given: binding({ podEip: unallocated, seen: { taggedEips: [] } }),
      want: {
        kind: 'act',
        actions: [
          {
            type: 'set-condition',
            condition: { status: 'False', reason: 'AllocatingEip', message: 'allocating an EIP' },
          },
          { type: 'allocate-eip', request: AUTO, podUid: UID, attempt: 2 },
        ],
        requeueAfterMs: 0,
      },
    },
  ]);
});

describe('recordedEip', () => {
  table<Binding, Decision | EipState>(recordedEip, [
    {
      name: 'not looked up yet: looks it up',
      given: binding(),
      want: { kind: 'observe', what: 'eip' },
    },
    {
      name: 'it exists: handed on',
      given: binding({ seen: { eip: eip() } }),
      want: eip(),
    },
    {
      name: 'a static EIP that does not exist: EipNotFound',
      given: binding({
        request: STATIC,
        podEip: podEip({ type: 'Static', allocationID: 'eip-static1' }),
        seen: { eip: null },
      }),
      want: failure('EipNotFound', 'the EIP eip-static1 does not exist in this region', WAIT_MS.misconfigured),
    },
    {
      name: 'our auto EIP vanished: forgotten, with the next attempt, and a Warning',
      given: binding({ podEip: podEip({ attempt: '1' }), seen: { eip: null } }),
      want: {
        kind: 'act',
        actions: [
          { type: 'record-allocation', allocationId: '', attempt: 2 },
          {
            type: 'event',
            eventType: 'Warning',
            reason: 'EipNotFound',
            message: 'the EIP eip-auto1 allocated for this pod no longer exists; allocating another',
          },
        ],
        requeueAfterMs: 0,
      },
    },
  ]);
});

describe('bandwidthPackageToJoin', () => {
  const join: Decision = {
    kind: 'act',
    actions: [
      { type: 'add-to-bandwidth-package', allocationId: 'eip-auto1', bandwidthPackageId: 'cbwp-1', podUid: UID },
    ],
    requeueAfterMs: WAIT_MS.transition,
  };
  table<LocatedBinding, Decision | undefined>(bandwidthPackageToJoin, [
    {
      name: 'no package asked: the next check decides',
      given: located(),
      want: undefined,
    },
    {
      name: 'bound here, outside the package: joins it',
      given: located({ request: IN_PACKAGE }),
      want: join,
    },
    {
      name: 'free, outside the package: joins it before the association',
      given: located({ request: IN_PACKAGE, eip: eip() }),
      want: join,
    },
    {
      name: 'already in it: the next check decides',
      given: located({ request: IN_PACKAGE, eip: eip({ bandwidthPackageId: 'cbwp-1' }) }),
      want: undefined,
    },
    {
      name: 'bound elsewhere: not touched',
      given: located({ request: IN_PACKAGE, eip: inUse({ instanceId: 'eni-9' }) }),
      want: undefined,
    },
  ]);
});

describe('alreadyBound', () => {
  const message = `EIP eip-auto1 (198.51.100.7) is bound to eni-1/${IP}`;
  table<LocatedBinding, Decision | undefined>(alreadyBound, [
    {
      name: 'not bound here: the next check decides',
      given: located({ eip: eip() }),
      want: undefined,
    },
    {
      name: 'bound, the rest not written yet: status, address, condition and one Event',
      given: located({ podEip: podEip({ status: { ...boundStatus, podLastSeen: NOW_ISO } }) }),
      want: {
        kind: 'act',
        actions: [
          { type: 'annotate-pod', address: '198.51.100.7' },
          { type: 'set-condition', condition: { status: 'True', reason: 'Associate eip succeed', message } },
          { type: 'event', eventType: 'Normal', reason: 'EipBound', message },
        ],
        requeueAfterMs: RESYNC_BOUND_MS,
      },
    },
    {
      name: 'bound and said so: no Event again',
      given: located({
        pod: pod({ eipCondition: TRUE }),
        podEip: podEip({ status: { ...boundStatus, podLastSeen: NOW_ISO } }),
      }),
      want: {
        kind: 'act',
        actions: [
          { type: 'annotate-pod', address: '198.51.100.7' },
          { type: 'set-condition', condition: { status: 'True', reason: 'Associate eip succeed', message } },
        ],
        requeueAfterMs: RESYNC_BOUND_MS,
      },
    },
  ]);
});

describe('nextBindingStep', () => {
  const associating = (message: string): Action => ({
    type: 'set-condition',
    condition: { status: 'False', reason: 'AssociatingEip', message },
  });
  /** Binding the free EIP to the pod's recorded target. */
  const associates: Decision = {
    kind: 'act',
    actions: [
      associating(`associating the EIP eip-auto1 (198.51.100.7) with eni-1/${IP}`),
      { type: 'associate-eip', allocationId: 'eip-auto1', networkInterface: eni(), podUid: UID },
    ],
    requeueAfterMs: WAIT_MS.associating,
  };
  table<LocatedBinding, Decision>(nextBindingStep, [
    {
      name: 'free, target recorded: associates',
      given: located({
        eip: eip(),
        podEip: podEip({ status: { networkInterfaceID: 'eni-1', privateIPAddress: IP, status: 'Available' } }),
      }),
      want: associates,
    },
    {
      name: 'bound where this record bound it before: moved',
      given: located({
        podEip: podEip({ status: recordedOld }),
        eip: inUse({ instanceId: 'eni-old', privateIpAddress: '192.168.0.99' }),
      }),
      want: {
        kind: 'act',
        actions: [
          associating(`moving the EIP eip-auto1 from eni-old/192.168.0.99 to eni-1/${IP}`),
          {
            type: 'unassociate-eip',
            allocationId: 'eip-auto1',
            networkInterfaceId: 'eni-old',
            privateIp: '192.168.0.99',
            podUid: UID,
          },
        ],
        requeueAfterMs: WAIT_MS.transition,
      },
    },
    {
      name: 'bound to something podeip did not bind: EipBoundElsewhere',
      given: located({ eip: inUse({ instanceId: 'i-other', instanceType: 'EcsInstance', privateIpAddress: '' }) }),
      want: failure(
        'EipBoundElsewhere',
        'the EIP eip-auto1 is bound to EcsInstance i-other, not to this pod; unbind it there and podeip will bind it here',
        WAIT_MS.misconfigured,
      ),
    },
    {
      name: 'free, after this pod handed it over, not looked for a newer pod yet: looks',
      given: handedOver({}),
      want: { kind: 'observe', what: 'successor' },
    },
    {
      name: 'free, after this pod handed it over, the newer pod still wants it: stays handed over',
      given: handedOver({ successor: { namespace: 'ns', name: 'gw-new' } }),
      want: stillHandedOver('the EIP eip-auto1 goes to ns/gw-new, a newer pod of Deployment/gw'),
    },
    {
      name: 'free, after this pod handed it over, no newer pod wants it any more: takes it again',
      given: handedOver({ successor: null }),
      want: associates,
    },
    {
      name: 'bound to an older revision of its Deployment, created later: takes it over',
      given: contending({
        created: '2026-12-04T03:00:00Z',
        revision: 2,
        holder: { name: 'gw-old', createdAt: '2026-12-04T03:00:05Z', revision: 1 },
      }),
      want: {
        kind: 'act',
        actions: [
          {
            type: 'set-condition',
            condition: { status: 'False', reason: 'TakingOverEip', message: TAKING_OVER },
          },
          { type: 'event', eventType: 'Normal', reason: 'TakingOverEip', message: TAKING_OVER },
          {
            type: 'unassociate-eip',
            allocationId: 'eip-auto1',
            networkInterfaceId: 'eni-9',
            privateIp: '192.168.0.50',
            podUid: UID,
          },
        ],
        requeueAfterMs: WAIT_MS.handover,
      },
    },
    {
      name: 'bound to a newer revision of its Deployment, created earlier: handed over, looked at again',
      given: contending({
        created: '2026-12-04T03:00:05Z',
        revision: 2,
        holder: { name: 'gw-new', createdAt: '2026-12-04T03:00:00Z', revision: 3 },
      }),
      want: stillHandedOver('the EIP eip-auto1 went to ns/gw-new, a newer pod of Deployment/gw'),
    },
    {
      name: 'the cloud is busy with it: waits',
      given: located({ eip: eip({ status: 'Unassociating' }) }),
      want: {
        kind: 'act',
        actions: [associating('waiting for the EIP eip-auto1: it is Unassociating')],
        requeueAfterMs: WAIT_MS.transition,
      },
    },
  ]);
});

function failure(reason: string, message: string, requeueAfterMs: number): Decision {
  return {
    kind: 'act',
    actions: [
      { type: 'set-condition', condition: { status: 'False', reason, message } },
      { type: 'event', eventType: 'Warning', reason, message },
    ],
    requeueAfterMs,
  };
}
