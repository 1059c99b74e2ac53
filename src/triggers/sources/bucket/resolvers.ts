import { FieldResolver, Resolver, Root } from 'type-graphql';
import { BucketSource } from './graphql.js';
import { Trigger } from '../../graphql.js';
import type { BucketTriggerConfig } from './source.js';
import type { TriggerObject } from '../../resolvers.js';

@Resolver(() => Trigger)
export class TriggerBucketResolver {
  @FieldResolver(() => BucketSource, { nullable: true, description: 'set for BUCKET triggers' })
  bucket(@Root() trigger: TriggerObject): BucketSource | null {
    return trigger.row.sourceType === 'BUCKET' ? (trigger.row.config as unknown as BucketTriggerConfig) : null;
  }
}
