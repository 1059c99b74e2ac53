import {
  Arg,
  Authorized,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { authorize } from '../../platform/authorization.js';
import { connection } from '../../platform/graphql/connection.js';
import type { Context } from '../../platform/graphql/context.js';
import type { HostEventRow, HostRow } from '../tables.js';
import type { HostService } from '../service.js';
import type { HostEvents } from '../events.js';
import {
  CreateHostTokenInput,
  CreateHostTokenPayload,
  Host,
  HostConnection,
  HostFilter,
  HostFunctionInstance,
  HostIdInput,
  HostPayload,
  HostResources,
  type HostState,
  HostUpdate,
} from './types.js';

/** A host row as the API shows it (the row stays the root: field resolvers elsewhere read its id). */
export const toHost = (r: HostRow): Host & HostRow =>
  ({
    ...r,
    state: r.state as HostState,
    connected: r.embedded || r.connectedServer !== null,
    capacity: { vcpu: r.vcpu, memoryMb: r.memoryMb, diskMb: r.diskMb },
  }) as Host & HostRow;

async function hostUpdatesIterator({ args, context }: SubscribeResolverData<unknown, { after?: string | null }, Context>) {
  authorize(context.principal, 'hosts:ListHosts');
  return context.resolvers.get(HostResolver).events.subscribe(args.after);
}

@Resolver(() => Host)
export class HostResolver {
  // `events` is read by the subscribe function above, which type-graphql calls without a resolver object
  constructor(
    private readonly service: HostService,
    readonly events: HostEvents,
  ) {}

  @Authorized('hosts:ListHosts')
  @Query(() => HostConnection, { description: 'Oldest first' })
  async hosts(
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => HostFilter, { nullable: true }) filter?: HostFilter,
  ) {
    return connection(await this.service.list(first, after, filter?.states ?? null), toHost, Boolean(after));
  }

  @Authorized('hosts:DescribeHost')
  @Query(() => Host, { nullable: true })
  async host(@Arg('id', () => ID) id: string): Promise<Host | null> {
    const row = await this.service.get(id);
    return row ? toHost(row) : null;
  }

  @Authorized('functions:ListFunctions')
  @FieldResolver(() => [HostFunctionInstance], { description: 'the function instances on it, as of its last heartbeat' })
  functionInstances(@Root() host: HostRow): HostFunctionInstance[] {
    return host.functionInstances;
  }

  @FieldResolver(() => HostResources, { description: 'the sum of its live nodes’ instance types and its function instances’ memory' })
  async allocated(@Root() host: HostRow): Promise<HostResources> {
    const used = (await this.service.allocations()).get(host.id) ?? { vcpu: 0, memoryMb: 0 };
    return { ...used, diskMb: null };
  }

  @Authorized('hosts:CreateHostToken')
  @Mutation(() => CreateHostTokenPayload, { description: 'A token one machine joins with (`emberplane host join`)' })
  async createHostToken(
    @Arg('input', () => CreateHostTokenInput, { nullable: true }) input?: CreateHostTokenInput,
  ): Promise<CreateHostTokenPayload> {
    const { token, row } = await this.service.createToken({
      expiresInSeconds: input?.expiresInSeconds,
      labels: input?.labels as Record<string, string> | undefined,
      singleUse: input?.singleUse,
    });
    return { token, expiresAt: row.expiresAt, labels: row.labels, singleUse: row.singleUse };
  }

  @Authorized('hosts:DrainHost')
  @Mutation(() => HostPayload, { description: 'No new nodes; its TASK nodes are moved (replaced elsewhere, then decommissioned)' })
  async drainHost(@Arg('input', () => HostIdInput) input: HostIdInput): Promise<HostPayload> {
    return { host: toHost(await this.service.drain(input.id)) };
  }

  @Authorized('hosts:DrainHost')
  @Mutation(() => HostPayload, { description: 'A DRAINING host takes nodes again' })
  async resumeHost(@Arg('input', () => HostIdInput) input: HostIdInput): Promise<HostPayload> {
    return { host: toHost(await this.service.resume(input.id)) };
  }

  @Authorized('hosts:RevokeHost')
  @Mutation(() => HostPayload, { description: 'Its key is void, its session closed, its nodes failed and replaced elsewhere' })
  async revokeHost(@Arg('input', () => HostIdInput) input: HostIdInput): Promise<HostPayload> {
    return { host: toHost(await this.service.revoke(input.id)) };
  }

  @Subscription(() => HostUpdate, {
    subscribe: hostUpdatesIterator,
    description: 'Every host joining or changing state. Without `after`: from now on.',
  })
  async hostUpdates(@Root() event: HostEventRow, @Arg('after', () => String, { nullable: true }) _after?: string): Promise<HostUpdate> {
    const row = await this.service.get(event.hostId);
    return {
      cursor: String(event.seq),
      at: event.at,
      state: event.state as HostState,
      message: event.message,
      host: row ? toHost(row) : null,
    };
  }
}
