// A thread of the digest pool (digests.ts): for each upload it is given, it feeds every batch of
// bytes to all the digests the upload needs and writes the batch to the upload's open file, so the
// server's event loop neither hashes nor writes an upload's bytes. Writes run on libuv's threads
// while this thread hashes (neither changes the bytes): a batch costs the longer of the two, not
// their sum. An upload has one write in flight at a time, a writev of every batch waiting for it:
// buffered writes to one file take its inode lock in the kernel one at a time anyway, and a second
// write in flight would only hold another libuv thread waiting for that lock. Every
// WRITEBACK_BYTES written, the file's pages are flushed in the background (fdatasync, one at a
// time) so that the upload's final fsync finds little left to write instead of the whole object.
// Messages of one upload are handled in order; its `end` is answered once all its batches are on
// the file. Plain JavaScript: a worker is loaded by Node itself, under tsx, vitest and the built
// server alike.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { startDigests } from './digest-algorithms.js';

const WRITEBACK_BYTES = 32 * 1024 * 1024;

/**
 * A batch on its way to the file: its buffer goes back to the event loop, to be filled again, once it
 * is both hashed and written.
 * @typedef {{ data: Buffer, buffer: ArrayBuffer, hashed: boolean, written: boolean }} Batch
 */

/**
 * @typedef {{
 *   id: number,
 *   fd: number,
 *   digests: ReturnType<typeof startDigests>,
 *   failed: { message: string, code?: string } | null,
 *   offset: number,
 *   waiting: Batch[],
 *   writing: boolean,
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

/** @param {number} id @param {ArrayBuffer} buffer the buffer goes back to be filled with a later batch */
function giveBack(id, buffer) {
  parentPort?.postMessage({ id, op: 'written', data: buffer }, [buffer]);
}

/** @param {Upload} upload @param {Batch} batch */
function batchDone(upload, batch) {
  if (batch.hashed && batch.written) giveBack(upload.id, batch.buffer);
}

/**
 * writev until every byte of `buffers` is on the file at `position` (a write may be short, e.g. a
 * disk filling up).
 * @param {number} fd @param {Buffer[]} buffers @param {number} position @param {(err: Error | null) => void} done
 */
function writeAll(fd, buffers, position, done) {
  fs.writev(fd, buffers, position, (err, n) => {
    if (err) return done(err);
    if (n === 0) return done(new Error('the disk accepted no more bytes'));
    let rest = buffers;
    let skip = n;
    while (rest.length && skip >= rest[0].length) {
      skip -= rest[0].length;
      rest = rest.slice(1);
    }
    if (rest.length === 0) return done(null);
    writeAll(fd, [rest[0].subarray(skip), ...rest.slice(1)], position + n, done);
  });
}

/** Starts a writev of every waiting batch, unless one is under way. @param {Upload} upload */
function writeWaiting(upload) {
  if (upload.writing || upload.waiting.length === 0) return;
  const batches = upload.waiting;
  upload.waiting = [];
  // after a failure the rest is dropped: the error is the upload's answer at its end
  if (upload.failed) {
    for (const batch of batches) {
      batch.written = true;
      batchDone(upload, batch);
    }
    return settled(upload);
  }
  const buffers = batches.map((b) => b.data);
  const bytes = buffers.reduce((n, b) => n + b.length, 0);
  const position = upload.offset;
  upload.offset += bytes;
  upload.writing = true;
  writeAll(upload.fd, buffers, position, (err) => {
    upload.writing = false;
    if (err) fail(upload, err);
    upload.unflushed += bytes;
    for (const batch of batches) {
      batch.written = true;
      batchDone(upload, batch);
    }
    if (!upload.failed) flushInBackground(upload);
    writeWaiting(upload);
    settled(upload);
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

/** An upload's `end` waits until no write or flush of it is under way or waiting. @param {Upload} upload */
function settled(upload) {
  if (!upload.writing && upload.waiting.length === 0 && !upload.flushing && upload.ending) upload.ending();
}

parentPort?.on('message', (/** @type {any} */ message) => {
  const { id } = message;
  if (message.op === 'start') {
    uploads.set(id, {
      id,
      fd: message.fd,
      digests: startDigests(message.algorithms),
      failed: null,
      offset: 0,
      waiting: [],
      writing: false,
      unflushed: 0,
      flushing: false,
      ending: null,
    });
    return;
  }
  const upload = uploads.get(id);
  if (message.op === 'write') {
    if (!upload || upload.failed) return giveBack(id, message.data);
    /** @type {Batch} */
    const batch = { data: Buffer.from(message.data, 0, message.length), buffer: message.data, hashed: false, written: false };
    // queued for the file first: the write runs while this thread hashes
    upload.waiting.push(batch);
    writeWaiting(upload);
    try {
      upload.digests.update(batch.data);
    } catch (err) {
      fail(upload, err);
    }
    batch.hashed = true;
    batchDone(upload, batch);
  } else if (message.op === 'end' && upload) {
    upload.ending = () => {
      upload.ending = null;
      uploads.delete(id);
      if (upload.failed) parentPort?.postMessage({ id, op: 'failed', error: upload.failed });
      else parentPort?.postMessage({ id, op: 'digests', digests: upload.digests.digest() });
    };
    settled(upload);
  }
});
