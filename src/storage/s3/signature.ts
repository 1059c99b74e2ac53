// Signature Version 4 verification, in the Authorization header or in the query string (presigned
// URLs). The expected signature is computed by the AWS SDK's own signer (@smithy/signature-v4) from
// the request as received: the raw path exactly as sent (S3 paths are not normalised), the signed
// headers only, the query parameters. Signature Version 2 is refused.
import crypto from 'node:crypto';
import type http from 'node:http';
import { Hash } from '@smithy/hash-node';
import { getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import type { LookupS3Credentials, Principal } from '../../platform/authorization.js';
import { accessDenied, S3Error } from './errors.js';

/** How far a request's date may be from our clock (S3: 15 minutes). */
const MAX_SKEW_MS = 15 * 60_000;
/** A presigned URL lives at most a week, as S3's. */
const MAX_PRESIGN_SECONDS = 604_800;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** A request whose signature checked out, and what its body's chunk signatures chain from. */
export interface Authenticated {
  principal: Principal;
  /** `x-amz-content-sha256` (header auth), or UNSIGNED-PAYLOAD for a presigned URL */
  contentSha256: string;
  /** signs a chunk's or trailer's string to sign with this request's signing key */
  chunkSigner: ChunkSigner;
}

export interface ChunkSigner {
  /** the request's own signature: the first chunk's "previous signature" */
  seedSignature: string;
  /** `AWS4-HMAC-SHA256-PAYLOAD` (or `-TRAILER`) string to sign: date, scope, previous signature, hashes */
  sign(algorithm: string, previousSignature: string, ...hashes: string[]): Promise<string>;
}

interface SignatureParts {
  accessKeyId: string;
  shortDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  longDate: string;
  /** presigned: X-Amz-Expires */
  expiresSeconds: number | null;
  securityToken: string | undefined;
}

const LONG_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseLongDate(value: string | undefined): Date | null {
  const m = value ? LONG_DATE.exec(value) : null;
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The raw query string's parameters, each name and value percent-decoded once (arrays for repeats). */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    const before = query[name];
    query[name] = before === undefined ? value : Array.isArray(before) ? [...before, value] : [before, value];
  }
  return query;
}

function decodeComponent(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error('InvalidArgument', 400, 'the query string is not valid percent-encoding');
  }
}

/** One request header as a string (the first, should a client repeat it). */
export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const malformed = (message: string) => new S3Error('AuthorizationHeaderMalformed', 400, message);
const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Whether a request carries any AWS authentication (SigV4 or V2, header or query). */
export function carriesAwsAuth(authorization: string | undefined, rawQuery: string): boolean {
  if (authorization && (authorization.startsWith('AWS4-') || authorization.startsWith('AWS '))) return true;
  // names no other route's query would use by chance (a webhook's "?Signature=" stays its own)
  return /(?:^|&)(?:X-Amz-Algorithm|X-Amz-Signature|X-Amz-Credential|AWSAccessKeyId)=/.test(rawQuery);
}

function parseCredential(credential: string): Pick<SignatureParts, 'accessKeyId' | 'shortDate' | 'region' | 'service'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw malformed('The authorization credential is malformed; expected "<access key id>/<YYYYMMDD>/<region>/s3/aws4_request"');
  }
  if (parts[3] !== 's3') throw malformed(`The authorization credential's service is "${parts[3]}"; expected "s3"`);
  return { accessKeyId: parts[0]!, shortDate: parts[1]!, region: parts[2]!, service: parts[3]! };
}

function headerParts(header: string, req: http.IncomingMessage): SignatureParts {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header);
  if (!m) throw new S3Error('InvalidArgument', 400, 'Unsupported Authorization Type: only AWS4-HMAC-SHA256 is accepted');
  const fields: Record<string, string> = {};
  for (const part of m[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (!fields.Credential || !fields.SignedHeaders || !fields.Signature) {
    throw malformed('The authorization header is malformed; it needs Credential, SignedHeaders and Signature');
  }
  const date = headerValue(req, 'x-amz-date');
  return {
    ...parseCredential(fields.Credential),
    signedHeaders: fields.SignedHeaders.split(';'),
    signature: fields.Signature,
    longDate: typeof date === 'string' ? date : '',
    expiresSeconds: null,
    securityToken: headerValue(req, 'x-amz-security-token'),
  };
}

function queryParts(query: Record<string, string | string[]>): SignatureParts {
  if (single(query['X-Amz-Algorithm']) !== 'AWS4-HMAC-SHA256') {
    throw new S3Error('InvalidArgument', 400, 'X-Amz-Algorithm must be AWS4-HMAC-SHA256');
  }
  const credential = single(query['X-Amz-Credential']);
  const signedHeaders = single(query['X-Amz-SignedHeaders']);
  const signature = single(query['X-Amz-Signature']);
  const expires = single(query['X-Amz-Expires']);
  if (!credential || !signedHeaders || !signature || !expires) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      400,
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_PRESIGN_SECONDS) {
    throw new S3Error('AuthorizationQueryParametersError', 400, `X-Amz-Expires must be 1 to ${MAX_PRESIGN_SECONDS} seconds (a week)`);
  }
  return {
    ...parseCredential(credential),
    signedHeaders: signedHeaders.split(';'),
    signature,
    longDate: single(query['X-Amz-Date']) ?? '',
    expiresSeconds: Number(expires),
    securityToken: single(query['X-Amz-Security-Token']),
  };
}

/**
 * The AWS SDK's signer, with the two steps S3 verification needs in the open: the signature of a
 * canonical request built from what was received, and of a chunk's string to sign.
 */
class Verifier extends SignatureV4 {
  constructor(accessKeyId: string, secretAccessKey: string, region: string) {
    // uriEscapePath false: S3's canonical URI is the path as sent, neither normalised nor encoded twice
    super({
      credentials: { accessKeyId, secretAccessKey },
      region,
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  async requestSignature(request: HttpRequest, signedHeaders: string[], payloadHash: string, date: Date, scope: string): Promise<string> {
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signedHeaders));
    const canonical = this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
    const { longDate } = this.formatDate(date);
    return this.sign(await this.createStringToSign(longDate, scope, canonical, 'AWS4-HMAC-SHA256'), { signingDate: date });
  }
}

const sha256Hex = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

const sameSignature = (a: string, b: string) => a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Authenticates a SigV4 request (header or presigned query): InvalidAccessKeyId for an unknown or
 * revoked key id, SignatureDoesNotMatch for a wrong signature, AccessDenied for an expired URL,
 * RequestTimeTooSkewed for a header-signed request whose date is off by more than 15 minutes.
 */
export async function authenticate(
  req: http.IncomingMessage,
  rawPath: string,
  query: Record<string, string | string[]>,
  lookup: LookupS3Credentials,
  now = new Date(),
): Promise<Authenticated> {
  const header = req.headers.authorization;
  if (header?.startsWith('AWS ') || query.AWSAccessKeyId !== undefined) {
    throw accessDenied('Signature Version 2 is not supported; use Signature Version 4');
  }
  const presigned = header === undefined && query['X-Amz-Algorithm'] !== undefined;
  if (header === undefined && !presigned) throw accessDenied('Anonymous requests are not allowed: sign requests with Signature Version 4');
  const parts = presigned ? queryParts(query) : headerParts(header!, req);
  if (!parts.signedHeaders.includes('host')) throw malformed('SignedHeaders must include host');
  const date = parseLongDate(parts.longDate);
  if (!date) {
    throw new S3Error(
      'AccessDenied',
      403,
      presigned ? 'X-Amz-Date must be in the ISO8601 basic format' : 'AWS authentication requires a valid x-amz-date header',
    );
  }
  if (parts.longDate.slice(0, 8) !== parts.shortDate) throw malformed("The credential's date is not the request's date (x-amz-date)");
  if (presigned) {
    if (date.getTime() - now.getTime() > MAX_SKEW_MS) throw accessDenied('Request is not valid yet');
    if (date.getTime() + parts.expiresSeconds! * 1000 < now.getTime()) throw accessDenied('Request has expired');
  } else if (Math.abs(date.getTime() - now.getTime()) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', {
      RequestTime: parts.longDate,
      ServerTime: now.toISOString(),
    });
  }
  if (parts.securityToken !== undefined) {
    // short-lived credentials (execution roles) come later: no token is valid yet
    throw new S3Error('InvalidToken', 400, 'The provided token is malformed or otherwise invalid.');
  }
  const credentials = await lookup(parts.accessKeyId);
  if (!credentials) {
    throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: parts.accessKeyId,
    });
  }

  const contentSha256 = presigned ? UNSIGNED_PAYLOAD : headerValue(req, 'x-amz-content-sha256');
  if (contentSha256 === undefined)
    throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');
  const headers: Record<string, string> = {};
  for (const name of parts.signedHeaders) {
    const value = req.headers[name];
    headers[name] = Array.isArray(value) ? value.join(',') : (value ?? '');
  }
  const signedQuery = { ...query };
  delete signedQuery['X-Amz-Signature'];
  const request: HttpRequest = { method: req.method!, protocol: 'http:', hostname: '', path: rawPath, query: signedQuery, headers };
  const verifier = new Verifier(parts.accessKeyId, credentials.secretAccessKey, parts.region);
  const scope = `${parts.shortDate}/${parts.region}/s3/aws4_request`;
  const expected = await verifier.requestSignature(request, parts.signedHeaders, contentSha256, date, scope);
  if (!sameSignature(expected, parts.signature)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        AWSAccessKeyId: parts.accessKeyId,
      },
    );
  }
  return {
    principal: credentials.principal,
    contentSha256,
    chunkSigner: chunkSigner(verifier, parts.longDate, scope, date, parts.signature),
  };
}

function chunkSigner(verifier: Verifier, longDate: string, scope: string, date: Date, seedSignature: string): ChunkSigner {
  return {
    seedSignature,
    sign: (algorithm, previous, ...hashes) =>
      verifier.sign([algorithm, longDate, scope, previous, ...hashes].join('\n'), { signingDate: date }),
  };
}

/** The chunk signer of a request signed at `longDate` with these credentials (tests use AWS's published examples). */
export function chunkSignerFor(
  credentials: { accessKeyId: string; secretAccessKey: string },
  region: string,
  longDate: string,
  seedSignature: string,
): ChunkSigner {
  const date = parseLongDate(longDate);
  if (!date) throw new Error(`not a SigV4 date: ${longDate}`);
  const verifier = new Verifier(credentials.accessKeyId, credentials.secretAccessKey, region);
  return chunkSigner(verifier, longDate, `${longDate.slice(0, 8)}/${region}/s3/aws4_request`, date, seedSignature);
}

export { sha256Hex, sameSignature };
