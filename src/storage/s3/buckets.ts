// Bucket operations: ListBuckets, CreateBucket (with its optional CreateBucketConfiguration body),
// DeleteBucket, HeadBucket, GetBucketLocation. Buckets belong to the one account: every key that
// may list buckets sees them all, as GraphQL's `buckets` query does.
import { ACCOUNT } from '../../platform/aws-account.js';
import type { StorageService } from '../service.js';
import { noSuchBucket, S3Error } from './errors.js';
import { type OperationTable, type S3Request, sendEmpty } from './operations.js';
import { decodeBody } from './payload.js';
import { parseXml, readSmallBody, sendXml } from './xml.js';

export const OWNER = { ID: ACCOUNT, DisplayName: 'emberplane' };

/** S3 answers an empty LocationConstraint for us-east-1 (its oldest region) and the name for the others. */
const locationConstraintOf = (region: string) => (region === 'us-east-1' ? '' : region);

/** The LocationConstraint of a CreateBucket body ('' when there is no body or no constraint). */
async function requestedLocation(request: S3Request): Promise<string> {
  const text = await readSmallBody(decodeBody(request.req, request.auth).body);
  if (text.length === 0) return '';
  const doc = parseXml(text);
  const config = doc.CreateBucketConfiguration;
  if (config === undefined)
    throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  const constraint = typeof config === 'object' && config !== null ? (config as Record<string, unknown>).LocationConstraint : undefined;
  return typeof constraint === 'string' ? constraint : '';
}

async function requireBucket(storage: StorageService, bucket: string): Promise<void> {
  if (!(await storage.bucket(bucket, 'bucket'))) throw noSuchBucket();
}

export function bucketOperations(
  storage: StorageService,
  region: string,
): Pick<OperationTable, 'ListBuckets' | 'CreateBucket' | 'DeleteBucket' | 'HeadBucket' | 'GetBucketLocation'> {
  return {
    ListBuckets: {
      action: 'buckets:ListBuckets',
      async run({ res }) {
        const buckets = await storage.listBuckets();
        sendXml(res, 200, 'ListAllMyBucketsResult', {
          Owner: OWNER,
          Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.createdAt.toISOString() })) },
        });
      },
    },
    CreateBucket: {
      action: 'buckets:CreateBucket',
      async run(request) {
        const location = await requestedLocation(request);
        // one region: a bucket asked for elsewhere would not be there (S3 refuses the same way)
        if (location !== '' && location !== region) {
          throw new S3Error(
            'IllegalLocationConstraintException',
            400,
            `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to (${region}).`,
          );
        }
        if (request.req.headers['x-amz-bucket-object-lock-enabled'] === 'true') {
          throw new S3Error('NotImplemented', 501, 'Object Lock is not implemented by this S3 endpoint');
        }
        await storage.createBucket(request.bucket, 'bucket');
        request.res.setHeader('Location', `/${request.bucket}`);
        sendEmpty(request.res, 200);
      },
    },
    DeleteBucket: {
      action: 'buckets:DeleteBucket',
      async run({ bucket, res }) {
        await storage.deleteBucket(bucket, false, 'bucket');
        sendEmpty(res, 204);
      },
    },
    // GraphQL's `bucket(name)` query is what HeadBucket and GetBucketLocation ask: the same action
    HeadBucket: {
      action: 'buckets:ListBuckets',
      async run({ bucket, res }) {
        await requireBucket(storage, bucket);
        res.setHeader('x-amz-bucket-region', region);
        sendEmpty(res, 200);
      },
    },
    GetBucketLocation: {
      action: 'buckets:ListBuckets',
      async run({ bucket, res }) {
        await requireBucket(storage, bucket);
        sendXml(res, 200, 'LocationConstraint', { '#text': locationConstraintOf(region) });
      },
    },
  };
}
