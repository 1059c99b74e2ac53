// Small-object PUT/GET load on an S3 endpoint with the AWS SDK for JavaScript v3, in a process of its
// own (the client must not share the server's event loop). argv[2]: JSON { endpoint, accessKeyId,
// secretAccessKey, bucket, concurrency, objects, size }. `concurrency` loops each PUT (then GET) their
// share of `objects` keys one at a time; prints one JSON line { put, get } with each phase's rate and
// latency percentiles. Every GET's body is checked against what was PUT.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import http from 'node:http';

const cfg = JSON.parse(process.argv[2]);
const client = new S3Client({
  endpoint: cfg.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
  // the SDK's own handler, given its options: one keep-alive connection per loop
  requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency }) },
});
const body = Buffer.alloc(cfg.size, 'x');
const keys = Array.from({ length: cfg.objects }, (_, i) => `small/${i % cfg.concurrency}/${i}`);

/** @param {'put' | 'get'} op */
async function phase(op) {
  /** @type {number[]} */
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: cfg.concurrency }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const start = performance.now();
        if (op === 'put') {
          await client.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: key, Body: body }));
        } else {
          const res = await client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: key }));
          const got = await res.Body?.transformToByteArray();
          if (!got) throw new Error(`GET ${key}: no body`);
          if (got.length !== body.length) throw new Error(`GET ${key}: ${got.length} bytes, expected ${body.length}`);
        }
        latencies.push(performance.now() - start);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (/** @type {number} */ p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { rate: keys.length / seconds, p50: at(50), p99: at(99), n: latencies.length };
}

// a first round opens the connections and warms the SDK, outside the figures
const warm = keys.slice(0, cfg.concurrency);
await Promise.all(warm.map((key) => client.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: key, Body: body }))));
const put = await phase('put');
const get = await phase('get');
process.stdout.write(`${JSON.stringify({ put, get })}\n`);
client.destroy();
