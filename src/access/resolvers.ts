import { Arg, Authorized, Mutation, Query, Resolver, Ctx } from 'type-graphql';
import type { Context } from '../platform/graphql/context.js';
import type { AuthService } from './service.js';
import { CreateApiKeyInput, RevokeApiKeyInput, CreateApiKeyPayload, RevokeApiKeyPayload, ApiKey } from './graphql.js';
import type { ApiKeyRow } from './tables.js';

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  name: r.name,
  actions: r.actions,
  createdAt: r.createdAt,
  revokedAt: r.revokedAt,
  s3AccessKeyId: r.s3AccessKeyId,
});

@Resolver()
export class ApiKeyResolver {
  constructor(private readonly keys: AuthService) {}

  @Authorized('keys:ListApiKeys')
  @Query(() => [ApiKey])
  async apiKeys(): Promise<ApiKey[]> {
    return (await this.keys.list()).map(toApiKey);
  }

  @Authorized('keys:CreateApiKey')
  @Mutation(() => CreateApiKeyPayload)
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: Context): Promise<CreateApiKeyPayload> {
    const { key, row, s3SecretAccessKey } = await this.keys.create(ctx.principal!, input);
    return { key, apiKey: toApiKey(row), s3AccessKeyId: row.s3AccessKeyId, s3SecretAccessKey };
  }

  @Authorized('keys:RevokeApiKey')
  @Mutation(() => RevokeApiKeyPayload)
  async revokeApiKey(@Arg('input', () => RevokeApiKeyInput) input: RevokeApiKeyInput): Promise<RevokeApiKeyPayload> {
    return { apiKey: toApiKey(await this.keys.revoke(input.id)) };
  }
}
