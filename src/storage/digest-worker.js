// A thread of the digest pool (digests.ts): for each upload it is given, it feeds every batch of
// bytes to all the digests the upload needs and writes the batch to the upload's open file, so the
// server's event loop neither hashes nor writes an upload's bytes. A batch's write runs on libuv's
// threads while this thread hashes the same bytes (neither changes them): a batch costs the longer
// of the two, not their sum. Every WRITEBACK_BYTES written, the file's pages are flushed in the
// background (fdatasync, one at a time) so that the upload's final fsync finds little left to write
// instead of the whole object. Messages of one upload are handled in order; its `end` is answered
// once all its batches are on the file. Plain JavaScript: a worker is loaded by Node itself, under
// tsx, vitest and the built server alike.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { startDigests } from './digest-algorithms.js';

const WRITEBACK_BYTES = 32 * 1024 * 1024;

/**
 * @typedef {{
 *   fd: number,
 *   digests: ReturnType<typeof startDigests>,
 *   failed: { message: string, code?: string } | null,
 *   offset: number,
 *   writing: number,
 *   unflushed: number,
 *   flushing: boolean,
 *   ending: (() => void) | null,
 * }} Upload
 */

/** @type {Map<number, Upload>} */
const uploads = new Map();

/** @param {Upload} upload @param {unknown} err */
function fail(upload, err) {
  const { message: text, code } = /** @type {NodeJS.ErrnoException} */ (err);
  upload.failed ??= { message: text, code };
}

/** Writes `data` at `position` (a write may be short, e.g. a disk filling up). @param {number} fd @param {Buffer} data @param {number} position @param {(err: Error | null) => void} done */
function writeAll(fd, data, position, done) {
  fs.write(fd, data, 0, data.length, position, (err, n) => {
    if (err) return done(err);
    if (n === 0) return done(new Error('the disk accepted no more bytes'));
    if (n < data.length) return writeAll(fd, data.subarray(n), position + n, done);
    done(null);
  });
}

/** Starts the background flush of what was written since the last one, unless one is under way. @param {Upload} upload */
function flushInBackground(upload) {
  if (upload.flushing || upload.unflushed < WRITEBACK_BYTES) return;
  upload.flushing = true;
  upload.unflushed = 0;
  fs.fdatasync(upload.fd, (err) => {
    upload.flushing = false;
    if (err) fail(upload, err);
    settled(upload);
  });
}

/** An upload's `end` waits until no write or flush of it is under way. @param {Upload} upload */
function settled(upload) {
  if (upload.writing === 0 && !upload.flushing && upload.ending) upload.ending();
}

parentPort?.on('message', (/** @type {any} */ message) => {
  const { id } = message;
  if (message.op === 'start') {
    uploads.set(id, {
      fd: message.fd,
      digests: startDigests(message.algorithms),
      failed: null,
      offset: 0,
      writing: 0,
      unflushed: 0,
      flushing: false,
      ending: null,
    });
    return;
  }
  const upload = uploads.get(id);
  /** the buffer goes back to be filled with a later batch */
  const giveBack = () => parentPort?.postMessage({ id, op: 'written', data: message.data }, [message.data]);
  if (!upload) {
    if (message.op === 'write') giveBack();
    return;
  }
  if (message.op === 'write') {
    // after a failure the rest is dropped: the error is the upload's answer at its end
    if (upload.failed) return giveBack();
    const data = Buffer.from(message.data, 0, message.length);
    const position = upload.offset;
    upload.offset += data.length;
    upload.writing++;
    let hashed = false;
    let written = false;
    const done = () => {
      if (!hashed || !written) return;
      upload.writing--;
      upload.unflushed += data.length;
      giveBack();
      if (!upload.failed) flushInBackground(upload);
      settled(upload);
    };
    writeAll(upload.fd, data, position, (err) => {
      if (err) fail(upload, err);
      written = true;
      done();
    });
    try {
      upload.digests.update(data);
    } catch (err) {
      fail(upload, err);
    }
    hashed = true;
    done();
  } else if (message.op === 'end') {
    upload.ending = () => {
      upload.ending = null;
      uploads.delete(id);
      if (upload.failed) parentPort?.postMessage({ id, op: 'failed', error: upload.failed });
      else parentPort?.postMessage({ id, op: 'digests', digests: upload.digests.digest() });
    };
    settled(upload);
  }
});
