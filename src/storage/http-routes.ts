import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { authorize, type Authenticate } from '../platform/authorization.js';
import { AppError, badInput } from '../platform/errors.js';
import type { StorageService } from './service.js';
import { s3Uri } from './s3-uri.js';
import type { OpenedObject } from './service.js';
import { httpStatusOf } from '../platform/server/errors.js';
import { evaluatePreconditions, parseRange, streamObject, TRANSFER_IDLE_MS } from './object-reads.js';

// HTTP routes for object bytes, streamed both ways (GraphQL carries only small inline objects):
//   PUT /objects/<bucket>/<key>   body → object (Content-Type header kept), 200 + ETag
//   GET|HEAD /objects/<bucket>/<key>   Content-Type, Content-Length, ETag, Last-Modified;
//       If-None-Match / If-Modified-Since → 304, If-Match / If-Unmodified-Since → 412; one Range (bytes=a-b, a-, -n) → 206
//   DELETE /objects/<bucket>/<key>   204, also when there was no such object (as S3)
// The key is everything after the bucket, percent-decoded once (so "%2F" is "/" and "%2e%2e" is
// ".." and refused like any other escape). Errors are JSON: { code, message, field? }.

const ACTIONS: Record<string, string> = {
  GET: 'buckets:GetObject',
  HEAD: 'buckets:GetObject',
  PUT: 'buckets:PutObject',
  DELETE: 'buckets:DeleteObject',
};

function decode(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badInput(field, 'is not valid percent-encoding');
  }
}

/** `/objects/<bucket>/<key>` from the raw URL (before any normalisation) */
function objectPath(originalUrl: string): { bucket: string; key: string } {
  const path = originalUrl.split('?')[0]!;
  const rest = path.slice('/objects/'.length);
  const slash = rest.indexOf('/');
  if (!path.startsWith('/objects/') || slash <= 0 || slash === rest.length - 1) {
    throw badInput('key', 'the path must be /objects/<bucket>/<key>');
  }
  return { bucket: decode(rest.slice(0, slash), 'bucket'), key: decode(rest.slice(slash + 1), 'key') };
}

export function objectRoutes(storage: StorageService, authenticate: Authenticate, log: Logger) {
  function sendError(req: Request, res: Response, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status: number;
    let body: { code: string; message: string; field?: string };
    if (err instanceof AppError) {
      status = httpStatusOf(err.code);
      body = { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
    } else {
      log.error({ err, requestId: (req as Request & { requestId?: string }).requestId }, 'object request failed');
      status = 500;
      body = { code: 'INTERNAL', message: 'Internal error' };
    }
    // an upload refused before its body was read: don't read gigabytes just to throw them away
    if (!req.complete) res.setHeader('Connection', 'close');
    if (req.method === 'HEAD') res.status(status).end();
    else res.status(status).json(body);
  }

  async function put(req: Request, res: Response, bucket: string, key: string): Promise<void> {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > storage.options.objectMaxBytes) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `objects are limited to ${storage.options.objectMaxBytes} bytes (OBJECT_MAX_BYTES); this one declares ${declared}`,
        'body',
      );
    }
    const row = await storage.put(bucket, key, req, {
      declaredBytes: declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null,
      contentType: req.headers['content-type'],
      fields: { bucket: 'bucket', key: 'key', contentType: 'Content-Type', body: 'body' },
    });
    res.setHeader('ETag', row.etag);
    res.status(200).json({
      bucket: row.bucket,
      key: row.key,
      uri: s3Uri(row.bucket, row.key),
      size: row.size,
      etag: row.etag,
      contentType: row.contentType,
      lastModified: row.updatedAt.toISOString(),
    });
  }

  async function get(req: Request, res: Response, opened: OpenedObject): Promise<void> {
    const { row, file, size } = opened;
    res.setHeader('ETag', row.etag);
    res.setHeader('Last-Modified', row.updatedAt.toUTCString());
    res.setHeader('Accept-Ranges', 'bytes');
    const precondition = evaluatePreconditions(req.headers, row);
    if (precondition !== 'proceed') {
      await file.close();
      if (precondition === 'not-modified') res.status(304).end();
      else
        res
          .status(412)
          .json({ code: 'BAD_USER_INPUT', field: 'If-Match', message: 'a precondition (If-Match, If-Unmodified-Since) failed' });
      return;
    }
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      await file.close();
      res.setHeader('Content-Range', `bytes */${size}`);
      res.status(416).json({ code: 'BAD_USER_INPUT', field: 'Range', message: `range not satisfiable for an object of ${size} bytes` });
      return;
    }
    res.setHeader('Content-Type', row.contentType);
    await streamObject(req, res, opened, range);
  }

  return async (req: Request, res: Response): Promise<void> => {
    let opened: OpenedObject | null = null;
    try {
      const action = ACTIONS[req.method];
      if (!action) {
        res.setHeader('Allow', 'GET, HEAD, PUT, DELETE');
        res.status(405).json({ code: 'BAD_USER_INPUT', message: `method ${req.method} is not allowed on objects` });
        return;
      }
      // the socket's inactivity timer: no bytes received (upload) or sent (download) for TRANSFER_IDLE_MS
      req.setTimeout(TRANSFER_IDLE_MS, () => req.destroy(new Error('idle timeout')));
      authorize(await authenticate(req.headers.authorization), action);
      const { bucket, key } = objectPath(req.originalUrl);
      if (req.method === 'PUT') return await put(req, res, bucket, key);
      if (req.method === 'DELETE') {
        await storage.deleteObject(bucket, key);
        res.status(204).end();
        return;
      }
      opened = await storage.open(bucket, key);
      const o = opened;
      opened = null; // get() owns the file from here
      await get(req, res, o);
    } catch (err) {
      await opened?.file.close().catch(() => {});
      // the client went away mid-transfer: nothing to answer
      if (req.destroyed && !(err instanceof AppError)) return;
      if ((err as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      sendError(req, res, err);
    }
  };
}
