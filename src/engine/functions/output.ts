// An instance's stdout and stderr go to files, not pipes: what a runtime wrote is in the page cache
// the moment its write returns, so a server killed with kill -9 loses none of it (a pipe's unread
// bytes, and the lines the server had read but not stored, die with the server). The server follows
// the files (inotify, and a read whenever an invocation ends, so a line written before the
// runtime's answer is in that invocation's log), and records in <name>.ack how far its lines are
// stored. A batch of lines is stored in a transaction; just before its commit, the .ack also gets
// the transaction's id and where the lines would then end: a server killed between the commit and
// its .ack's update leaves the question to the next, which asks Postgres whether that transaction
// committed (pg_xact_status), so the lines are stored once, not again. The keeper leaves <root>/output/ behind when its server dies; the next server to start
// stores what is past each .ack (recoverOutput) before it removes the dead root, as the node agent
// resends the step log batches a dead server never acknowledged. An instance's files go when it
// has ended and all of its lines are stored; while it runs, every PUNCH_BYTES of stored output are
// given back to the filesystem (a hole punched where they were: offsets don't move, so nothing
// races the runtime's appends), so a long-lived instance's files take no more disk than what is
// not stored yet.
//
// Files, root-only (0600 in a 0700 dir) — the runtime has only its write descriptors:
//   <root>/output/<name>.out  .err   what the runtime wrote
//   <root>/output/<name>.meta         the function id (written when the instance knows its function)
//   <root>/output/<name>.ack          "<out offset> <err offset>", stored up to there, and while a
//                                     batch commits "<transaction id> <out offset> <err offset>", where
//                                     its commit would leave them
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RuntimeLogLine } from './types.js';

type OutputStream = 'STDOUT' | 'STDERR';
const SUFFIX: Record<OutputStream, string> = { STDOUT: '.out', STDERR: '.err' };
/** a line longer than this is cut into lines of this size */
export const MAX_LINE = 256 * 1024;
const READ_BYTES = 256 * 1024;
const ACK_WIDTH = 112;
const PUNCH_BYTES = 16 << 20;

export const outputDirOf = (root: string) => path.join(root, 'output');

/** The names in a runtime root's output directory: none when a server never made it. */
export function outputNamesOf(root: string): string[] {
  try {
    return fs.readdirSync(outputDirOf(root));
  } catch {
    return [];
  }
}

const EMPTY = Buffer.alloc(0);
/**
 * The one buffer every file is read into (reads are synchronous and what they give is copied out
 * at once: Lines keeps a copy): an instance's files are read at the end of each invocation, and a
 * fresh buffer of this size per read is memory outside V8's heap whose churn makes V8 collect.
 */
const readBuf = Buffer.allocUnsafe(READ_BYTES);

/** Splits one file's bytes into lines as they come (on the newline byte, which no UTF-8 sequence contains). */
class Lines {
  private partial: Buffer = EMPTY;

  push(bytes: Buffer, emit: (text: string) => void): void {
    const buf = this.partial.length > 0 ? Buffer.concat([this.partial, bytes]) : bytes;
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(10, start)) >= 0) {
      emit(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    for (; buf.length - start > MAX_LINE; start += MAX_LINE) emit(buf.toString('utf8', start, start + MAX_LINE));
    // a copy: `bytes` may be a read buffer used again
    this.partial = start < buf.length ? Buffer.from(buf.subarray(start)) : EMPTY;
  }

  /** bytes of a line not yet ended */
  get pending(): number {
    return this.partial.length;
  }

  /** the last line, without its newline (the writer ended) */
  end(emit: (text: string) => void): void {
    if (this.partial.length > 0) emit(this.partial.toString('utf8'));
    this.partial = EMPTY;
  }
}

/** One file being followed: where the read stands, where the stored lines end. */
class Followed {
  readonly lines = new Lines();
  fd: number | null = null;
  /** bytes read */
  read = 0;
  /** bytes whose lines are stored */
  acked = 0;
  /** where the stored lines end once the committing transaction commits */
  committing = 0;
  /** bytes given back to the filesystem (a hole from the start) */
  punched = 0;
}

export class InstanceOutput {
  private readonly files: Record<OutputStream, Followed> = { STDOUT: new Followed(), STDERR: new Followed() };
  private watchers: fs.FSWatcher[] = [];
  private ackFd: number | null = null;
  /** the transaction storing lines of this output, until they are acknowledged */
  private committingId: string | null = null;
  private onLines: ((lines: RuntimeLogLine[]) => void) | null = null;
  private ended = false;
  private removed = false;

  constructor(
    private readonly dir: string,
    readonly name: string,
  ) {}

  private file(suffix: string): string {
    return path.join(this.dir, `${this.name}${suffix}`);
  }

  /** Creates the files; returns the write descriptors for the runtime (the caller closes them once spawned). */
  create(): { out: number; err: number } {
    const open = (suffix: string) =>
      fs.openSync(this.file(suffix), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
    this.ackFd = fs.openSync(this.file('.ack'), 'w', 0o600);
    return { out: open('.out'), err: open('.err') };
  }

  /** The function the output belongs to (a spare learns it at its claim). */
  belongsTo(functionId: string): void {
    fs.writeFileSync(this.file('.meta'), functionId, { mode: 0o600 });
  }

  /** Follows both files: complete lines go to `onLines` as they are written. */
  follow(onLines: (lines: RuntimeLogLine[]) => void): void {
    this.onLines = onLines;
    for (const stream of ['STDOUT', 'STDERR'] as const) {
      this.files[stream].fd = fs.openSync(this.file(SUFFIX[stream]), 'r');
      const watcher = fs.watch(this.file(SUFFIX[stream]), { persistent: false }, () => this.readAll(stream));
      watcher.on('error', () => {});
      this.watchers.push(watcher);
    }
  }

  /** Reads what was written so far (an invocation ends: its lines come first). */
  drain(): void {
    this.readAll('STDOUT');
    this.readAll('STDERR');
  }

  private readAll(stream: OutputStream): void {
    const f = this.files[stream];
    if (f.fd === null) return;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(f.fd, readBuf, 0, readBuf.length, f.read);
      } catch {
        return;
      }
      if (n === 0) return;
      this.emit(stream, readBuf.subarray(0, n), false);
      if (n < readBuf.length) return;
    }
  }

  private emit(stream: OutputStream, bytes: Buffer, last: boolean): void {
    const f = this.files[stream];
    const out: RuntimeLogLine[] = [];
    const at = new Date();
    const add = (text: string) => out.push({ at, stream, text });
    f.lines.push(bytes, add);
    f.read += bytes.length;
    if (last) f.lines.end(add);
    // the stored lines end where the last complete line ends (a partial line is read again after a crash)
    const end = f.read - f.lines.pending;
    if (out.length === 0) return;
    const final = out[out.length - 1]!;
    final.committing = (transactionId) => this.committing(stream, end, transactionId);
    final.stored = () => this.acknowledge(stream, end);
    this.onLines?.(out);
  }

  private committing(stream: OutputStream, end: number, transactionId: string): void {
    if (transactionId !== this.committingId) {
      this.committingId = transactionId;
      for (const f of Object.values(this.files)) f.committing = f.acked;
    }
    const f = this.files[stream];
    f.committing = Math.max(f.committing, end);
    this.writeAck();
  }

  private acknowledge(stream: OutputStream, end: number): void {
    const f = this.files[stream];
    if (end <= f.acked) return;
    f.acked = end;
    if (Object.values(this.files).every((g) => g.acked >= g.committing)) this.committingId = null;
    this.writeAck();
    if (f.acked - f.punched >= PUNCH_BYTES) {
      f.punched = f.acked;
      // util-linux's fallocate; where it or hole punching is missing, the file keeps its blocks
      execFile('fallocate', ['--punch-hole', '--offset', '0', '--length', String(f.acked), this.file(SUFFIX[stream])], () => {});
    }
    this.removeIfDone();
  }

  private writeAck(): void {
    if (this.ackFd === null) return;
    const { STDOUT: out, STDERR: err } = this.files;
    const committing = this.committingId === null ? '' : ` ${this.committingId} ${out.committing} ${err.committing}`;
    try {
      fs.writeSync(this.ackFd, `${out.acked} ${err.acked}${committing}`.padEnd(ACK_WIDTH, ' '), 0, 'latin1');
    } catch {
      // the dir is gone (the server is stopping): nothing to keep
    }
  }

  /** The runtime ended: the last lines (a last line without a newline too); the files go once their lines are stored. */
  end(): void {
    if (this.ended) return;
    this.drain();
    for (const stream of ['STDOUT', 'STDERR'] as const) {
      const f = this.files[stream];
      if (f.fd !== null) this.emit(stream, Buffer.alloc(0), true);
    }
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const f of Object.values(this.files)) {
      if (f.fd !== null) fs.close(f.fd, () => {});
      f.fd = null;
    }
    this.ended = true;
    this.removeIfDone();
  }

  private removeIfDone(): void {
    if (!this.ended || this.removed) return;
    if (Object.values(this.files).some((f) => f.acked < f.read)) return;
    this.remove();
  }

  /** Removes the files (an instance whose lines are all stored, or a spare never claimed). */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    for (const w of this.watchers) w.close();
    if (this.ackFd !== null) fs.closeSync(this.ackFd);
    this.ackFd = null;
    for (const suffix of ['.out', '.err', '.meta', '.ack']) fs.rmSync(this.file(suffix), { force: true });
  }
}

/** Of the transactions named, those that committed (Postgres knows: pg_xact_status). */
export type CommittedOf = (transactionIds: string[]) => Promise<Set<string>>;

/**
 * What the instances of a dead server wrote past what was stored (their .ack, or where a batch
 * whose commit the server did not live to note left it), per function, as log lines (dated when
 * their file was last written). Output of no known function is skipped.
 */
export async function recoverOutput(
  root: string,
  committedOf: CommittedOf,
): Promise<Array<{ functionId: string; lines: RuntimeLogLine[] }>> {
  const dir = outputDirOf(root);
  const names = outputNamesOf(root);
  const out: Array<{ functionId: string; lines: RuntimeLogLine[] }> = [];
  for (const meta of names.filter((n) => n.endsWith('.meta'))) {
    const name = meta.slice(0, -'.meta'.length);
    const read = (suffix: string) => {
      try {
        return fs.readFileSync(path.join(dir, `${name}${suffix}`));
      } catch {
        return null;
      }
    };
    const functionId = read('.meta')?.toString('utf8').trim();
    if (!functionId) continue;
    const [outAcked = '0', errAcked = '0', transactionId, outCommitting, errCommitting] =
      read('.ack')?.toString('latin1').trim().split(/\s+/) ?? [];
    const committed = transactionId !== undefined && (await committedOf([transactionId])).has(transactionId);
    const lines: RuntimeLogLine[] = [];
    for (const [stream, from] of [
      ['STDOUT', Number(committed ? outCommitting : outAcked)],
      ['STDERR', Number(committed ? errCommitting : errAcked)],
    ] as const) {
      const bytes = read(SUFFIX[stream]);
      if (!bytes || bytes.length <= (from || 0)) continue;
      let at: Date;
      try {
        at = fs.statSync(path.join(dir, `${name}${SUFFIX[stream]}`)).mtime;
      } catch {
        at = new Date();
      }
      const split = new Lines();
      const add = (text: string) => lines.push({ at, stream, text });
      split.push(bytes.subarray(from || 0), add);
      split.end(add);
    }
    if (lines.length > 0) out.push({ functionId, lines });
  }
  return out;
}
