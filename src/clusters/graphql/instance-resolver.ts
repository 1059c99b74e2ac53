import { Authorized, FieldResolver, Resolver, Root } from 'type-graphql';
import type { InstanceRow } from '../tables.js';
import { Instance, StateChangeReason } from './types.js';
import { Host } from '../../hosts/graphql/types.js';
import { toHost } from '../../hosts/graphql/resolvers.js';
import type { HostRow } from '../../hosts/tables.js';
import type { HostService } from '../../hosts/service.js';
import type { InstanceService } from '../instances.js';

@Resolver(() => Instance)
export class InstanceResolver {
  constructor(private readonly hosts: HostService) {}

  @FieldResolver(() => StateChangeReason, { nullable: true, description: 'why the instance ended (INSTANCE_FAILURE, USER_REQUEST, …)' })
  stateChangeReason(@Root() instance: InstanceRow): StateChangeReason | null {
    const { stateReasonCode: code, stateReasonMessage: message } = instance;
    return code || message ? { code, message } : null;
  }

  @Authorized('hosts:DescribeHost')
  @FieldResolver(() => Host, { nullable: true, description: 'the host it was placed on (null: not placed yet)' })
  async placedOn(@Root() instance: InstanceRow): Promise<Host | null> {
    const row = instance.hostId ? await this.hosts.get(instance.hostId) : undefined;
    return row ? toHost(row) : null;
  }
}

/** The nodes on a host (a field of the hosts module's Host, served here where instances live). */
@Resolver(() => Host)
export class HostInstancesResolver {
  constructor(private readonly service: InstanceService) {}

  @Authorized('clusters:DescribeCluster')
  @FieldResolver(() => [Instance], { description: 'its live nodes (with their cluster ids)' })
  instances(@Root() host: HostRow): Promise<InstanceRow[]> {
    return this.service.liveOnHost(host.id);
  }
}
