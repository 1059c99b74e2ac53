// The clients' own ceiling for figure 14: an S3 "server" that checks nothing and stores nothing. It
// answers just enough of S3 for `aws s3 cp` and boto3's upload_file/download_file of one object
// (multipart create/part/complete, head, ranged GET) and throws uploaded bytes away; downloads are
// served from one buffer in memory. A transfer with it measures the client and the loopback alone:
// whatever the client reaches here bounds what any real endpoint can reach on this machine.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PATTERN_BYTES = 1024 * 1024;
const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;

export async function startS3Sink(objectBytes: number): Promise<{ url: string; close: () => Promise<void> }> {
  const pattern = crypto.randomBytes(PATTERN_BYTES);
  const etag = '"00000000000000000000000000000000"';
  const lastModified = new Date().toUTCString();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = rest.join('/');
    const answer = (status: number, headers: Record<string, string>, body = '') => {
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        answer(
          200,
          { 'content-type': 'application/xml' },
          xml(
            `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>sink</UploadId></InitiateMultipartUploadResult>`,
          ),
        );
      } else if (req.method === 'POST') {
        answer(
          200,
          { 'content-type': 'application/xml' },
          xml(
            `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>${etag}</ETag></CompleteMultipartUploadResult>`,
          ),
        );
      } else if (req.method === 'PUT') {
        answer(200, { etag });
      } else if (req.method === 'HEAD' || req.method === 'GET') {
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        const end = m && m[2] !== '' ? Math.min(Number(m[2]), objectBytes - 1) : objectBytes - 1;
        const headers = {
          etag,
          'last-modified': lastModified,
          'accept-ranges': 'bytes',
          'content-type': 'application/octet-stream',
          'content-length': String(end - start + 1),
          ...(m ? { 'content-range': `bytes ${start}-${end}/${objectBytes}` } : {}),
        };
        res.writeHead(m ? 206 : 200, headers);
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        let at = start;
        const more = () => {
          while (at <= end) {
            const n = Math.min(end + 1 - at, PATTERN_BYTES);
            at += n;
            if (!res.write(n === PATTERN_BYTES ? pattern : pattern.subarray(0, n))) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        more();
      } else {
        answer(204, {});
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
