/** Names that ACK's EIP controller and the tools built around it (kruise-game, kubectl users) rely on. */

/** Pod condition the binder sets; the webhook injects a readiness gate for it. */
export const EIP_CONDITION_TYPE = 'k8s.aliyun.com/eip';
/** Reason of the condition when the EIP is InUse on the pod's IP (ACK's exact wording). */
export const EIP_CONDITION_REASON_BOUND = 'Associate eip succeed';
/** Pod annotation holding the public address once bound; the init container waits for it. */
export const ALLOCATED_EIP_ADDRESS_ANNOTATION = 'k8s.aliyun.com/allocated-eipAddress';
/**
 * `"disabled"` on a pod: it does not take its static EIP over from an older pod of its workload in a
 * rolling update, but waits until that pod lets it go (as ACK does).
 */
export const EIP_HANDOVER_ANNOTATION = 'podeip.io/eip-handover';
/** Finalizer on PodEIP objects, shared with ACK so either controller can take over. */
export const PODEIP_FINALIZER = 'podeip-controller.alibabacloud.com/finalizer';

export const PODEIP_GROUP = 'alibabacloud.com';
export const PODEIP_VERSION = 'v1beta1';
export const PODEIP_API_VERSION = `${PODEIP_GROUP}/${PODEIP_VERSION}`;
export const PODEIP_KIND = 'PodEIP';
export const PODEIP_PLURAL = 'podeips';
export const PODEIP_SINGULAR = 'podeip';

/** Tag keys under this prefix mark the EIPs podeip owns, so `eip-tags` may not set them. */
export const PODEIP_TAG_PREFIX = 'podeip.io/';
/** The tags that say whose an EIP is; the orphan sweep trusts them. */
export const PODEIP_OWNERSHIP_TAG_KEYS = {
  clusterId: `${PODEIP_TAG_PREFIX}cluster-id`,
  namespace: `${PODEIP_TAG_PREFIX}namespace`,
  podName: `${PODEIP_TAG_PREFIX}pod-name`,
  podUid: `${PODEIP_TAG_PREFIX}pod-uid`,
} as const;
/** Alibaba Cloud holds at most 20 tags on one EIP (TagResources); podeip's ownership tags use some of them. */
export const MAX_TAGS_PER_EIP = 20;
export const PODEIP_OWNERSHIP_TAG_COUNT = Object.keys(PODEIP_OWNERSHIP_TAG_KEYS).length;
export const MAX_USER_EIP_TAGS = MAX_TAGS_PER_EIP - PODEIP_OWNERSHIP_TAG_COUNT;
/** Alibaba's limit on a tag value's length. */
export const MAX_TAG_VALUE_LENGTH = 128;
/** Alibaba refuses tag keys and values that start with these. */
export const RESERVED_TAG_PREFIX = /^(aliyun|acs:)/i;
