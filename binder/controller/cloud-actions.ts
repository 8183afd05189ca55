/**
 * The cloud writes decideBinding asks for: allocate, associate, unassociate, the bandwidth package, release.
 * Each checks first that this binder may still act, carries a ClientToken derived from the pod (so a retry
 * or a restarted binder cannot act twice) and is one log line.
 */
import { clientTokenFor, ownershipTagsFor, type TokenOperation } from '../cloud/client-tokens.js';
import type { EipCloud, EipState } from '../cloud/eip-cloud.js';
import type { Pass } from './binding-actions.js';
import type { Action } from './decision.js';
import type { KeyMemory } from './key-memory.js';

export interface CloudActionHooks {
  /** Throws when this binder may no longer act. */
  checkActing(pass: Pass): void;
  log(pass: Pass, fields: Record<string, unknown>, message: string): void;
}

export class CloudActions {
  constructor(
    private readonly deps: { clusterId: string; cloud: EipCloud; memory: KeyMemory },
    private readonly hooks: CloudActionHooks,
  ) {}

  /** Allocates the EIP and returns its id; the caller records it at once. */
  async allocate(pass: Pass, action: Extract<Action, { type: 'allocate-eip' }>): Promise<string> {
    const ownershipTags = ownershipTagsFor({
      clusterId: this.deps.clusterId,
      namespace: pass.namespace,
      podName: pass.name,
      podUid: action.podUid,
    });
    const clientToken = clientTokenFor({ operation: 'allocate', podUid: action.podUid, generation: action.attempt });
    this.hooks.checkActing(pass);
    // From here an EIP may carry the pod's tags (even if the call fails after taking effect).
    this.deps.memory.allocating(pass.key);
    const allocated = await this.deps.cloud.allocateEip(action.request, { clientToken, ownershipTags });
    this.hooks.log(
      pass,
      { allocationId: allocated.allocationId, eipAddress: allocated.ipAddress, attempt: action.attempt },
      'allocated EIP',
    );
    const justAllocated = newlyAllocatedEip(allocated.allocationId, allocated.ipAddress, ownershipTags);
    this.deps.memory.rememberJustAllocated(pass.key, justAllocated);
    return allocated.allocationId;
  }

  async release(pass: Pass, allocationId: string): Promise<void> {
    this.hooks.checkActing(pass);
    const outcome = await this.deps.cloud.releaseEip(allocationId);
    this.hooks.log(
      pass,
      { allocationId, outcome },
      outcome === 'released' ? 'asked to release EIP' : 'EIP to release was already gone',
    );
  }

  associate(pass: Pass, action: Extract<Action, { type: 'associate-eip' }>): Promise<void> {
    const { allocationId, networkInterface: eni } = action;
    const target = { networkInterfaceId: eni.networkInterfaceId, privateIp: eni.privateIp };
    // The pod IP goes with every association, an ENI's primary IP included (the API wants it for NetworkInterface).
    return this.cloudWrite(
      pass,
      'associate',
      action.podUid,
      allocationId,
      target,
      (clientToken) => this.deps.cloud.associateEip({ allocationId, ...target, clientToken }),
      'asked to associate EIP',
    );
  }

  unassociate(pass: Pass, action: Extract<Action, { type: 'unassociate-eip' }>): Promise<void> {
    const { allocationId, networkInterfaceId, privateIp } = action;
    const target = { networkInterfaceId, privateIp };
    return this.cloudWrite(
      pass,
      'unassociate',
      action.podUid,
      allocationId,
      target,
      (clientToken) =>
        this.deps.cloud.unassociateEip({
          allocationId,
          networkInterfaceId,
          ...(privateIp === '' ? {} : { privateIp }),
          clientToken,
        }),
      'asked to unassociate EIP',
    );
  }

  addToPackage(pass: Pass, action: Extract<Action, { type: 'add-to-bandwidth-package' }>): Promise<void> {
    const { allocationId, bandwidthPackageId } = action;
    return this.cloudWrite(
      pass,
      'add-to-package',
      action.podUid,
      allocationId,
      { bandwidthPackageId },
      (clientToken) => this.deps.cloud.addToBandwidthPackage({ allocationId, bandwidthPackageId, clientToken }),
      'asked to add EIP to bandwidth package',
    );
  }

  removeFromPackage(pass: Pass, action: Extract<Action, { type: 'remove-from-bandwidth-package' }>): Promise<void> {
    const { allocationId, bandwidthPackageId } = action;
    return this.cloudWrite(
      pass,
      'remove-from-package',
      action.podUid,
      allocationId,
      { bandwidthPackageId },
      async (clientToken) => {
        await this.deps.cloud.removeFromBandwidthPackage({ allocationId, bandwidthPackageId, clientToken });
      },
      'asked to remove EIP from bandwidth package',
    );
  }

  /** `target` names what the call binds to; it is part of the ClientToken and of the log line. */
  private async cloudWrite(
    pass: Pass,
    operation: TokenOperation,
    podUid: string,
    allocationId: string,
    target: Record<string, string>,
    send: (clientToken: string) => Promise<void>,
    what: string,
  ): Promise<void> {
    const clientToken = this.nextToken(pass, operation, podUid, allocationId, Object.values(target));
    this.hooks.checkActing(pass);
    await send(clientToken);
    this.hooks.log(pass, { allocationId, ...target }, what);
  }

  /**
   * A fresh token per attempt: the same token twice would make the cloud replay the first answer without
   * acting, and a binding that failed (the EIP back to Available) must really be tried again. Retries of one
   * call inside the adapter keep their token. A restarted binder starts over at 0, which at worst costs one
   * replayed pass.
   */
  private nextToken(
    pass: Pass,
    operation: TokenOperation,
    podUid: string,
    allocationId: string,
    target: string[],
  ): string {
    const uid = podUid || pass.podEip?.metadata.uid || pass.pod?.uid || pass.key;
    const writeId = `${operation}\n${allocationId}\n${target.join('\n')}`;
    const generation = this.deps.memory.nextTokenGeneration(pass.key, writeId);
    return clientTokenFor({ operation, podUid: uid, allocationId, target, generation });
  }
}

/**
 * What AllocateEipAddress's answer says of the new EIP: Available and bound to nothing; the rest is looked up when
 * bound.
 */
/** What an Allocate just answered, as a describe would (its tags are the ones it was allocated with). */
function newlyAllocatedEip(allocationId: string, ipAddress: string, tags: Record<string, string>): EipState {
  return {
    allocationId,
    ipAddress,
    status: 'Available',
    instanceId: '',
    instanceType: '',
    privateIpAddress: '',
    bandwidthPackageId: '',
    isp: '',
    internetChargeType: '',
    instanceChargeType: '',
    resourceGroupId: '',
    publicIpAddressPoolId: '',
    name: '',
    bandwidth: Number.NaN,
    tags: { ...tags },
  };
}
