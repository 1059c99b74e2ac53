// Access: API keys (create, list, revoke) and who is calling (authenticate a bearer key).
import type { Authenticate, LookupS3Credentials } from '../platform/authorization.js';
import type { Module } from '../platform/module.js';
import { Channel } from '../platform/notifications/channels.js';
import type { Platform } from '../platform/platform.js';
import { ApiKeyResolver } from './resolvers.js';
import { AuthService } from './service.js';
import { WorkloadCredentials } from './workload-credentials.js';

export const accessResolvers = [ApiKeyResolver];

export class AccessModule implements Module {
  readonly name = 'access';
  readonly keys: AuthService;
  /** S3 credentials of workloads (a cluster's nodes), which clusters mint and void */
  readonly workloads: WorkloadCredentials;
  readonly resolvers: object[];
  /** who a request's Authorization header says is calling: what other modules and the API server check */
  readonly authenticate: Authenticate = (header) => this.keys.authenticate(header);
  /** the secret and principal of an S3 access key id: what the S3 endpoint's SigV4 checks need */
  readonly s3Credentials: LookupS3Credentials = (accessKeyId) => this.keys.s3Credentials(accessKeyId);
  /** the admin key made on a first start (null when one existed or ADMIN_API_KEY was given) */
  generatedAdminKey: string | null = null;

  constructor(private readonly platform: Platform) {
    this.keys = new AuthService(platform.sql, platform.secrets, platform.log);
    this.workloads = new WorkloadCredentials(platform.sql, platform.secrets, () => this.keys.forget());
    this.resolvers = [new ApiKeyResolver(this.keys)];
  }

  // a key revoked on any server stops working here at once
  readonly channels = { [Channel.apiKey]: () => this.keys.forget() };

  caughtUp(): void {
    this.keys.forget();
  }

  async prepare(): Promise<void> {
    this.generatedAdminKey = await this.keys.bootstrap(this.platform.config.adminApiKey);
  }
}
