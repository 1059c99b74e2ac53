// The tail of a followed log stream (src/logs/line-ring.ts): it holds the latest lines within its
// line and byte bounds and gives them back as stored (text, time, stream, seq), a line's bytes
// running over the ring's end and multi-byte characters cut there included; a line larger than
// the ring is not held. Behind a live feed, subscribers catching up from it or from the source get
// every line once, in order.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LogLineRing } from '../../src/logs/line-ring.js';
import type { LogLineRow } from '../../src/logs/tables.js';
import { type FeedSource, LiveFeed } from '../../src/platform/notifications/live-feed.js';

const STREAM = 'stream-1';
const line = (seq: number, text: string): LogLineRow => ({
  streamId: STREAM,
  seq,
  at: new Date(Date.UTC(2026, 11, 7, 12, 0, 0, seq)),
  stream: 1 + (seq % 3),
  text,
});
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** a ring after pushing `texts` as lines 1, 2, … */
function ringOf(texts: string[], maxLines: number, maxBytes: number): LogLineRing {
  const ring = new LogLineRing(STREAM, maxLines, maxBytes);
  for (const [i, text] of texts.entries()) ring.push(line(i + 1, text));
  return ring;
}
const all = (ring: LogLineRing) => ring.read(0, Number.MAX_SAFE_INTEGER);

describe('log line ring', () => {
  it('holds the latest lines up to its line bound, as they were stored', () => {
    const texts = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const ring = ringOf(texts, 5, 1_024);
    expect(ring.count).toBe(5);
    expect(all(ring)).toEqual(texts.slice(7).map((text, i) => line(8 + i, text)));
    expect(ring.read(2, 2)).toEqual([line(10, 'line 10'), line(11, 'line 11')]);
    expect(ring.read(5, 10)).toEqual([]);
  });

  it('holds no more text than its byte bound: older lines go to make room', () => {
    const texts = ['a'.repeat(40), 'b'.repeat(30), 'c'.repeat(20), 'd'.repeat(50), '', 'e'.repeat(10)];
    const ring = ringOf(texts, 100, 100);
    // 20 + 50 + 0 + 10 = 80 bytes fit; with the 30 before them it would be 110
    expect(all(ring)).toEqual(texts.slice(2).map((text, i) => line(3 + i, text)));
    expect(all(ring).reduce((sum, l) => sum + bytes(l.text), 0)).toBeLessThanOrEqual(100);
    // exactly full, then one byte more
    const full = ringOf(['x'.repeat(60), 'é'.repeat(20)], 100, 100);
    expect(full.count).toBe(2);
    full.push(line(3, '!'));
    expect(all(full)).toEqual([line(2, 'é'.repeat(20)), line(3, '!')]);
  });

  it('a line running over the ring’s end comes back whole, many times round', () => {
    const maxBytes = 64;
    const texts = Array.from({ length: 200 }, (_, i) => `${i}:`.padEnd(7 + (i % 23), String.fromCharCode(97 + (i % 26))));
    const ring = new LogLineRing(STREAM, 8, maxBytes);
    texts.forEach((text, i) => {
      ring.push(line(i + 1, text));
      const held = all(ring);
      expect(held.at(-1)).toEqual(line(i + 1, text));
      // the lines held are the latest ones, whole and in order
      expect(held).toEqual(texts.slice(i + 1 - held.length, i + 1).map((t, j) => line(i + 2 - held.length + j, t)));
    });
  });

  it('multi-byte characters cut by the ring’s end come back whole', () => {
    // 3-byte, 4-byte (a surrogate pair in JS) and 2-byte characters, at every offset against the end
    const texts = Array.from({ length: 60 }, (_, i) => `${'x'.repeat(i % 7)}€😀é漢字${i}`);
    const ring = new LogLineRing(STREAM, 1_000, 50);
    texts.forEach((text, i) => {
      ring.push(line(i + 1, text));
      expect(all(ring).at(-1)!.text).toBe(text);
    });
    const held = all(ring);
    expect(held.map((l) => l.text)).toEqual(texts.slice(texts.length - held.length));
  });

  it('a line larger than the ring is not held, nor any before it; the lines after it are', () => {
    const ring = ringOf(['one', 'two'], 10, 16);
    ring.push(line(3, 'x'.repeat(17)));
    expect(ring.count).toBe(0);
    expect(all(ring)).toEqual([]);
    ring.push(line(4, 'four'));
    expect(all(ring)).toEqual([line(4, 'four')]);
    // a line of exactly the ring's size fits
    ring.push(line(5, `${'€'.repeat(5)}y`));
    expect(all(ring)).toEqual([line(5, '€€€€€y')]);
  });
});

describe('a log line ring that grows', () => {
  /** the lines a ring at its bounds holds: the latest that fit both bounds, none before one larger than the text bound */
  function expected(lines: LogLineRow[], maxLines: number, maxBytes: number): LogLineRow[] {
    const held: LogLineRow[] = [];
    let used = 0;
    for (let i = lines.length - 1; i >= 0 && held.length < maxLines; i--) {
      const size = bytes(lines[i]!.text);
      if (size > maxBytes || used + size > maxBytes) break;
      used += size;
      held.unshift(lines[i]!);
    }
    return held;
  }

  it('starts small and grows as the stream fills it, holding at every step what a ring made at its bounds would', () => {
    const maxLines = 700;
    const maxBytes = 100_000;
    const ring = new LogLineRing(STREAM, maxLines, maxBytes);
    const quiet = ring.reservedBytes;
    // a quiet stream reserves far less than its bounds
    expect(quiet).toBeLessThan(maxBytes / 4);
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const pushed: LogLineRow[] = [];
    for (let seq = 1; seq <= 3_000; seq++) {
      // short and long lines, multi-byte characters, now and then one larger than the ring
      const size = seq % 997 === 0 ? maxBytes + 1 : Math.floor(random() ** 3 * 3_000);
      // cut by code points: a lone surrogate is no text a log line can carry
      const text = Array.from(`${seq}:${'é😀a'.repeat(Math.ceil(size / 7))}`)
        .slice(0, size)
        .join('');
      const l = line(seq, text);
      ring.push(l);
      pushed.push(l);
      expect(all(ring)).toEqual(expected(pushed, maxLines, maxBytes));
    }
    expect(ring.reservedBytes).toBeGreaterThan(quiet);
    expect(ring.reservedBytes).toBeLessThanOrEqual(maxBytes + maxLines * 17);
  });

  it('grows by lines alone when its lines are short', () => {
    const ring = new LogLineRing(STREAM, 1_000, 1_000_000);
    const texts = Array.from({ length: 2_500 }, (_, i) => `l${i}`);
    for (const [i, text] of texts.entries()) ring.push(line(i + 1, text));
    expect(ring.count).toBe(1_000);
    expect(all(ring)).toEqual(texts.slice(1_500).map((text, i) => line(1_501 + i, text)));
  });
});

/** A log stream in memory with dense seqs from 1; counts its reads. */
class MemoryLog implements FeedSource<LogLineRow> {
  lines: LogLineRow[] = [];
  reads = 0;
  constructor(private readonly ring: { maxLines: number; maxBytes: number }) {}
  async fetch(_key: string, after: number, limit: number): Promise<LogLineRow[]> {
    this.reads++;
    return this.lines.filter((l) => l.seq > after).slice(0, limit);
  }
  async head(): Promise<number> {
    return this.lines.length;
  }
  seqOf(l: LogLineRow): number {
    return l.seq;
  }
  tailStore(key: string): LogLineRing {
    return new LogLineRing(key, this.ring.maxLines, this.ring.maxBytes);
  }
  append(texts: string[]): number {
    for (const text of texts) this.lines.push(line(this.lines.length + 1, text));
    return this.lines.length;
  }
}

let feed: LiveFeed<LogLineRow> | null = null;
afterEach(() => feed?.close());

/** every line after `after` up to seq `to`, batch by batch */
async function linesUpTo(batches: AsyncIterableIterator<readonly LogLineRow[]>, to: number): Promise<LogLineRow[]> {
  const seen: LogLineRow[] = [];
  while (seen.at(-1)?.seq !== to) seen.push(...(await batches.next()).value!);
  return seen;
}

describe('a live feed over log line rings', () => {
  it('subscribers catching up from anywhere get every line once, in order, through wraps, byte bounds and a line larger than the ring', async () => {
    const source = new MemoryLog({ maxLines: 6, maxBytes: 40 });
    feed = new LiveFeed(source, pino({ level: 'silent' }), 60_000);
    const live = feed.subscribeBatches(STREAM, 0);
    const writes = [
      ['a€', 'bb', 'c😀c'],
      ['d'.repeat(25), 'eé'],
      ['f'.repeat(41)],
      ['g', 'h', 'i', 'j', 'k', 'l', 'm'],
      ['漢字'.repeat(6)],
    ];
    const liveSeen: LogLineRow[] = [];
    for (const texts of writes) {
      const next = linesUpTo(live, source.lines.length + texts.length);
      feed.notify(STREAM, source.append(texts));
      liveSeen.push(...(await next));
    }
    expect(liveSeen).toEqual(source.lines);
    // a subscriber from every cursor gets the rest, whether the ring still holds it or not
    for (let after = 0; after < source.lines.length; after++) {
      const late = feed.subscribeBatches(STREAM, after);
      expect(await linesUpTo(late, source.lines.length)).toEqual(source.lines.slice(after));
      await late.return!();
    }
    // the ring holds the latest lines within 6 lines and 40 bytes: cursors at or after it read no query
    const reads = source.reads;
    const recent = feed.subscribeBatches(STREAM, source.lines.length - 2);
    expect(await linesUpTo(recent, source.lines.length)).toEqual(source.lines.slice(-2));
    expect(source.reads).toBe(reads);
    await recent.return!();
    await live.return!();
  });
});
