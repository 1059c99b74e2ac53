import { FieldResolver, Resolver, Root } from 'type-graphql';
import { BucketSource } from '../../schema/trigger-sources/bucket.js';
import { Trigger } from '../../schema/triggers.js';
import type { BucketTriggerConfig } from '../../services/trigger-sources/bucket.js';
import type { TriggerObject } from '../triggers.js';

@Resolver(() => Trigger)
export class TriggerBucketResolver {
  @FieldResolver(() => BucketSource, { nullable: true, description: 'set for BUCKET triggers' })
  bucket(@Root() trigger: TriggerObject): BucketSource | null {
    return trigger.row.sourceType === 'BUCKET' ? (trigger.row.config as unknown as BucketTriggerConfig) : null;
  }
}
