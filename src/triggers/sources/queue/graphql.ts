// GraphQL input of QUEUE triggers (event source mappings from a queue, Lambda's SQS poller).
import { Field, InputType, Int, ObjectType } from 'type-graphql';

@InputType({ description: "An event source mapping: batches of a queue's messages, handed to the function synchronously" })
export class QueueSourceInput {
  @Field(() => String) queueName!: string;
  @Field(() => Int, { nullable: true, description: 'messages per invocation at most: 1-10000, default 10' }) batchSize?: number | null;
  @Field(() => Int, { nullable: true, description: 'gather a batch for up to 0-300 s (default 0; at least 1 when batchSize > 10)' })
  batchingWindowSeconds?: number | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'honour {batchItemFailures: [{itemIdentifier}]} results: delete all but those (default true)',
  })
  reportBatchItemFailures?: boolean | null;
}

@ObjectType({ description: "A QUEUE trigger's source: an event source mapping from a queue" })
export class QueueSource {
  @Field(() => String) queueName!: string;
  @Field(() => String) queueArn!: string;
  @Field(() => Int) batchSize!: number;
  @Field(() => Int) batchingWindowSeconds!: number;
  @Field(() => Boolean) reportBatchItemFailures!: boolean;
}
