// The live feed behind the log, cluster-event and host-event subscriptions (src/platform/notifications/
// live-feed.ts), on an in-memory source: batches carry every item written since the subscriber's
// last one (a subscriber that takes its next batch late gets several at once), in order and none
// twice; subscribers at the same cursor share one batch object; one item at a time works the same;
// subscribers waiting for the next item that end, or wait past the stream's end, leave the others'
// waits intact; transformIterator maps, filters and stops.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type FeedSource, ItemRing, LiveFeed, transformIterator } from '../../src/platform/notifications/live-feed.js';

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

  it('a tail holding its latest items only: a cursor behind them reads the rest from the source, one ahead from memory', async () => {
    const source = new MemorySource();
    const ring = { tailStore: () => new ItemRing<Item>(3) };
    const f = newFeed(Object.assign(source, ring));
    const live = f.subscribeBatches('k', 0);
    const next = live.next();
    write(f, source, 8);
    expect(seqs((await next).value!)).toEqual(range(1, 8));
    const reads = source.reads;
    for (let after = 0; after < 8; after++) {
      const late = f.subscribeBatches('k', after);
      expect(seqs((await late.next()).value!)).toEqual(range(after + 1, 8));
      // the ring holds 6, 7 and 8, and the batch after 0 is the one the live subscriber took
      expect(source.reads).toBe(reads + Math.min(after, 4));
      await late.return!();
    }
    await live.return!();
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

describe('live feed waits', () => {
  it('subscribers that end while waiting get done; every other waiting subscriber still gets the next item, and the one after', async () => {
    const source = new MemorySource();
    const f = newFeed(source);
    const subs = Array.from({ length: 9 }, () => f.subscribeBatches('k', 0));
    const waits = subs.map((s) => s.next());
    // every third ends while it waits, the last and the first among them
    const ending = new Set([0, 4, 8]);
    for (const i of ending) await subs[i]!.return!();
    for (const i of ending) expect(await waits[i]).toEqual({ value: undefined, done: true });
    write(f, source, 2);
    const staying = subs.filter((_, i) => !ending.has(i));
    for (const [i, wait] of waits.entries()) if (!ending.has(i)) expect(seqs((await wait).value!)).toEqual([1, 2]);
    const next = staying.map((s) => s.next());
    await staying[2]!.return!();
    write(f, source, 1);
    for (const [i, n] of next.entries())
      expect(await n).toEqual(i === 2 ? { value: undefined, done: true } : { value: [{ seq: 3 }], done: false });
    for (const s of staying) await s.return!();
    expect((f as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });

  it('a cursor past the end of the stream waits until an item after it is written', async () => {
    const source = new MemorySource();
    source.append(2);
    const f = newFeed(source);
    const ahead = f.subscribeBatches('k', 4);
    const live = f.subscribeBatches('k', 2);
    const aheadNext = ahead.next();
    let aheadDone = false;
    void aheadNext.then(() => {
      aheadDone = true;
    });
    const liveNext = live.next();
    write(f, source, 2);
    expect(seqs((await liveNext).value!)).toEqual([3, 4]);
    expect(aheadDone).toBe(false);
    write(f, source, 1);
    expect(seqs((await aheadNext).value!)).toEqual([5]);
    for (const sub of [ahead, live]) await sub.return!();
  });

  it('a next() called while another waits gets the batch after that one', async () => {
    const source = new MemorySource();
    const f = newFeed(source);
    const sub = f.subscribeBatches('k', 0);
    const [first, second] = [sub.next(), sub.next()];
    for (const [count, waiting, expected] of [
      [1, first, [1]],
      [2, second, [2, 3]],
    ] as const) {
      write(f, source, count);
      expect(seqs((await waiting).value!)).toEqual(expected);
    }
    await sub.return!();
  });
});

describe('transformIterator', () => {
  /** an iterator over `items`, noting whether return() was called */
  function over(items: number[]) {
    const it = { returned: false, iterator: null as unknown as AsyncIterableIterator<number> };
    let at = 0;
    it.iterator = {
      next: async () => (at < items.length ? { value: items[at++]!, done: false } : { value: undefined, done: true }),
      return: async () => {
        it.returned = true;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return it;
  }
  const all = async <T>(iterator: AsyncIterableIterator<T>) => {
    const out: T[] = [];
    for await (const item of iterator) out.push(item);
    return out;
  };

  it('maps each item, leaves out those mapped to undefined (a run of them too), and waits for a mapping that is a promise', async () => {
    const source = over(range(1, 2_000));
    const mapped = transformIterator(source.iterator, (n) => (n % 1_000 === 0 ? undefined : n % 3 === 0 ? Promise.resolve(-n) : n));
    const out = await all(mapped);
    expect(out).toEqual(
      range(1, 2_000)
        .filter((n) => n % 1_000 !== 0)
        .map((n) => (n % 3 === 0 ? -n : n)),
    );
    const sparse = transformIterator(over(range(1, 5_000)).iterator, (n) => (n === 4_999 ? n : undefined));
    expect(await all(sparse)).toEqual([4_999]);
  });

  it('stop ends it after yielding the item that stops it, and returns the inner iterator', async () => {
    const source = over(range(1, 10));
    const out = await all(
      transformIterator(
        source.iterator,
        (n) => (n % 2 ? undefined : n * 10),
        (n) => n >= 60,
      ),
    );
    expect(out).toEqual([20, 40, 60]);
    expect(source.returned).toBe(true);
  });
});
