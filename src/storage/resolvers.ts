import { Arg, Authorized, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { BucketRow, ObjectRow } from './tables.js';
import {
  Bucket,
  BucketObject,
  CreateBucketInput,
  CreateBucketPayload,
  DeleteBucketInput,
  DeleteBucketPayload,
  DeleteObjectInput,
  DeleteObjectPayload,
  ObjectConnection,
  PutObjectInput,
  PutObjectPayload,
} from './graphql.js';
import { s3Uri } from './s3-uri.js';
import type { StorageService } from './service.js';

const toBucket = (r: BucketRow): Bucket => ({ name: r.name, uri: `s3://${r.name}/`, createdAt: r.createdAt });
export const toObject = (r: ObjectRow): BucketObject => ({
  bucket: r.bucket,
  key: r.key,
  uri: s3Uri(r.bucket, r.key),
  size: r.size,
  etag: r.etag,
  contentType: r.contentType,
  lastModified: r.updatedAt,
  userMetadata: Object.entries(r.metadata.user ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => ({ name, value })),
});

@Resolver()
export class BucketResolver {
  constructor(private readonly storage: StorageService) {}

  @Authorized('buckets:ListBuckets')
  @Query(() => [Bucket], { description: 'All buckets, by name' })
  async buckets(): Promise<Bucket[]> {
    return (await this.storage.listBuckets()).map(toBucket);
  }

  @Authorized('buckets:ListBuckets')
  @Query(() => Bucket, { nullable: true })
  async bucket(@Arg('name', () => String) name: string): Promise<Bucket | null> {
    const row = await this.storage.bucket(name);
    return row && toBucket(row);
  }

  @Authorized('buckets:ListObjects')
  @Query(() => ObjectConnection, {
    description: 'ListObjectsV2: keys under prefix in UTF-8 byte order; delimiter "/" rolls deeper keys up into commonPrefixes',
  })
  async objects(
    @Arg('bucket', () => String) bucket: string,
    @Arg('prefix', () => String, { nullable: true }) prefix?: string,
    @Arg('delimiter', () => String, { nullable: true }) delimiter?: string,
    @Arg('first', () => Int, { nullable: true, description: 'default 20, at most 100' }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<ObjectConnection> {
    const page = await this.storage.list(bucket, { prefix, delimiter, first, after });
    const edges = page.objects.map((row) => ({ cursor: page.cursorOf(row), node: toObject(row) }));
    return {
      edges,
      commonPrefixes: page.commonPrefixes,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: Boolean(after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: page.endCursor,
      },
    };
  }

  @Authorized('buckets:GetObject')
  @Query(() => BucketObject, { nullable: true, description: "An object's metadata (HeadObject)" })
  async object(@Arg('bucket', () => String) bucket: string, @Arg('key', () => String) key: string): Promise<BucketObject | null> {
    const row = await this.storage.head(bucket, key);
    return row && toObject(row);
  }

  @Authorized('buckets:CreateBucket')
  @Mutation(() => CreateBucketPayload, { description: 'CONFLICT when the name is taken' })
  async createBucket(@Arg('input', () => CreateBucketInput) input: CreateBucketInput): Promise<CreateBucketPayload> {
    return { bucket: toBucket(await this.storage.createBucket(input.name)) };
  }

  @Authorized('buckets:DeleteBucket')
  @Mutation(() => DeleteBucketPayload, { description: 'Only an empty bucket (CONFLICT otherwise), unless force: true' })
  async deleteBucket(@Arg('input', () => DeleteBucketInput) input: DeleteBucketInput): Promise<DeleteBucketPayload> {
    return this.storage.deleteBucket(input.name, input.force ?? false);
  }

  @Authorized('buckets:PutObject')
  @Mutation(() => PutObjectPayload, { description: 'Small objects (≤ 1 MiB) inline; larger ones: PUT /objects/<bucket>/<key>' })
  async putObject(@Arg('input', () => PutObjectInput) input: PutObjectInput): Promise<PutObjectPayload> {
    const row = await this.storage.putInline(input);
    return { object: toObject(row) };
  }

  @Authorized('buckets:DeleteObject')
  @Mutation(() => DeleteObjectPayload)
  async deleteObject(@Arg('input', () => DeleteObjectInput) input: DeleteObjectInput): Promise<DeleteObjectPayload> {
    const row = await this.storage.deleteObject(input.bucket, input.key);
    return { bucket: input.bucket, key: input.key, deleted: row !== null };
  }
}
