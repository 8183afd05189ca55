/**
 * The in-process controls: what Terway and the console would do to the account (ENIs, pod IPs, EIPs made
 * by hand, bandwidth packages, RAM users) and the knobs for faults, limits and delays. Misuse throws a
 * plain Error: these are test and demo programming mistakes, not API answers.
 */
import { grantOf, newAccessKeyId, newAccessKeySecret, type AccessKeyStore } from './access-keys.js';
import type { EipLifecycle } from './eip-lifecycle.js';
import type { FaultInjector } from './faults.js';
import type { ApiGateway } from './gateway.js';
import type { RateLimiter } from './rate-limits.js';
import type { TransitionClock, TransitionDelays } from './transitions.js';
import type { CloudSandboxControls, CommonBandwidthPackageRecord } from './types.js';
import type { CloudWorld, StoredEni } from './world.js';

export interface ControlDependencies {
  world: CloudWorld;
  lifecycle: EipLifecycle;
  faults: FaultInjector;
  limiter: RateLimiter;
  gateway: ApiGateway;
  clock: TransitionClock;
  delays: TransitionDelays;
  keys: AccessKeyStore;
}

export function createControls(deps: ControlDependencies): CloudSandboxControls {
  const { world, lifecycle, keys } = deps;

  const eni = (networkInterfaceId: string): StoredEni => {
    const found = world.enis.get(networkInterfaceId);
    if (!found) throw new Error(`no ENI ${networkInterfaceId} in the sandbox`);
    return found;
  };

  /** The EIPs that lose their binding when these IPs of the ENI go away. */
  const unbindEipsOn = (target: StoredEni, ips: string[]): void => {
    for (const eip of world.eips.values()) {
      const onEni = eip.instanceId === target.networkInterfaceId;
      const onInstance =
        target.type === 'Primary' && eip.instanceType === 'EcsInstance' && eip.instanceId === target.instanceId;
      if ((onEni || onInstance) && ips.includes(eip.privateIpAddress)) lifecycle.unbindNow(eip);
    }
  };

  const packageSnapshot = (item: CommonBandwidthPackageRecord): CommonBandwidthPackageRecord => structuredClone(item);

  return {
    regionId: world.regionId,
    vpcId: world.vpcId,

    createNetworkInterface(input) {
      if (input.type === 'Primary' && input.instanceId === '')
        throw new Error('a Primary ENI belongs to an instance: give its instanceId');
      if (input.type === 'Primary' && world.primaryEniOfInstance(input.instanceId))
        throw new Error(`instance ${input.instanceId} has a primary ENI already`);
      const vSwitch = world.vSwitch(input.vSwitchId);
      const siblings = [...world.enis.values()].filter(
        (other) => other.instanceId !== '' && other.instanceId === input.instanceId,
      );
      const primaryIpAddress = world.takePrivateAddress(vSwitch.id);
      const created: StoredEni = {
        networkInterfaceId: world.newId('eni'),
        type: input.type,
        status: input.instanceId === '' ? 'Available' : 'InUse',
        vpcId: world.vpcId,
        vSwitchId: vSwitch.id,
        zoneId: vSwitch.zoneId,
        instanceId: input.instanceId,
        macAddress: world.macAddress(),
        primaryIpAddress,
        privateIpAddresses: [primaryIpAddress],
        creationTime: world.isoNow(),
        securityGroupId: world.securityGroupId,
        deviceIndex: input.type === 'Primary' ? 0 : Math.max(0, ...siblings.map((other) => other.deviceIndex)) + 1,
      };
      world.enis.set(created.networkInterfaceId, created);
      return world.eniRecord(created);
    },

    deleteNetworkInterface(networkInterfaceId) {
      const target = eni(networkInterfaceId);
      unbindEipsOn(target, target.privateIpAddresses);
      for (const ip of target.privateIpAddresses) world.releasePrivateAddress(target.vSwitchId, ip);
      world.enis.delete(networkInterfaceId);
    },

    assignPrivateIpAddress(networkInterfaceId) {
      const target = eni(networkInterfaceId);
      const ip = world.takePrivateAddress(target.vSwitchId);
      target.privateIpAddresses.push(ip);
      return ip;
    },

    unassignPrivateIpAddress(networkInterfaceId, ip) {
      const target = eni(networkInterfaceId);
      if (!target.privateIpAddresses.includes(ip)) throw new Error(`${ip} is not an IP of ${networkInterfaceId}`);
      if (ip === target.primaryIpAddress)
        throw new Error(`${ip} is the primary IP of ${networkInterfaceId}; delete the ENI instead`);
      unbindEipsOn(target, [ip]);
      target.privateIpAddresses = target.privateIpAddresses.filter((other) => other !== ip);
      world.releasePrivateAddress(target.vSwitchId, ip);
    },

    unbindEip(allocationId) {
      const eip = world.eips.get(allocationId);
      if (eip === undefined) throw new Error(`no EIP ${allocationId} in the sandbox`);
      lifecycle.unbindNow(eip);
    },

    createEip(input = {}) {
      if (
        input.allocationId !== undefined &&
        (!/^eip-[a-z0-9]+$/.test(input.allocationId) || world.eips.has(input.allocationId))
      ) {
        throw new Error(`createEip: ${input.allocationId} is not a free eip-… id`);
      }
      return world.eipRecord(world.addEip(input));
    },

    eips: () => [...world.eips.values()].sort((a, b) => a.sequence - b.sequence).map((eip) => world.eipRecord(eip)),
    networkInterfaces: () => [...world.enis.values()].map((item) => world.eniRecord(item)),

    createCommonBandwidthPackage(input = {}) {
      const bandwidthPackageId = input.bandwidthPackageId ?? world.newId('cbwp');
      if (!/^cbwp-[a-z0-9]+$/.test(bandwidthPackageId) || world.packages.has(bandwidthPackageId)) {
        throw new Error(`createCommonBandwidthPackage: ${bandwidthPackageId} is not a free cbwp-… id`);
      }
      const created: CommonBandwidthPackageRecord = {
        bandwidthPackageId,
        name: input.name ?? '',
        bandwidth: input.bandwidth ?? '200',
        isp: input.isp ?? 'BGP',
        internetChargeType: 'PayByBandwidth',
        resourceGroupId: world.defaultResourceGroupId,
        creationTime: world.isoNow(),
        ips: [],
      };
      world.packages.set(bandwidthPackageId, created);
      return packageSnapshot(created);
    },
    commonBandwidthPackages: () => [...world.packages.values()].map(packageSnapshot),

    callCounts: () => deps.gateway.callCounts(),
    resetCallCounts: () => deps.gateway.resetCallCounts(),

    setFaults(faults) {
      deps.faults.set(faults);
      if (!deps.faults.stickTransitions) deps.clock.resumeHeld();
    },

    setRateLimits(limits) {
      deps.limiter.configure({
        ...(limits.scale !== undefined ? { scale: limits.scale } : {}),
        ...(limits.windowMs !== undefined ? { windowMs: limits.windowMs } : {}),
        ...(limits.perMinute !== undefined ? { perWindow: limits.perMinute } : {}),
      });
    },

    setTransitionDelays(delays) {
      for (const [name, value] of Object.entries(delays)) {
        if (value !== undefined && !(Number.isFinite(value) && value >= 0))
          throw new Error(`setTransitionDelays: ${name} must be >= 0, got ${value}`);
      }
      Object.assign(deps.delays, Object.fromEntries(Object.entries(delays).filter(([, value]) => value !== undefined)));
    },

    setEipQuota(quota) {
      if (!(Number.isInteger(quota) && quota >= 0))
        throw new Error(`setEipQuota: quota must be a whole number >= 0, got ${quota}`);
      world.eipQuota = quota;
    },

    addAccessKey(input = {}) {
      const denied = input.deniedActions ?? [];
      if (input.sts) return grantOf(keys.issueSts(input.ttlSeconds ?? 3600, denied));
      return grantOf(
        keys.addStatic(
          newKeyId(keys),
          newAccessKeySecret(),
          denied,
          `podeip-sandbox-user-${denied.length > 0 ? 'restricted' : 'full'}`,
        ),
      );
    },
  };
}

function newKeyId(keys: AccessKeyStore): string {
  let id = newAccessKeyId();
  while (keys.get(id)) id = newAccessKeyId();
  return id;
}
