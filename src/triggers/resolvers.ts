import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { InvocationRow } from '../functions/tables.js';
import type { TriggerRow } from './tables.js';
import type { InvocationStatus } from '../functions/graphql.js';
import {
  CreateTriggerInput, CreateTriggerPayload, DeleteTriggerInput, DeleteTriggerPayload, SetTriggerEnabledInput, SetTriggerEnabledPayload,
  Trigger, TriggerConnection, TriggerDeliveryConnection, TriggerFilter, TriggerSourceType, UpdateTriggerInput, UpdateTriggerPayload,
} from './graphql.js';
import { mayReadSource } from './service.js';
import type { Context } from '../platform/graphql/context.js';
import { toInvocation } from '../functions/resolvers.js';
import { connection } from '../platform/graphql/mappers.js';

/** The GraphQL object keeps its row underneath (`row`) for the sources' field resolvers. */
export type TriggerObject = Trigger & { row: TriggerRow };

export function toTrigger(row: TriggerRow): TriggerObject {
  return {
    row, id: row.id, name: row.name, functionName: row.functionName, qualifier: row.qualifier,
    sourceType: row.sourceType as TriggerSourceType, enabled: row.enabled, config: row.config, createdAt: row.createdAt, updatedAt: row.updatedAt,
  };
}

const toDelivery = (row: InvocationRow, hidePayload: boolean) => ({
  at: row.createdAt, eventId: row.eventId, status: row.status as InvocationStatus, attempts: row.attempts, invocation: toInvocation(row, hidePayload),
});

@Resolver(() => Trigger)
export class TriggerResolver {
  @Authorized('triggers:GetTrigger')
  @Query(() => Trigger, { nullable: true })
  async trigger(@Arg('name', () => String) name: string, @Ctx() ctx: Context): Promise<TriggerObject | null> {
    const row = await ctx.services.triggers.get(name);
    return row ? toTrigger(row) : null;
  }

  @Authorized('triggers:ListTriggers')
  @Query(() => TriggerConnection, { description: 'Newest first' })
  async triggers(
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => TriggerFilter, { nullable: true }) filter?: TriggerFilter,
  ) {
    const page = await ctx.services.triggers.list({ sourceType: filter?.sourceType, functionName: filter?.functionName }, first, after);
    return connection(page, toTrigger, Boolean(after));
  }

  @Authorized('triggers:CreateTrigger')
  @Mutation(() => CreateTriggerPayload)
  async createTrigger(@Arg('input', () => CreateTriggerInput) input: CreateTriggerInput, @Ctx() ctx: Context) {
    return { trigger: toTrigger(await ctx.services.triggers.create(ctx.principal!, { ...input })) };
  }

  @Authorized('triggers:UpdateTrigger')
  @Mutation(() => UpdateTriggerPayload)
  async updateTrigger(@Arg('input', () => UpdateTriggerInput) input: UpdateTriggerInput, @Ctx() ctx: Context) {
    return { trigger: toTrigger(await ctx.services.triggers.update(ctx.principal!, { ...input })) };
  }

  @Authorized('triggers:SetTriggerEnabled')
  @Mutation(() => SetTriggerEnabledPayload, { description: 'A disabled trigger delivers nothing; its events meanwhile are not delivered later' })
  async setTriggerEnabled(@Arg('input', () => SetTriggerEnabledInput) input: SetTriggerEnabledInput, @Ctx() ctx: Context) {
    return { trigger: toTrigger(await ctx.services.triggers.setEnabled(input.name, input.enabled)) };
  }

  @Authorized('triggers:DeleteTrigger')
  @Mutation(() => DeleteTriggerPayload, { description: 'Its past deliveries stay as invocations' })
  async deleteTrigger(@Arg('input', () => DeleteTriggerInput) input: DeleteTriggerInput, @Ctx() ctx: Context) {
    return { trigger: toTrigger(await ctx.services.triggers.delete(input.name)) };
  }

  @FieldResolver(() => TriggerDeliveryConnection, { description: 'The invocations this trigger made, newest first' })
  async deliveries(
    @Root() trigger: TriggerObject,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    // the events of a source the caller can't read stay hidden, whoever made the trigger
    const hidePayload = !mayReadSource(ctx.principal!, trigger.row.sourceType);
    return connection(await ctx.services.triggers.deliveries(trigger.row, first, after), (row) => toDelivery(row, hidePayload), Boolean(after));
  }
}
