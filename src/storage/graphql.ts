import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { PageInfo } from '../platform/graphql/connection.js';

@ObjectType({ description: 'A bucket: a namespace of objects, stored under the data dir (s3://<name>/ → <DATA_DIR>/buckets/<name>/)' })
export class Bucket {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 's3://<name>/' }) uri!: string;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@ObjectType({ description: 'One user metadata entry of an object (S3 x-amz-meta-<name>)' })
export class ObjectMetadataEntry {
  @Field(() => String, { description: 'lower case, without x-amz-meta-' }) name!: string;
  @Field(() => String) value!: string;
}

@ObjectType({ description: "An object's metadata (the bytes: GET /objects/<bucket>/<key>)" })
export class BucketObject {
  @Field(() => String) bucket!: string;
  @Field(() => String) key!: string;
  @Field(() => String, { description: 's3://<bucket>/<key>' }) uri!: string;
  @Field(() => Float, { description: 'bytes (a Float: objects may pass 2^31)' }) size!: number;
  @Field(() => String, { description: 'MD5 of the bytes in hex, in double quotes, as S3' }) etag!: string;
  @Field(() => String) contentType!: string;
  @Field(() => DateTimeResolver) lastModified!: Date;
  @Field(() => [ObjectMetadataEntry], { description: 'user metadata given at upload through S3 (x-amz-meta-*), by name' })
  userMetadata!: ObjectMetadataEntry[];
}

@ObjectType()
export class ObjectEdge {
  @Field(() => String) cursor!: string;
  @Field(() => BucketObject) node!: BucketObject;
}

@ObjectType({ description: 'One page of ListObjectsV2: objects and, with a delimiter, the common prefixes that roll up the rest' })
export class ObjectConnection {
  @Field(() => [ObjectEdge]) edges!: ObjectEdge[];
  @Field(() => [String], {
    description:
      'with a delimiter: the prefix plus everything up to the first delimiter after it, of the keys that contain one (each counts once toward `first`)',
  })
  commonPrefixes!: string[];
  @Field(() => PageInfo, { description: 'endCursor follows the last object or common prefix of the page' }) pageInfo!: PageInfo;
}

@InputType()
export class CreateBucketInput {
  @Field(() => String, { description: '3–63 lowercase letters, digits, dots and hyphens (S3 rules)' }) name!: string;
}

@InputType()
export class DeleteBucketInput {
  @Field(() => String) name!: string;
  @Field(() => Boolean, { nullable: true, description: 'delete the objects too (default false: only an empty bucket)' }) force?:
    | boolean
    | null;
}

@InputType()
export class PutObjectInput {
  @Field(() => String) bucket!: string;
  @Field(() => String) key!: string;
  @Field(() => String, {
    nullable: true,
    description: 'UTF-8 text (exactly one of content and contentBase64); up to 1 MiB, larger objects: PUT /objects/<bucket>/<key>',
  })
  content?: string | null;
  @Field(() => String, { nullable: true }) contentBase64?: string | null;
  @Field(() => String, { nullable: true, description: "default: by the key's extension, else application/octet-stream" }) contentType?:
    | string
    | null;
}

@InputType()
export class DeleteObjectInput {
  @Field(() => String) bucket!: string;
  @Field(() => String) key!: string;
}

@ObjectType()
export class CreateBucketPayload {
  @Field(() => Bucket) bucket!: Bucket;
}

@ObjectType()
export class DeleteBucketPayload {
  @Field(() => String) name!: string;
  @Field(() => Int, { description: 'objects deleted with it (force)' }) deletedObjects!: number;
}

@ObjectType()
export class PutObjectPayload {
  @Field(() => BucketObject) object!: BucketObject;
}

@ObjectType()
export class DeleteObjectPayload {
  @Field(() => String) bucket!: string;
  @Field(() => String) key!: string;
  @Field(() => Boolean, { description: 'false when there was no such object (deleting is idempotent, as S3)' }) deleted!: boolean;
}
