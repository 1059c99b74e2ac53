// Where an upload's bytes are hashed and written: a small pool of threads (digest-worker.js). A
// large upload's bytes go to one thread in batches (moved, not copied); the thread feeds every
// digest the upload needs (the ETag's MD5, SigV4's SHA-256, a declared checksum) from the same batch
// and appends it to the file. The event loop only receives and batches bytes: before, it hashed each
// byte two or three times itself, which capped a 2-core machine's uploads at a fraction of its disk.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from './digest-algorithms.js';
import type { ObjectChecksum } from './tables.js';

export type { DigestAlgorithm } from './digest-algorithms.js';
export { startDigests } from './digest-algorithms.js';
export type Digests = Partial<Record<DigestAlgorithm, Buffer>>;

/**
 * What a writer checks of a body once all of it is in: the digests it needs besides the ETag's MD5,
 * and what it makes of them: the checksum to store with the object, or a throw that refuses the body.
 */
export interface BodyCheck {
  digests: readonly DigestAlgorithm[];
  verify(digests: Digests): ObjectChecksum | null;
}

/** Batches handed to a thread and not yet on the file, per upload: bounds the memory one upload holds. */
const MAX_BATCHES_IN_FLIGHT = 2;
/**
 * Batch buffers go to a thread and come back once written, to be filled again: a new buffer per
 * batch would leave the thread's heap holding every one of them until its next garbage collection
 * (a 64 MiB upload added 120 MB to the server's memory). A larger batch gets a buffer of its own.
 */
const BATCH_BUFFER_BYTES = 2 * 1024 * 1024;
const MAX_FREE_BUFFERS = 8;

interface Pending {
  inFlight: number;
  /** resolves a write() waiting for room */
  room: (() => void) | null;
  ended: { resolve: (d: Digests) => void; reject: (err: Error) => void } | null;
  /** a thread that died answers no more: every later call fails with this */
  failed: Error | null;
}

interface Thread {
  worker: Worker;
  uploads: Map<number, Pending>;
}

/** One upload's bytes on their way to a pool thread: write() its batches in order, then end(). */
export interface PooledUpload {
  /** hands a copy of `chunks` (`length` bytes in all) over; resolves when the upload has room for another batch */
  write(chunks: readonly Buffer[], length: number): Promise<void>;
  /** every batch is on the file: the digests of all of them (rejects with the thread's write error) */
  end(): Promise<Digests>;
}

export class DigestPool {
  private readonly threads: Thread[] = [];
  private readonly freeBuffers: ArrayBuffer[] = [];
  private nextId = 1;

  constructor(private readonly size = Math.max(2, Math.min(4, os.availableParallelism()))) {}

  /** An upload whose batches are hashed with `algorithms` and appended to the open file `fd`. */
  open(fd: number, algorithms: readonly DigestAlgorithm[]): PooledUpload {
    const thread = this.leastBusy();
    const id = this.nextId++;
    const pending: Pending = { inFlight: 0, room: null, ended: null, failed: null };
    // a thread with uploads keeps the process alive (their callers await its answers); an idle one does not
    if (thread.uploads.size === 0) thread.worker.ref();
    thread.uploads.set(id, pending);
    thread.worker.postMessage({ op: 'start', id, fd, algorithms });
    return {
      write: async (chunks, length) => {
        if (pending.failed) throw pending.failed;
        const data = this.batchBuffer(length);
        let at = 0;
        for (const chunk of chunks) at += chunk.copy(data, at);
        pending.inFlight++;
        thread.worker.postMessage({ op: 'write', id, data: data.buffer, length }, [data.buffer as ArrayBuffer]);
        if (pending.inFlight >= MAX_BATCHES_IN_FLIGHT) await new Promise<void>((resolve) => (pending.room = resolve));
        if (pending.failed) throw pending.failed;
      },
      end: () =>
        new Promise<Digests>((resolve, reject) => {
          if (pending.failed) return reject(pending.failed);
          pending.ended = { resolve, reject };
          thread.worker.postMessage({ op: 'end', id });
        }),
    };
  }

  /** Starts one thread now, so that the first large upload does not wait for it; more start as uploads overlap. */
  start(): void {
    if (this.threads.length === 0) this.spawn();
  }

  /** Stops the threads (the server's shutdown): uploads still under way fail. */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private batchBuffer(length: number): Buffer {
    if (length > BATCH_BUFFER_BYTES) return Buffer.allocUnsafeSlow(length);
    return Buffer.from(this.freeBuffers.pop() ?? new ArrayBuffer(BATCH_BUFFER_BYTES), 0, length);
  }

  private leastBusy(): Thread {
    const idle = this.threads.reduce<Thread | null>((best, t) => (best === null || t.uploads.size < best.uploads.size ? t : best), null);
    if (idle && (idle.uploads.size === 0 || this.threads.length >= this.size)) return idle;
    return this.spawn();
  }

  private spawn(): Thread {
    // plain JavaScript: no loader (tsx, a test runner's) in the thread, whose memory would be the server's
    const worker = new Worker(new URL('./digest-worker.js', import.meta.url), { execArgv: [] });
    worker.unref();
    const thread: Thread = { worker, uploads: new Map() };
    this.threads.push(thread);
    worker.on(
      'message',
      (message: {
        id: number;
        op: string;
        data?: ArrayBuffer;
        digests?: Record<string, Uint8Array>;
        error?: { message: string; code?: string };
      }) => {
        // a written batch's buffer, back to be filled again
        if (message.data?.byteLength === BATCH_BUFFER_BYTES && this.freeBuffers.length < MAX_FREE_BUFFERS)
          this.freeBuffers.push(message.data);
        const pending = thread.uploads.get(message.id);
        if (!pending) return;
        if (message.op === 'written') {
          pending.inFlight--;
          const room = pending.room;
          pending.room = null;
          room?.();
        } else {
          thread.uploads.delete(message.id);
          if (message.op === 'digests') {
            const digests: Digests = {};
            for (const [name, bytes] of Object.entries(message.digests ?? {}))
              digests[name as DigestAlgorithm] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            pending.ended?.resolve(digests);
          } else {
            pending.ended?.reject(Object.assign(new Error(message.error?.message), { code: message.error?.code }));
          }
        }
      },
    );
    const lost = (err: Error) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      for (const pending of thread.uploads.values()) {
        pending.failed = err;
        pending.room?.();
        pending.ended?.reject(err);
      }
      thread.uploads.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`a digest thread exited (${code})`)));
    return thread;
  }
}
