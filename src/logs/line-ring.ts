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

/** what a ring starts with: most followed streams are quiet, and each reserves only this until it fills */
const FIRST_LINES = 64;
const FIRST_BYTES = 16 * 1024;

/**
 * The tail of one followed log stream (LiveFeed's TailStore): the latest lines, at most `maxLines`
 * and `maxBytes` of text. The text is in one byte ring, a line's bytes continuing at its start when
 * they run over its end; where each line's text starts, its length, time and stream are in rings
 * of as many entries as lines fit. The rings start small (16 KiB) and double as the stream fills
 * them, up to the bounds: a quiet followed stream reserves little, and a busy one, once grown,
 * allocates nothing per line it keeps. A line whose text alone is larger than `maxBytes` is not held
 * (nor any before it): subscribers behind it read it from the database.
 */
export class LogLineRing implements TailStore<LogLineRow> {
  count = 0;
  private lineCap: number;
  private byteCap: number;
  private text: Buffer;
  private textStart: Uint32Array;
  private textLength: Uint32Array;
  private at: Float64Array;
  private stream: Uint8Array;
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
    this.lineCap = Math.min(FIRST_LINES, maxLines);
    this.byteCap = Math.min(FIRST_BYTES, maxBytes);
    this.text = Buffer.alloc(this.byteCap);
    this.textStart = new Uint32Array(this.lineCap);
    this.textLength = new Uint32Array(this.lineCap);
    this.at = new Float64Array(this.lineCap);
    this.stream = new Uint8Array(this.lineCap);
  }

  /** the memory the ring holds now (its text and per-line entries) */
  get reservedBytes(): number {
    return this.text.length + this.lineCap * (4 + 4 + 8 + 1);
  }

  push(line: LogLineRow): void {
    this.lastSeq = line.seq;
    const length = Buffer.byteLength(line.text, 'utf8');
    if (length > this.maxBytes) {
      this.count = this.used = 0;
      return;
    }
    const moreLines = this.count === this.lineCap && this.lineCap < this.maxLines;
    const moreBytes = this.used + length > this.byteCap && this.byteCap < this.maxBytes;
    if (moreLines || moreBytes) this.grow(moreLines, moreBytes ? this.used + length : 0);
    while (this.count === this.lineCap || this.used + length > this.byteCap) this.dropOldest();
    const entry = (this.first + this.count) % this.lineCap;
    this.textStart[entry] = this.end;
    this.textLength[entry] = length;
    this.at[entry] = line.at.getTime();
    this.stream[entry] = line.stream;
    const room = this.byteCap - this.end;
    if (length <= room) this.text.write(line.text, this.end, 'utf8');
    else {
      const whole = joinedBuffer(this.byteCap);
      whole.write(line.text, 0, 'utf8');
      whole.copy(this.text, this.end, 0, room);
      whole.copy(this.text, 0, room, length);
    }
    this.end = (this.end + length) % this.byteCap;
    this.used += length;
    this.count++;
  }

  read(skip: number, limit: number): LogLineRow[] {
    const out: LogLineRow[] = [];
    const firstSeq = this.lastSeq - this.count + 1;
    for (let i = skip; i < this.count && out.length < limit; i++) {
      const entry = (this.first + i) % this.lineCap;
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

  /**
   * Doubles the line entries (`moreLines`) and/or the text to hold at least `bytesNeeded`, each up
   * to its bound; the lines held move to the start of the new rings, in order.
   */
  private grow(moreLines: boolean, bytesNeeded: number): void {
    const lineCap = moreLines ? Math.min(this.maxLines, this.lineCap * 2) : this.lineCap;
    let byteCap = this.byteCap;
    while (byteCap < bytesNeeded && byteCap < this.maxBytes) byteCap = Math.min(this.maxBytes, byteCap * 2);
    const text = Buffer.alloc(byteCap);
    // the text held is contiguous in the ring from the oldest line's start (wrapping at its end)
    const base = this.count > 0 ? this.textStart[this.first]! : this.end;
    const tail = Math.min(this.used, this.byteCap - base);
    this.text.copy(text, 0, base, base + tail);
    this.text.copy(text, tail, 0, this.used - tail);
    const textStart = new Uint32Array(lineCap);
    const textLength = new Uint32Array(lineCap);
    const at = new Float64Array(lineCap);
    const stream = new Uint8Array(lineCap);
    for (let i = 0; i < this.count; i++) {
      const entry = (this.first + i) % this.lineCap;
      textStart[i] = (this.textStart[entry]! - base + this.byteCap) % this.byteCap;
      textLength[i] = this.textLength[entry]!;
      at[i] = this.at[entry]!;
      stream[i] = this.stream[entry]!;
    }
    this.lineCap = lineCap;
    this.byteCap = byteCap;
    this.text = text;
    this.textStart = textStart;
    this.textLength = textLength;
    this.at = at;
    this.stream = stream;
    this.first = 0;
    this.end = this.used % byteCap;
  }

  private textOf(entry: number): string {
    const start = this.textStart[entry]!;
    const length = this.textLength[entry]!;
    const room = this.byteCap - start;
    if (length <= room) return this.text.toString('utf8', start, start + length);
    const whole = joinedBuffer(this.byteCap);
    this.text.copy(whole, 0, start, this.byteCap);
    this.text.copy(whole, room, 0, length - room);
    return whole.toString('utf8', 0, length);
  }

  private dropOldest(): void {
    this.used -= this.textLength[this.first]!;
    this.first = (this.first + 1) % this.lineCap;
    this.count--;
  }
}
