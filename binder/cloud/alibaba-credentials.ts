/**
 * The credential the SDK clients sign with: a fixed AccessKey (or STS triple), or Alibaba's default chain
 * (env, RRSA/OIDC, profiles, ECS RAM role, credentials URI).
 *
 * The default chain is built on first use, not at start-up, because RRSA's token file and env may not be
 * ready yet; and it is thrown away after any failure, because a chain that failed once stays stuck on its
 * last provider even after the environment is fixed (docs/alibaba-cloud-api.md#credentials). Every secret seen is
 * remembered so error messages can be scrubbed of it.
 */
import CredentialsModule, * as $Credentials from '@alicloud/credentials';
import type { Logger } from 'pino';
import { CredentialsUnavailableError, redactSecrets } from './cloud-error-classification.js';
import { sdkDefaultExport } from './sdk-module.js';

export type CloudCredentials =
  | { kind: 'access-key'; accessKeyId: string; accessKeySecret: string; securityToken?: string }
  | { kind: 'default-chain' };

const Credential = sdkDefaultExport(CredentialsModule);
type Credential = InstanceType<typeof Credential>;
type CredentialModel = $Credentials.CredentialModel;

/** STS triples rotate; the last few stay known so a late error naming an old one is still scrubbed. */
const REMEMBERED_SECRETS = 12;

/**
 * Implements the SDK's ICredential; handed to `Config.credential`. Given a function, it asks it on every
 * call, so a rotated key file is signed with from the next call on while the clients, and the token
 * buckets in front of them, stay as they are.
 */
export class CredentialSource {
  private chain: Credential | undefined;
  private secrets: string[] = [];
  private readonly read: () => CloudCredentials;

  constructor(
    credentials: CloudCredentials | (() => CloudCredentials),
    private readonly logger: Logger,
  ) {
    this.read = typeof credentials === 'function' ? credentials : () => credentials;
    const first = this.read();
    if (first.kind === 'access-key' && (first.accessKeyId === '' || first.accessKeySecret === '')) {
      throw new Error('access-key credentials need both accessKeyId and accessKeySecret');
    }
  }

  /** Values to scrub from anything shown to people. */
  knownSecrets(): readonly string[] {
    return this.secrets;
  }

  async getCredential(): Promise<CredentialModel> {
    const credentials = this.read();
    if (credentials.kind === 'access-key') {
      const { accessKeyId, accessKeySecret, securityToken } = credentials;
      this.remember(accessKeyId, accessKeySecret, securityToken);
      const sts = securityToken !== undefined && securityToken !== '';
      return new $Credentials.CredentialModel({
        accessKeyId,
        accessKeySecret,
        ...(sts ? { securityToken } : {}),
        type: sts ? 'sts' : 'access_key',
        providerName: sts ? 'static_sts' : 'static_ak',
      });
    }
    const chain = (this.chain ??= new Credential());
    try {
      const model = await chain.getCredential();
      this.remember(model.accessKeyId, model.accessKeySecret, model.securityToken);
      return model;
    } catch (error) {
      if (this.chain === chain) this.chain = undefined;
      const reason = redactSecrets(error instanceof Error ? error.message : String(error), this.secrets);
      this.logger.warn(
        { reason },
        'no usable Alibaba Cloud credentials from the default chain; it will be rebuilt on the next call',
      );
      throw new CredentialsUnavailableError(`no usable credentials from the default chain: ${reason}`);
    }
  }

  async getAccessKeyId(): Promise<string> {
    return (await this.getCredential()).accessKeyId ?? '';
  }

  async getAccessKeySecret(): Promise<string> {
    return (await this.getCredential()).accessKeySecret ?? '';
  }

  async getSecurityToken(): Promise<string> {
    return (await this.getCredential()).securityToken ?? '';
  }

  getBearerToken(): string {
    return '';
  }

  getType(): string {
    const credentials = this.read();
    if (credentials.kind === 'default-chain') return 'default';
    return credentials.securityToken ? 'sts' : 'access_key';
  }

  private remember(...values: Array<string | undefined>): void {
    const fresh = values.filter(
      (value): value is string => value !== undefined && value !== '' && !this.secrets.includes(value),
    );
    if (fresh.length > 0) this.secrets = [...this.secrets, ...fresh].slice(-REMEMBERED_SECRETS * 3);
  }

  /** The SDK's Config declares the library's Credential class; this object honours the same interface. */
  asSdkCredential(): Credential {
    return this as unknown as Credential;
  }
}
