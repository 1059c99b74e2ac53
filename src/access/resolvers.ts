import { Arg, Authorized, Mutation, Query, Resolver, Ctx } from 'type-graphql';
import type { ApiKeyRow } from './tables.js';
import { CreateApiKeyInput, RevokeApiKeyInput } from '../clusters/graphql/inputs.js';
import { CreateApiKeyPayload, RevokeApiKeyPayload } from '../clusters/graphql/payloads.js';
import { ApiKey } from '../clusters/graphql/types.js';
import type { Context } from '../platform/graphql/context.js';

const toApiKey = (r: ApiKeyRow): ApiKey => ({ id: r.id, name: r.name, actions: r.actions, createdAt: r.createdAt, revokedAt: r.revokedAt });

@Resolver()
export class ApiKeyResolver {
  @Authorized('keys:ListApiKeys')
  @Query(() => [ApiKey])
  async apiKeys(@Ctx() ctx: Context): Promise<ApiKey[]> {
    return (await ctx.services.auth.list()).map(toApiKey);
  }

  @Authorized('keys:CreateApiKey')
  @Mutation(() => CreateApiKeyPayload)
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: Context): Promise<CreateApiKeyPayload> {
    const { key, row } = await ctx.services.auth.create(ctx.principal!, input);
    return { key, apiKey: toApiKey(row) };
  }

  @Authorized('keys:RevokeApiKey')
  @Mutation(() => RevokeApiKeyPayload)
  async revokeApiKey(@Arg('input', () => RevokeApiKeyInput) input: RevokeApiKeyInput, @Ctx() ctx: Context): Promise<RevokeApiKeyPayload> {
    return { apiKey: toApiKey(await ctx.services.auth.revoke(input.id)) };
  }
}
