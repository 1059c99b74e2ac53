import { Arg, Authorized, Mutation, Query, Resolver, Ctx } from 'type-graphql';
import type { Context } from '../platform/graphql/context.js';
import type { AuthService } from './service.js';
import { CreateApiKeyInput, RevokeApiKeyInput, CreateApiKeyPayload, RevokeApiKeyPayload, ApiKey } from './graphql.js';
import type { ApiKeyRow } from './tables.js';

const toApiKey = (r: ApiKeyRow): ApiKey => ({ id: r.id, name: r.name, actions: r.actions, createdAt: r.createdAt, revokedAt: r.revokedAt });

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
    const { key, row } = await this.keys.create(ctx.principal!, input);
    return { key, apiKey: toApiKey(row) };
  }

  @Authorized('keys:RevokeApiKey')
  @Mutation(() => RevokeApiKeyPayload)
  async revokeApiKey(@Arg('input', () => RevokeApiKeyInput) input: RevokeApiKeyInput): Promise<RevokeApiKeyPayload> {
    return { apiKey: toApiKey(await this.keys.revoke(input.id)) };
  }
}
