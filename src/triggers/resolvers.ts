import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { InvocationRow } from '../functions/tables.js';
import type { TriggerRow, TriggerSourceType as SourceType } from './tables.js';
import { Invocation, type InvocationStatus } from '../functions/graphql.js';
import {
  CreateTriggerInput,
  CreateTriggerPayload,
  DeleteTriggerInput,
  DeleteTriggerPayload,
  SetTriggerEnabledInput,
  SetTriggerEnabledPayload,
  Trigger,
  TriggerConnection,
  TriggerDeliveryConnection,
  TriggerFilter,
  type TriggerSourceType,
  UpdateTriggerInput,
  UpdateTriggerPayload,
} from './graphql.js';
import { mayReadSource } from './service.js';
import DataLoader from 'dataloader';
import { JSONResolver } from 'graphql-scalars';
import { perRequest, type Context } from '../platform/graphql/context.js';
import { toInvocation, type InvocationObject } from '../functions/resolvers.js';
import { connection } from '../platform/graphql/connection.js';
import type { TriggerService } from './service.js';

/** The GraphQL object keeps its row underneath (`row`) for the sources' field resolvers. */
export type TriggerObject = Trigger & { row: TriggerRow };

export function toTrigger(row: TriggerRow): TriggerObject {
  return {
    row,
    id: row.id,
    name: row.name,
    functionName: row.functionName,
    qualifier: row.qualifier,
    sourceType: row.sourceType as TriggerSourceType,
    enabled: row.enabled,
    config: row.config,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const toDelivery = (row: InvocationRow) => ({
  at: row.createdAt,
  eventId: row.eventId,
  status: row.status as InvocationStatus,
  attempts: row.attempts,
  invocation: toInvocation(row),
});

@Resolver(() => Trigger)
export class TriggerResolver {
  constructor(private readonly service: TriggerService) {}

  @Authorized('triggers:GetTrigger')
  @Query(() => Trigger, { nullable: true })
  async trigger(@Arg('name', () => String) name: string): Promise<TriggerObject | null> {
    const row = await this.service.get(name);
    return row ? toTrigger(row) : null;
  }

  @Authorized('triggers:ListTriggers')
  @Query(() => TriggerConnection, { description: 'Newest first' })
  async triggers(
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => TriggerFilter, { nullable: true }) filter?: TriggerFilter,
  ) {
    const page = await this.service.list({ sourceType: filter?.sourceType, functionName: filter?.functionName }, first, after);
    return connection(page, toTrigger, Boolean(after));
  }

  @Authorized('triggers:CreateTrigger')
  @Mutation(() => CreateTriggerPayload)
  async createTrigger(@Arg('input', () => CreateTriggerInput) input: CreateTriggerInput, @Ctx() ctx: Context) {
    return { trigger: toTrigger(await this.service.create(ctx.principal!, { ...input })) };
  }

  @Authorized('triggers:UpdateTrigger')
  @Mutation(() => UpdateTriggerPayload)
  async updateTrigger(@Arg('input', () => UpdateTriggerInput) input: UpdateTriggerInput, @Ctx() ctx: Context) {
    return { trigger: toTrigger(await this.service.update(ctx.principal!, { ...input })) };
  }

  @Authorized('triggers:SetTriggerEnabled')
  @Mutation(() => SetTriggerEnabledPayload, {
    description: 'A disabled trigger delivers nothing; its events meanwhile are not delivered later',
  })
  async setTriggerEnabled(@Arg('input', () => SetTriggerEnabledInput) input: SetTriggerEnabledInput) {
    return { trigger: toTrigger(await this.service.setEnabled(input.name, input.enabled)) };
  }

  @Authorized('triggers:DeleteTrigger')
  @Mutation(() => DeleteTriggerPayload, { description: 'Its past deliveries stay as invocations' })
  async deleteTrigger(@Arg('input', () => DeleteTriggerInput) input: DeleteTriggerInput) {
    return { trigger: toTrigger(await this.service.delete(input.name)) };
  }

  @FieldResolver(() => TriggerDeliveryConnection, { description: 'The invocations this trigger made, newest first' })
  async deliveries(
    @Root() trigger: TriggerObject,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return connection(await this.service.deliveries(trigger.row, first, after), toDelivery, Boolean(after));
  }
}

/**
 * Invocation.payload: the event of an invocation a trigger made (a delivery) is shown only to keys
 * that may read the trigger's source (a queue's messages, a bucket's objects, …), whoever made the
 * trigger; a trigger deleted since takes a key that may read every kind of source.
 */
@Resolver(() => Invocation)
export class InvocationPayloadResolver {
  private readonly sourceTypes: (ctx: Context) => DataLoader<string, SourceType | null>;

  constructor(service: TriggerService) {
    this.sourceTypes = perRequest(
      () =>
        new DataLoader<string, SourceType | null>(async (ids) => {
          const types = await service.sourceTypes(ids);
          return ids.map((id) => types.get(id) ?? null);
        }),
    );
  }

  @FieldResolver(() => JSONResolver, { nullable: true, description: 'the event (async invocations keep it)' })
  async payload(@Root() invocation: InvocationObject, @Ctx() ctx: Context): Promise<unknown> {
    if (invocation.triggerId === null || invocation.payload === null) return invocation.payload;
    const sourceType = await this.sourceTypes(ctx).load(invocation.triggerId);
    return mayReadSource(ctx.principal!, sourceType) ? invocation.payload : null;
  }
}
