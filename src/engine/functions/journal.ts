// An append-only journal of records on their way to the database: a record is in the page cache
// the moment append() returns, so a server killed with kill -9 loses none of them (the memory
// holding the records it had not stored yet dies with it). It lives in <root>/output/, which the
// keeper leaves behind when its server dies (keeper.ts): the next server to start stores what it
// finds there (recoverJournal) before it removes the dead root, as it does the instances' output.
// A power loss can still lose what the kernel had not written back: the journal is not synced.
//
// Files, root-only (0600 in the 0700 output dir), one JSON document a line:
//   <root>/output/<prefix>-<n>.journal   segments, the newest written to; a segment goes once
//                                        every record in it is stored and a newer one exists, or
//                                        it is the newest and nothing was appended for IDLE_MS
//                                        (the keeper removes an empty one with the root)
//
// Nothing here truncates a file, and files go on the thread pool: on ext4 a truncate or an unlink
// waits for the filesystem's journal commit, which another process's fsync (Postgres's WAL) can
// hold for milliseconds, and the event loop must not wait with it. An append waits for it only
// rarely (a new block's metadata).
import fs from 'node:fs';
import path from 'node:path';
import { outputDirOf, outputNamesOf } from './output.js';

const SUFFIX = '.journal';
/** a segment this large is closed and a new one started */
const SEGMENT_BYTES = 4 << 20;
/** a stored segment that long without a new record goes (the next record starts a new one) */
const IDLE_MS = 1_000;

interface Segment {
  file: string;
  fd: number;
  bytes: number;
  /** the sequence number of its last record */
  last: number;
}

export class RecordJournal {
  private readonly dir: string;
  private segments: Segment[] = [];
  private next = 0;
  /** records appended so far (the sequence number of the last one) */
  private appended = 0;
  private storedUpTo = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    root: string,
    private readonly prefix: string,
  ) {
    this.dir = outputDirOf(root);
  }

  /** Writes one record (a JSON document on one line); returns its sequence number (1, 2, …) for stored(). */
  append(json: string): number {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.bytes >= SEGMENT_BYTES) seg = this.open();
    const line = Buffer.from(`${json}\n`);
    fs.writeSync(seg.fd, line);
    seg.bytes += line.length;
    seg.last = ++this.appended;
    return seg.last;
  }

  /** Every record up to `seq` is stored: the older segments that hold nothing else go, the newest once idle. */
  stored(seq: number): void {
    this.storedUpTo = seq;
    while (this.segments.length > 1 && this.segments[0]!.last <= seq) this.drop(this.segments.shift()!);
    if (seq === this.appended && !this.idleTimer) {
      this.idleTimer = setTimeout(() => this.retireIdle(seq), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  /** The newest segment, if nothing was appended since `seen` and everything is stored. */
  private retireIdle(seen: number): void {
    this.idleTimer = null;
    const newest = this.segments[this.segments.length - 1];
    if (!newest || this.appended !== seen || this.storedUpTo !== seen) return;
    this.segments.pop();
    this.drop(newest);
  }

  /** Everything appended is stored (a clean stop): the files go. */
  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const seg of this.segments) this.drop(seg);
    this.segments = [];
  }

  private open(): Segment {
    const file = path.join(this.dir, `${this.prefix}-${this.next++}${SUFFIX}`);
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_APPEND, 0o600);
    const seg = { file, fd, bytes: 0, last: this.appended };
    this.segments.push(seg);
    return seg;
  }

  private drop(seg: Segment): void {
    fs.close(seg.fd, () => {});
    fs.rm(seg.file, { force: true }, () => {});
  }
}

/**
 * The records a dead server's journals (`prefix`) hold, oldest first, each as its JSON text and
 * parsed: stored or not (storing them again must change nothing). A line cut short by the
 * server's end is skipped.
 */
export function recoverJournal(root: string, prefix: string): Array<{ json: string; record: unknown }> {
  const dir = outputDirOf(root);
  const names = outputNamesOf(root);
  const segmentNo = (name: string) => Number(name.slice(prefix.length + 1, -SUFFIX.length));
  const records: Array<{ json: string; record: unknown }> = [];
  for (const name of names.filter((n) => n.startsWith(`${prefix}-`) && n.endsWith(SUFFIX)).sort((a, b) => segmentNo(a) - segmentNo(b))) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        records.push({ json: line, record: JSON.parse(line) });
      } catch {
        // the last line of a write the end cut short
      }
    }
  }
  return records;
}
