// Message attributes: shared by queue messages (SQS) and topic publishes (SNS). Shape only.
import { Field, InputType, ObjectType } from 'type-graphql';

@InputType({ description: 'A message attribute (SQS/SNS MessageAttributeValue)' })
export class MessageAttributeInput {
  @Field(() => String, { description: '1-256 characters of A-Z a-z 0-9 _ - .' }) name!: string;
  @Field(() => String, {
    description: 'String, Number or Binary (queues also take a custom label: Number.float; topics take String.Array)',
  })
  dataType!: string;
  @Field(() => String, { nullable: true, description: 'the value of a String, Number or String.Array attribute' }) stringValue?:
    | string
    | null;
  @Field(() => String, { nullable: true, description: 'the value of a Binary attribute, base64' }) binaryValue?: string | null;
}

@ObjectType()
export class MessageAttribute {
  @Field(() => String) name!: string;
  @Field(() => String) dataType!: string;
  @Field(() => String, { nullable: true }) stringValue!: string | null;
  @Field(() => String, { nullable: true, description: 'base64' }) binaryValue!: string | null;
}
