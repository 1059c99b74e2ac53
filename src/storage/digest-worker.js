// A thread of the digest pool (digests.ts): for each upload it is given, it feeds every batch of
// bytes to all the digests the upload needs and appends the batch to the upload's open file, so the
// server's event loop neither hashes nor writes an upload's bytes. Messages of one upload are handled
// in order; its `end` is answered once all its batches are on the file. Plain JavaScript: a worker is
// loaded by Node itself, under tsx, vitest and the built server alike.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { startDigests } from './digest-algorithms.js';

/** @type {Map<number, { fd: number, digests: ReturnType<typeof startDigests>, failed: { message: string, code?: string } | null }>} */
const uploads = new Map();

/** @param {number} fd @param {Buffer} data */
function writeAll(fd, data) {
  for (let at = 0; at < data.length; ) {
    const n = fs.writeSync(fd, data, at, data.length - at);
    if (n === 0) throw new Error('the disk accepted no more bytes');
    at += n;
  }
}

parentPort?.on('message', (/** @type {any} */ message) => {
  const { id } = message;
  if (message.op === 'start') {
    uploads.set(id, { fd: message.fd, digests: startDigests(message.algorithms), failed: null });
    return;
  }
  const upload = uploads.get(id);
  if (!upload) {
    if (message.op === 'write') parentPort?.postMessage({ id, op: 'written', data: message.data }, [message.data]);
    return;
  }
  if (message.op === 'write') {
    const data = Buffer.from(message.data, 0, message.length);
    // after a failed write the rest is dropped: the error is the upload's answer at its end
    if (!upload.failed) {
      try {
        upload.digests.update(data);
        writeAll(upload.fd, data);
      } catch (err) {
        const { message: text, code } = /** @type {NodeJS.ErrnoException} */ (err);
        upload.failed = { message: text, code };
      }
    }
    // the buffer goes back to be filled with a later batch
    parentPort?.postMessage({ id, op: 'written', data: message.data }, [message.data]);
  } else if (message.op === 'end') {
    uploads.delete(id);
    if (upload.failed) parentPort?.postMessage({ id, op: 'failed', error: upload.failed });
    else parentPort?.postMessage({ id, op: 'digests', digests: upload.digests.digest() });
  }
});
