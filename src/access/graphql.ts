import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';

@ObjectType()
export class ApiKey {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => [String], { description: 'allowed actions, e.g. "*", "clusters:*", "clusters:Describe*"' }) actions!: string[];
  @Field(() => DateTimeResolver) createdAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true }) revokedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'the S3 access key id of this key (null: it has no S3 credentials)' })
  s3AccessKeyId!: string | null;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String) name!: string;
  @Field(() => [String], { nullable: true, description: 'action patterns; default ["*"]' }) actions?: string[];
  @Field(() => Boolean, {
    nullable: true,
    description: 'also make S3 credentials (an access key id and secret) for the S3 endpoint, with the same actions; default false',
  })
  s3Credentials?: boolean;
}

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID) id!: string;
}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => ApiKey) apiKey!: ApiKey;
  @Field(() => String, { description: 'the secret key: shown only here, store it now' }) key!: string;
  @Field(() => String, { nullable: true, description: 'the S3 access key id (with s3Credentials: true)' }) s3AccessKeyId!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'the S3 secret access key (with s3Credentials: true): shown only here, store it now',
  })
  s3SecretAccessKey!: string | null;
}

@ObjectType()
export class RevokeApiKeyPayload {
  @Field(() => ApiKey) apiKey!: ApiKey;
}
