// DeleteObjects (POST /<bucket>?delete): the <Delete> document of up to 1000 keys, each deleted as
// DeleteObject does (its own event), and the DeleteResult with a <Deleted> or <Error> per key.
import type http from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import type { StorageService } from '../service.js';
import { S3Error } from './errors.js';
import type { OperationTable } from './operations.js';
import { decodeBody } from './payload.js';
import { parseXml, readSmallBody, sendXml } from './xml.js';

/** S3's limit of keys per request. */
export const DELETE_MAX_KEYS = 1000;

export interface DeleteRequest {
  keys: Array<{ key: string; versionId: string | null }>;
  quiet: boolean;
}

const malformed = (why: string) =>
  new S3Error('MalformedXML', 400, `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);

// the parser leaves entities alone (no DOCTYPE expansion): the predefined and numeric ones are
// all an S3 client writes; any other is refused
const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(amp|lt|gt|quot|apos));|&/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name) return NAMED[name]!;
    if (hex === undefined && dec === undefined)
      throw malformed('an entity other than &amp; &lt; &gt; &quot; &apos; or a character reference');
    const code = Number.parseInt(hex ?? dec!, hex ? 16 : 10);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw malformed(`${whole} is not a character`);
    return String.fromCodePoint(code);
  });
}

// parseXml (the endpoint's) validates the document and bounds its depth, but trims text: a key's
// own leading or trailing spaces would name another key. The keys are read again with this one.
const keepSpaces = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  processEntities: false,
  trimValues: false,
});

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** S3 requires an integrity check of the document: Content-MD5 or an x-amz-checksum-* (header or trailer). */
export function requireBodyChecksum(headers: http.IncomingHttpHeaders): void {
  const checksummed =
    headers['content-md5'] !== undefined ||
    headers['x-amz-trailer'] !== undefined ||
    Object.keys(headers).some(
      (name) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type' && name !== 'x-amz-checksum-mode',
    );
  if (!checksummed) {
    throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header)');
  }
}

/** The <Delete> document: 1 to 1000 <Object><Key>, optional <Quiet>. MalformedXML otherwise. */
export function parseDeleteRequest(body: Buffer): DeleteRequest {
  // S3's documents declare no entities of their own
  if (/<!DOCTYPE/i.test(body.toString('latin1'))) throw malformed('a document type declaration is not allowed');
  parseXml(body);
  const doc = keepSpaces.parse(body.toString('utf8')).Delete as Record<string, unknown> | undefined;
  if (doc === undefined || typeof doc !== 'object' || doc === null) throw malformed('the root element must be <Delete>');
  const objects = asList(doc.Object);
  if (objects.length === 0) throw malformed('no <Object> to delete');
  if (objects.length > DELETE_MAX_KEYS) throw malformed(`at most ${DELETE_MAX_KEYS} <Object> elements per request`);
  const keys = objects.map((object, i) => {
    const entry = object as Record<string, unknown> | string;
    const key = typeof entry === 'object' && entry !== null ? entry.Key : undefined;
    if (typeof key !== 'string') throw malformed(`<Object> ${i + 1} has no single <Key>`);
    const versionId = typeof entry === 'object' && typeof entry.VersionId === 'string' ? entry.VersionId.trim() : null;
    return { key: decodeEntities(key), versionId };
  });
  const quiet = typeof doc.Quiet === 'string' ? doc.Quiet.trim() : doc.Quiet;
  if (quiet !== undefined && quiet !== 'true' && quiet !== 'false') throw malformed('<Quiet> must be true or false');
  return { keys, quiet: quiet === 'true' };
}

/** Deletes the keys; the DeleteResult body (Quiet: errors only). */
export async function deleteObjects(storage: StorageService, bucket: string, request: DeleteRequest) {
  // buckets are not versioned: a version other than "null" names nothing
  const unversioned = request.keys.filter((k) => k.versionId === null || k.versionId === 'null').map((k) => k.key);
  const results = new Map((await storage.deleteMany(bucket, unversioned)).map((r) => [r.key, r]));
  const deleted: Array<{ Key: string }> = [];
  const errors: Array<{ Key: string; Code: string; Message: string }> = [];
  for (const { key, versionId } of request.keys) {
    const result = versionId === null || versionId === 'null' ? results.get(key) : undefined;
    if (result === undefined) {
      errors.push({ Key: key, Code: 'NoSuchVersion', Message: 'The specified version does not exist (buckets are not versioned here).' });
    } else if ('error' in result) {
      errors.push({ Key: key, Code: 'InvalidArgument', Message: `The key ${result.error.message}` });
    } else if (!request.quiet) deleted.push({ Key: key });
  }
  return { Deleted: deleted, Error: errors };
}

export function deleteManyOperations(storage: StorageService): Pick<OperationTable, 'DeleteObjects'> {
  return {
    DeleteObjects: {
      action: 'buckets:DeleteObject',
      async run({ req, res, bucket, auth }) {
        requireBodyChecksum(req.headers);
        // read whole (capped) and verified (Content-MD5, checksums, payload hash) before a key goes
        const request = parseDeleteRequest(await readSmallBody(decodeBody(req, auth).body));
        sendXml(res, 200, 'DeleteResult', await deleteObjects(storage, bucket, request));
      },
    },
  };
}
