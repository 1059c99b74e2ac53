import { Authorized, Query, Resolver } from 'type-graphql';
import { INSTANCE_TYPES } from '../instance-types.js';
import { Application, InstanceType } from '../graphql/types.js';
import type { ApplicationInfo } from '../instance-types.js';

@Resolver()
export class CatalogResolver {
  constructor(private readonly available: readonly ApplicationInfo[]) {}

  @Authorized('clusters:ListInstanceTypes')
  @Query(() => [InstanceType], { description: 'Instance types a group can use (vCPU and memory of each node)' })
  instanceTypes(): InstanceType[] {
    return [...INSTANCE_TYPES];
  }

  @Authorized('clusters:ListApplications')
  @Query(() => [Application], { description: 'Applications a cluster can ask for, and whether this engine runs them' })
  applications(): Application[] {
    return [...this.available];
  }
}
