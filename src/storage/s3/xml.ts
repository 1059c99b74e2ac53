// S3's XML: responses built with fast-xml-parser's XMLBuilder, request bodies (CreateBucketConfiguration,
// DeleteObjects, CompleteMultipartUpload) parsed with its XMLParser after a size cap.
import type http from 'node:http';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** request bodies that are XML documents are small: anything larger is refused before parsing */
const XML_BODY_MAX_BYTES = 1024 * 1024;

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });

/** `<?xml …?><root xmlns=…>…</root>` of a plain object (arrays repeat their element); S3's <Error> has no namespace. */
export function xmlDocument(root: string, body: Record<string, unknown>, namespaced = true): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: namespaced ? { '@_xmlns': S3_XMLNS, ...body } : body })}`;
}

export function sendXml(res: http.ServerResponse, status: number, root: string, body: Record<string, unknown>): void {
  const text = xmlDocument(root, body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Reads a request body of at most `XML_BODY_MAX_BYTES` (already decoded from any aws-chunked framing). */
export async function readSmallBody(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > XML_BODY_MAX_BYTES)
      throw new S3Error('MaxMessageLengthExceeded', 400, `XML request bodies are limited to ${XML_BODY_MAX_BYTES} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, processEntities: false });
// deeper than any S3 request document: refused before the parser recurses into it
const MAX_DEPTH = 16;

/** A parsed XML request body (MalformedXML when it is not well-formed or nested absurdly deep). */
export function parseXml(text: Buffer): Record<string, unknown> {
  const source = text.toString('utf8');
  let depth = 0;
  let max = 0;
  for (const m of source.matchAll(/<(\/?)[A-Za-z_]|\/>/g)) {
    if (m[0] === '/>') depth--;
    else if (m[1] === '/') depth--;
    else max = Math.max(max, ++depth);
    if (max > MAX_DEPTH)
      throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  if (XMLValidator.validate(source) !== true) {
    throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  return parser.parse(source) as Record<string, unknown>;
}

/** The S3 error document (none for HEAD, as S3). */
export function sendS3Error(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  error: S3Error,
  requestId: string,
  resource: string,
): void {
  res.statusCode = error.status;
  res.setHeader('x-amz-request-id', requestId);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const text = xmlDocument(
    'Error',
    { Code: error.code, Message: error.message, ...error.extra, Resource: resource, RequestId: requestId },
    false,
  );
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
