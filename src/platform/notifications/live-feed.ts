import type { Logger } from 'pino';

/**
 * A source of items keyed by resource, each with a dense per-key sequence number (1, 2, 3, …
 * committed in order: the writers bump a counter row under lock). That density is what makes
 * "replay after cursor, then live" exact: no gap and no duplicate.
 */
export interface FeedSource<T> {
  /** items with seq > after, ascending, at most limit */
  fetch(key: string, after: number, limit: number): Promise<T[]>;
  /** highest committed seq for key (0 when none) */
  head(key: string): Promise<number>;
  seqOf(item: T): number;
}

const PAGE = 500;
const BUFFER_LIMIT = 5_000;

/** The shared in-memory tail of one key: one DB read per notification, whatever the subscriber count. */
class Tail<T> {
  /** buffer holds the items with seq in (bufStart, fetched] */
  buffer: T[] = [];
  bufStart = 0;
  fetched = 0;
  ready: Promise<void>;
  subscribers = 0;
  private fetching: Promise<void> | null = null;
  private dirty = false;
  private wakers = new Set<() => void>();
  /**
   * The batches handed out since `fetched` last moved, by the cursor they follow: subscribers at the
   * same cursor get the same array, so a subscription's result is executed once for all of them
   * (subscription-execution.ts keys its cache on the event object).
   */
  private batches = new Map<number, readonly T[]>();

  constructor(
    readonly key: string,
    private readonly source: FeedSource<T>,
    private readonly log: Logger,
  ) {
    this.ready = source.head(key).then((head) => {
      this.bufStart = head;
      this.fetched = head;
    });
    // awaited by subscribers; without this a failure before anyone awaits would be unhandled
    this.ready.catch(() => {});
  }

  /** items after cursor from memory (at most a page), or null when the cursor is older than the buffer */
  itemsAfter(cursor: number): readonly T[] | null {
    if (cursor < this.bufStart) return null;
    if (cursor >= this.fetched) return [];
    let batch = this.batches.get(cursor);
    if (!batch) {
      batch = this.buffer.slice(cursor - this.bufStart, cursor - this.bufStart + PAGE);
      this.batches.set(cursor, batch);
    }
    return batch;
  }

  /** Called on a notification (seq known) or a catch-up poll (seq undefined). */
  poke(seq?: number): void {
    if (seq !== undefined && seq <= this.fetched) return;
    if (this.fetching) {
      this.dirty = true;
      return;
    }
    this.fetching = this.pull().finally(() => {
      this.fetching = null;
      if (this.dirty) {
        this.dirty = false;
        this.poke();
      }
    });
  }

  private async pull(): Promise<void> {
    try {
      await this.ready;
      for (;;) {
        const items = await this.source.fetch(this.key, this.fetched, PAGE);
        if (items.length === 0) break;
        this.buffer.push(...items);
        this.fetched = this.source.seqOf(items[items.length - 1]!);
        this.batches.clear();
        if (this.buffer.length > BUFFER_LIMIT) {
          const drop = this.buffer.length - BUFFER_LIMIT;
          this.buffer.splice(0, drop);
          this.bufStart += drop;
        }
        this.wake();
        if (items.length < PAGE) break;
      }
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'feed fetch failed; the next poll retries');
    }
  }

  waitForMore(): { promise: Promise<void>; cancel: () => void } {
    let waker!: () => void;
    const promise = new Promise<void>((resolve) => {
      waker = resolve;
      this.wakers.add(resolve);
    });
    return {
      promise,
      cancel: () => {
        this.wakers.delete(waker);
        waker();
      },
    };
  }

  private wake(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const w of wakers) w();
  }
}

export class LiveFeed<T> {
  private tails = new Map<string, Tail<T>>();
  private timer: NodeJS.Timeout;

  constructor(
    private readonly source: FeedSource<T>,
    private readonly log: Logger,
    pollMs = 2_000,
  ) {
    // NOTIFY can be lost (connection drop); a slow poll of the watched keys is the safety net.
    this.timer = setInterval(() => this.pokeAll(), pollMs);
    this.timer.unref();
  }

  notify(key: string, seq: number): void {
    this.tails.get(key)?.poke(seq);
  }

  pokeAll(): void {
    for (const tail of this.tails.values()) tail.poke();
  }

  close(): void {
    clearInterval(this.timer);
  }

  async head(key: string): Promise<number> {
    return this.source.head(key);
  }

  /** Items of key after `after` (stored ones first, then live), one at a time, until the iterator is returned. */
  subscribe(key: string, after: number): AsyncIterableIterator<T> {
    return flattenIterator(this.subscribeBatches(key, after));
  }

  /**
   * Items of key after `after` in batches: each batch is every item there is after the last one
   * taken (at most a page), so a subscriber that takes its next batch late (its socket is behind,
   * or the server is busy) gets several items at once, in order, none twice. Until the iterator is
   * returned.
   */
  subscribeBatches(key: string, after: number): AsyncIterableIterator<readonly T[]> {
    let tail = this.tails.get(key);
    if (!tail) {
      const created = new Tail(key, this.source, this.log);
      // a tail whose first read failed is dropped: the next subscriber builds a fresh one
      created.ready.catch(() => {
        if (this.tails.get(key) === created) this.tails.delete(key);
      });
      this.tails.set(key, (tail = created));
    }
    const t = tail;
    t.subscribers++;
    let cursor = after;
    let closed = false;
    let cancelWait: (() => void) | null = null;
    const release = () => {
      if (closed) return;
      closed = true;
      cancelWait?.();
      if (--t.subscribers === 0 && this.tails.get(key) === t) this.tails.delete(key);
    };
    const source = this.source;
    const iterator: AsyncIterableIterator<readonly T[]> = {
      async next(): Promise<IteratorResult<readonly T[]>> {
        try {
          return await pull();
        } catch (err) {
          release(); // graphql-ws does not call return() after an error: let go of the tail here
          throw err;
        }
      },
      async return(): Promise<IteratorResult<readonly T[]>> {
        release();
        return { value: undefined, done: true };
      },
      async throw(err?: unknown): Promise<IteratorResult<readonly T[]>> {
        release();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    const pull = async (): Promise<IteratorResult<readonly T[]>> => {
      await t.ready;
      while (!closed) {
        const batch = t.itemsAfter(cursor) ?? (await source.fetch(key, cursor, PAGE));
        if (batch.length > 0) {
          cursor = source.seqOf(batch[batch.length - 1]!);
          return { value: batch, done: false };
        }
        const wait = t.waitForMore();
        cancelWait = wait.cancel;
        // a write may have landed between the check above and the wait: re-check after waking
        if (t.fetched > cursor) wait.cancel();
        await wait.promise;
        cancelWait = null;
      }
      return { value: undefined, done: true };
    };
    return iterator;
  }
}

/** The items of an iterator of batches one by one, passing return() through. */
function flattenIterator<T>(batches: AsyncIterableIterator<readonly T[]>): AsyncIterableIterator<T> {
  let batch: readonly T[] = [];
  let at = 0;
  return {
    async next(): Promise<IteratorResult<T>> {
      while (at >= batch.length) {
        const r = await batches.next();
        if (r.done) return { value: undefined, done: true };
        batch = r.value;
        at = 0;
      }
      return { value: batch[at++]!, done: false };
    },
    async return(): Promise<IteratorResult<T>> {
      batch = [];
      await batches.return?.();
      return { value: undefined, done: true };
    },
    async throw(err?: unknown): Promise<IteratorResult<T>> {
      batch = [];
      await batches.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Maps and filters an iterator, passing return() through; `stop` ends it after yielding an item. */
export function transformIterator<A, B>(
  inner: AsyncIterableIterator<A>,
  fn: (item: A) => B | undefined | Promise<B | undefined>,
  stop?: (item: B) => boolean,
): AsyncIterableIterator<B> {
  let done = false;
  return {
    async next(): Promise<IteratorResult<B>> {
      while (!done) {
        const r = await inner.next();
        if (r.done) break;
        const mapped = await fn(r.value);
        if (mapped === undefined) continue;
        if (stop?.(mapped)) {
          done = true;
          await inner.return?.();
        }
        return { value: mapped, done: false };
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<B>> {
      done = true;
      await inner.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Yields `first` items, then the rest of `inner`. */
export function prependIterator<T>(first: T[], inner: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  const queue = [...first];
  return {
    async next() {
      const item = queue.shift();
      if (item !== undefined) return { value: item, done: false };
      return inner.next();
    },
    async return() {
      queue.length = 0;
      await inner.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export function emptyIterator<T>(): AsyncIterableIterator<T> {
  return {
    next: async () => ({ value: undefined, done: true }),
    return: async () => ({ value: undefined, done: true }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A feed's notification payload: `<key>:<seq>`, or `<key>:<seq>:<mark>` (what else the event means is the feed owner's). */
export function splitNotification(payload: string): { key: string; seq: number; mark: string | null } {
  const [key = '', seq = '0', mark = null] = payload.split(':');
  return { key, seq: Number(seq), mark };
}
