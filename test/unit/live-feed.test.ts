// The live feed behind the log, cluster-event and host-event subscriptions (src/platform/notifications/
// live-feed.ts), on an in-memory source: batches carry every item written since the subscriber's
// last one (a subscriber that takes its next batch late gets several at once), in order and none
// twice; subscribers at the same cursor share one batch object; one item at a time works the same.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type FeedSource, LiveFeed } from '../../src/platform/notifications/live-feed.js';

interface Item {
  seq: number;
}

/** A stream with dense seqs from 1, as log streams are; counts its reads. */
class MemorySource implements FeedSource<Item> {
  items: Item[] = [];
  reads = 0;
  async fetch(_key: string, after: number, limit: number): Promise<Item[]> {
    this.reads++;
    return this.items.filter((i) => i.seq > after).slice(0, limit);
  }
  async head(): Promise<number> {
    return this.items.length;
  }
  seqOf(item: Item): number {
    return item.seq;
  }
  /** appends `count` items; returns the last seq */
  append(count: number): number {
    for (let i = 0; i < count; i++) this.items.push({ seq: this.items.length + 1 });
    return this.items.length;
  }
}

const seqs = (items: readonly Item[]) => items.map((i) => i.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let feed: LiveFeed<Item> | null = null;
afterEach(() => feed?.close());

function newFeed(source: MemorySource): LiveFeed<Item> {
  feed = new LiveFeed(source, pino({ level: 'silent' }), 60_000);
  return feed;
}

/** Writes `count` items and tells the feed, as a committed append and its NOTIFY do. */
function write(f: LiveFeed<Item>, source: MemorySource, count: number): void {
  f.notify('k', source.append(count));
}

describe('live feed batches', () => {
  it('a subscriber taking its next batch late gets every item written meanwhile, in order, none twice', async () => {
    const source = new MemorySource();
    const f = newFeed(source);
    const eager = f.subscribeBatches('k', 0);
    const late = f.subscribeBatches('k', 0);
    const eagerSeen: number[] = [];
    const first = eager.next();
    write(f, source, 1);
    eagerSeen.push(...seqs((await first).value!));
    for (const count of [3, 1, 5]) {
      const next = eager.next();
      write(f, source, count);
      eagerSeen.push(...seqs((await next).value!));
    }
    expect(eagerSeen).toEqual(range(1, 10));
    // the late one asks only now: the ten items come in one batch
    const batch = await late.next();
    expect(seqs(batch.value!)).toEqual(range(1, 10));
    // then live again, from where it is
    const next = late.next();
    write(f, source, 2);
    expect(seqs((await next).value!)).toEqual([11, 12]);
    await eager.return!();
    await late.return!();
  });

  it('subscribers at the same cursor get the same batch object (one GraphQL execution for all), read from the source once', async () => {
    const source = new MemorySource();
    const f = newFeed(source);
    const subs = Array.from({ length: 5 }, () => f.subscribeBatches('k', 0));
    const firsts = subs.map((s) => s.next());
    write(f, source, 4);
    const batches = await Promise.all(firsts);
    for (const b of batches) expect(b.value).toBe(batches[0]!.value);
    expect(seqs(batches[0]!.value!)).toEqual(range(1, 4));
    expect(source.reads).toBe(1);
    for (const s of subs) await s.return!();
  });

  it('a cursor behind the in-memory tail is replayed from the source, then continues live without a gap', async () => {
    const source = new MemorySource();
    source.append(7);
    const f = newFeed(source);
    const sub = f.subscribeBatches('k', 2);
    expect(seqs((await sub.next()).value!)).toEqual(range(3, 7));
    const next = sub.next();
    write(f, source, 3);
    expect(seqs((await next).value!)).toEqual(range(8, 10));
    await sub.return!();
  });

  it('one item at a time: the same sequence, whether taken promptly or late', async () => {
    const source = new MemorySource();
    const f = newFeed(source);
    const prompt = f.subscribe('k', 0);
    const late = f.subscribe('k', 0);
    const promptSeen: number[] = [];
    for (const count of [2, 4]) {
      const target = promptSeen.length + count;
      const waiting = prompt.next();
      write(f, source, count);
      promptSeen.push((await waiting).value!.seq);
      while (promptSeen.length < target) promptSeen.push((await prompt.next()).value!.seq);
    }
    const lateSeen: number[] = [];
    for (let i = 0; i < 6; i++) lateSeen.push((await late.next()).value!.seq);
    expect(promptSeen).toEqual(range(1, 6));
    expect(lateSeen).toEqual(range(1, 6));
    await prompt.return!();
    await late.return!();
  });

  it('return() ends the subscription and lets go of the key', async () => {
    const source = new MemorySource();
    const f = newFeed(source);
    const sub = f.subscribeBatches('k', 0);
    const waiting = sub.next();
    await sub.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect((f as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });
});
