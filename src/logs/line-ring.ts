import type { TailStore } from '../platform/notifications/live-feed.js';
import type { LogLineRow } from './tables.js';

/** the most lines a followed stream's tail holds */
export const RING_LINES = 5_000;
/** the most bytes of text (UTF-8) a followed stream's tail holds */
export const RING_BYTES = 512 * 1024;

/**
 * Where a line that runs over the end of a ring is put together, to be written in two parts or
 * read as one string: one for every ring (the server's thread uses it and lets go before it
 * yields), as large as the largest ring.
 */
let joined = Buffer.alloc(0);
function joinedBuffer(size: number): Buffer {
  if (joined.length < size) joined = Buffer.alloc(size);
  return joined;
}

/**
 * The tail of one followed log stream (LiveFeed's TailStore): the latest lines, at most `maxLines`
 * and `maxBytes` of text, in memory made when the stream gets its first subscriber, so that
 * following a stream allocates nothing per line it keeps. The text is in one byte ring, a line's
 * bytes continuing at its start when they run over its end; where each line's text starts, its
 * length, time and stream are in rings of `maxLines` entries. A line whose text alone is larger
 * than the byte ring is not held (nor any before it): subscribers behind it read it from the
 * database.
 */
export class LogLineRing implements TailStore<LogLineRow> {
  count = 0;
  private readonly text: Buffer;
  private readonly textStart: Uint32Array;
  private readonly textLength: Uint32Array;
  private readonly at: Float64Array;
  private readonly stream: Uint8Array;
  /** the entry of the oldest line held */
  private first = 0;
  /** where the next line's text goes */
  private end = 0;
  /** bytes of text held */
  private used = 0;
  /** the seq of the latest line held */
  private lastSeq = 0;

  constructor(
    private readonly streamId: string,
    private readonly maxLines = RING_LINES,
    private readonly maxBytes = RING_BYTES,
  ) {
    this.text = Buffer.alloc(maxBytes);
    this.textStart = new Uint32Array(maxLines);
    this.textLength = new Uint32Array(maxLines);
    this.at = new Float64Array(maxLines);
    this.stream = new Uint8Array(maxLines);
  }

  push(line: LogLineRow): void {
    this.lastSeq = line.seq;
    const length = Buffer.byteLength(line.text, 'utf8');
    if (length > this.maxBytes) {
      this.count = this.used = 0;
      return;
    }
    while (this.count === this.maxLines || this.used + length > this.maxBytes) this.dropOldest();
    const entry = (this.first + this.count) % this.maxLines;
    this.textStart[entry] = this.end;
    this.textLength[entry] = length;
    this.at[entry] = line.at.getTime();
    this.stream[entry] = line.stream;
    const room = this.maxBytes - this.end;
    if (length <= room) this.text.write(line.text, this.end, 'utf8');
    else {
      const whole = joinedBuffer(this.maxBytes);
      whole.write(line.text, 0, 'utf8');
      whole.copy(this.text, this.end, 0, room);
      whole.copy(this.text, 0, room, length);
    }
    this.end = (this.end + length) % this.maxBytes;
    this.used += length;
    this.count++;
  }

  read(skip: number, limit: number): LogLineRow[] {
    const out: LogLineRow[] = [];
    const firstSeq = this.lastSeq - this.count + 1;
    for (let i = skip; i < this.count && out.length < limit; i++) {
      const entry = (this.first + i) % this.maxLines;
      out.push({
        streamId: this.streamId,
        seq: firstSeq + i,
        at: new Date(this.at[entry]!),
        stream: this.stream[entry]!,
        text: this.textOf(entry),
      });
    }
    return out;
  }

  private textOf(entry: number): string {
    const start = this.textStart[entry]!;
    const length = this.textLength[entry]!;
    const room = this.maxBytes - start;
    if (length <= room) return this.text.toString('utf8', start, start + length);
    const whole = joinedBuffer(this.maxBytes);
    this.text.copy(whole, 0, start, this.maxBytes);
    this.text.copy(whole, room, 0, length - room);
    return whole.toString('utf8', 0, length);
  }

  private dropOldest(): void {
    this.used -= this.textLength[this.first]!;
    this.first = (this.first + 1) % this.maxLines;
    this.count--;
  }
}
