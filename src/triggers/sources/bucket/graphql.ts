// GraphQL input of BUCKET triggers (S3 event notifications).
import { Field, InputType, ObjectType } from 'type-graphql';

@InputType({ description: 'S3 event notifications: object changes in a bucket' })
export class BucketSourceInput {
  @Field(() => String) bucket!: string;
  @Field(() => [String], {
    description:
      's3:ObjectCreated:*, s3:ObjectCreated:Put, s3:ObjectCreated:Copy, s3:ObjectCreated:CompleteMultipartUpload, s3:ObjectRemoved:*, s3:ObjectRemoved:Delete',
  })
  events!: string[];
  @Field(() => String, { nullable: true, description: 'only keys starting with this' }) prefix?: string | null;
  @Field(() => String, { nullable: true, description: 'only keys ending with this (e.g. .csv)' }) suffix?: string | null;
}

@ObjectType({ description: "A BUCKET trigger's source" })
export class BucketSource {
  @Field(() => String) bucket!: string;
  @Field(() => [String]) events!: string[];
  @Field(() => String, { description: '"" when every key matches' }) prefix!: string;
  @Field(() => String) suffix!: string;
}
