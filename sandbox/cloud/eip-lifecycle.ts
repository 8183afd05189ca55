/**
 * The EIP state machine (docs/alibaba-cloud-api.md#the-eip-state-machine):
 *
 *   Available ─Associate→ Associating ─(delay)→ InUse ─Unassociate→ Unassociating ─(delay)→ Available
 *   Available ─Release→ Releasing ─(delay)→ gone
 *
 * and the bandwidth-package membership (BINDING → BINDED, UNBINDING → gone). Preconditions are the
 * action handlers' job; this file only moves states and keeps the timers.
 */
import type { FaultInjector } from './faults.js';
import type { TransitionClock, TransitionDelays } from './transitions.js';
import type { CloudWorld, StoredEip, StoredPackage } from './world.js';

export interface EipBinding {
  instanceId: string;
  instanceType: string;
  privateIpAddress: string;
  mode: string;
}

export class EipLifecycle {
  constructor(
    private readonly world: CloudWorld,
    private readonly clock: TransitionClock,
    private readonly delays: () => TransitionDelays,
    private readonly faults: FaultInjector,
  ) {}

  associate(eip: StoredEip, binding: EipBinding): void {
    // The binding is visible (and reserves the private IP) from the start, as DescribeEipAddresses shows it.
    Object.assign(eip, binding, { status: 'Associating' });
    this.clock.schedule(
      eipKey(eip.allocationId),
      this.delays().associateMs,
      () => {
        const current = this.world.eips.get(eip.allocationId);
        if (current?.status !== 'Associating') return;
        if (this.faults.drawFailedTransition()) {
          clearBinding(current);
          current.status = 'Available';
        } else {
          current.status = 'InUse';
        }
      },
      { holdable: true },
    );
  }

  unassociate(eip: StoredEip): void {
    eip.status = 'Unassociating';
    this.clock.schedule(
      eipKey(eip.allocationId),
      this.delays().unassociateMs,
      () => {
        const current = this.world.eips.get(eip.allocationId);
        if (current?.status !== 'Unassociating') return;
        if (this.faults.drawFailedTransition()) {
          current.status = 'InUse';
        } else {
          clearBinding(current);
          current.status = 'Available';
        }
      },
      { holdable: true },
    );
  }

  release(eip: StoredEip): void {
    eip.status = 'Releasing';
    this.clock.schedule(
      eipKey(eip.allocationId),
      this.delays().releaseMs,
      () => {
        if (this.world.eips.get(eip.allocationId)?.status === 'Releasing') this.world.eips.delete(eip.allocationId);
      },
      { holdable: false },
    );
  }

  /** The private IP or ENI under the EIP went away: the cloud drops the binding at once. */
  unbindNow(eip: StoredEip): void {
    this.clock.cancel(eipKey(eip.allocationId));
    clearBinding(eip);
    eip.status = 'Available';
  }

  addToPackage(bandwidthPackage: StoredPackage, eip: StoredEip): void {
    const member = { allocationId: eip.allocationId, ipAddress: eip.ipAddress, status: 'BINDING' as const };
    bandwidthPackage.ips.push(member);
    eip.bandwidthPackageId = bandwidthPackage.bandwidthPackageId;
    this.clock.schedule(
      packageKey(bandwidthPackage.bandwidthPackageId, eip.allocationId),
      this.delays().bandwidthPackageMs,
      () => {
        const current = bandwidthPackage.ips.find((ip) => ip.allocationId === eip.allocationId);
        if (current?.status === 'BINDING') current.status = 'BINDED';
      },
      { holdable: true },
    );
  }

  removeFromPackage(bandwidthPackage: StoredPackage, eip: StoredEip): void {
    const member = bandwidthPackage.ips.find((ip) => ip.allocationId === eip.allocationId);
    if (!member) return;
    member.status = 'UNBINDING';
    this.clock.schedule(
      packageKey(bandwidthPackage.bandwidthPackageId, eip.allocationId),
      this.delays().bandwidthPackageMs,
      () => {
        bandwidthPackage.ips = bandwidthPackage.ips.filter((ip) => ip.allocationId !== eip.allocationId);
        const current = this.world.eips.get(eip.allocationId);
        if (current?.bandwidthPackageId === bandwidthPackage.bandwidthPackageId) current.bandwidthPackageId = '';
      },
      { holdable: true },
    );
  }
}

function clearBinding(eip: StoredEip): void {
  eip.instanceId = '';
  eip.instanceType = '';
  eip.privateIpAddress = '';
}

function eipKey(allocationId: string): string {
  return `eip/${allocationId}`;
}

function packageKey(bandwidthPackageId: string, allocationId: string): string {
  return `cbwp/${bandwidthPackageId}/${allocationId}`;
}
