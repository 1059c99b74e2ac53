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
  /**
   * What a tail of key keeps of the latest items (made when the key gets its first subscriber);
   * by default up to 5,000 items as they are (ItemRing).
   */
  tailStore?(key: string): TailStore<T>;
}

/**
 * The latest items of a key that a tail keeps in memory, so that subscribers catching up read them
 * without a query: the last `count` items pushed, in order. Its memory is fixed when it is made.
 */
export interface TailStore<T> {
  /** how many of the latest items pushed it holds */
  readonly count: number;
  /** keeps `item` (the one after the last pushed) and lets go of the oldest ones its bounds need */
  push(item: T): void;
  /** from the oldest held, skipping `skip`, at most `limit` items */
  read(skip: number, limit: number): T[];
}

const PAGE = 500;
const ITEM_RING_SIZE = 5_000;

/** A TailStore of the items themselves, up to `size` of them, in an array made at its full size. */
export class ItemRing<T> implements TailStore<T> {
  count = 0;
  private readonly items: Array<T | undefined>;
  /** the index of the oldest held */
  private first = 0;

  constructor(private readonly size: number) {
    this.items = new Array<T | undefined>(size).fill(undefined);
  }

  push(item: T): void {
    if (this.count === this.size) {
      this.items[this.first] = undefined;
      this.first = (this.first + 1) % this.size;
      this.count--;
    }
    this.items[(this.first + this.count) % this.size] = item;
    this.count++;
  }

  read(skip: number, limit: number): T[] {
    const out: T[] = [];
    for (let i = skip; i < this.count && out.length < limit; i++) out.push(this.items[(this.first + i) % this.size]!);
    return out;
  }
}

/** A subscription waiting in a tail for items after its cursor (TailSubscription). */
interface Waiter {
  /** its index in the tail's list of waiters (-1: not waiting) */
  slot: number;
  /** the tail has items after the waiter's cursor */
  wake(): void;
}

/** The shared in-memory tail of one key: one DB read per notification, whatever the subscriber count. */
class Tail<T> {
  /** holds the items with seq in (bufStart, fetched] */
  private readonly store: TailStore<T>;
  fetched = 0;
  ready: Promise<void>;
  /** `ready` resolved: the store can be read */
  loaded = false;
  subscribers = 0;
  private fetching: Promise<void> | null = null;
  private dirty = false;
  /**
   * The subscriptions waiting for more, in [0, waiting); `spare` takes the next ones while a wake goes
   * through these. Two lists kept at their size, rather than a set made anew: a tail followed by
   * many subscribers wakes every one of them for every item, and nothing made per item and
   * subscriber must live until the next item (it would outlive young-generation collections and
   * fill the old generation: the soak's 1,000 subscribers at 10 lines/s did).
   */
  private waiters: Array<Waiter | null> = [];
  private waiting = 0;
  private spare: Array<Waiter | null> = [];
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
    this.store = source.tailStore?.(key) ?? new ItemRing<T>(ITEM_RING_SIZE);
    this.ready = source.head(key).then((head) => {
      this.fetched = head;
      this.loaded = true;
    });
    // awaited by subscribers; without this a failure before anyone awaits would be unhandled
    this.ready.catch(() => {});
  }

  /** the seq before the oldest item held */
  private get bufStart(): number {
    return this.fetched - this.store.count;
  }

  /** items after cursor from memory (at most a page), or null when the cursor is older than what the store holds */
  itemsAfter(cursor: number): readonly T[] | null {
    if (cursor >= this.fetched) return NOTHING;
    let batch = this.batches.get(cursor);
    if (!batch) {
      if (cursor < this.bufStart) return null;
      batch = this.store.read(cursor - this.bufStart, PAGE);
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
        for (const item of items) this.store.push(item);
        const after = this.fetched;
        this.fetched = this.source.seqOf(items[items.length - 1]!);
        this.batches.clear();
        // the batch of every subscriber that had all before: the items as read (even one the store
        // could not hold), rather than the store's copy of them
        this.batches.set(after, items);
        this.wake();
        if (items.length < PAGE) break;
      }
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'feed fetch failed; the next poll retries');
    }
  }

  /** `waiter` waits until the tail has more than what it has taken. */
  wait(waiter: Waiter): void {
    waiter.slot = this.waiting;
    this.waiters[this.waiting++] = waiter;
  }

  /** `waiter` no longer waits (its subscription ended). */
  unwait(waiter: Waiter): void {
    const { slot } = waiter;
    if (slot < 0) return;
    const last = this.waiters[--this.waiting]!;
    this.waiters[slot] = last;
    last.slot = slot;
    this.waiters[this.waiting] = null;
    waiter.slot = -1;
  }

  private wake(): void {
    const woken = this.waiters;
    const count = this.waiting;
    // a waiter may wait again while it is woken: it goes to the other list
    this.waiters = this.spare;
    this.waiting = 0;
    this.spare = woken;
    for (let i = 0; i < count; i++) {
      const waiter = woken[i]!;
      woken[i] = null;
      waiter.slot = -1;
      waiter.wake();
    }
  }
}

const NOTHING: readonly never[] = Object.freeze([]);
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * One subscription's iterator of batches over a tail. Taking a batch the tail has in memory, or
 * waiting for the next, makes nothing but the promise next() returns and the result it resolves
 * to (see Tail.waiters); reading from the source (a cursor older than what the tail holds, the tail's
 * first read) takes the async path.
 */
class TailSubscription<T> implements AsyncIterableIterator<readonly T[]>, Waiter {
  slot = -1;
  private closed = false;
  /** the promise of the next() that waits for more, and what resolves it */
  private waiting: Promise<IteratorResult<readonly T[]>> | null = null;
  private resolveWaiting: ((result: IteratorResult<readonly T[]> | Promise<IteratorResult<readonly T[]>>) => void) | null = null;
  private readonly holdResolve = (resolve: (result: IteratorResult<readonly T[]> | Promise<IteratorResult<readonly T[]>>) => void) => {
    this.resolveWaiting = resolve;
  };

  constructor(
    private readonly tail: Tail<T>,
    private readonly source: FeedSource<T>,
    private cursor: number,
    /** lets go of the tail (called once) */
    private readonly onEnd: () => void,
  ) {}

  next(): Promise<IteratorResult<readonly T[]>> {
    if (this.closed) return Promise.resolve(DONE);
    const batch = this.tail.loaded ? this.tail.itemsAfter(this.cursor) : null;
    if (batch === null) return this.read();
    if (batch.length > 0) return Promise.resolve(this.take(batch));
    return this.waitForMore();
  }

  wake(): void {
    const batch = this.tail.itemsAfter(this.cursor);
    // still nothing after this cursor (it was past the stream's end): it waits on
    if (batch !== null && batch.length === 0) {
      this.tail.wait(this);
      return;
    }
    const resolve = this.resolveWaiting!;
    this.waiting = this.resolveWaiting = null;
    // the tail moved past the cursor by more than its store holds: from the source
    resolve(batch === null ? this.read() : this.take(batch));
  }

  /** The next batch when the tail's first read is not in, or the cursor is older than what it holds (from the source). */
  private async read(): Promise<IteratorResult<readonly T[]>> {
    try {
      await this.tail.ready;
      while (!this.closed) {
        const batch = this.tail.itemsAfter(this.cursor) ?? (await this.source.fetch(this.tail.key, this.cursor, PAGE));
        if (batch.length > 0) return this.take(batch);
        // the tail may have taken a write past the cursor while the source was read: look again
        if (this.tail.fetched <= this.cursor) return this.waitForMore();
      }
    } catch (err) {
      this.end(); // graphql-ws does not call return() after an error: let go of the tail here
      throw err;
    }
    return DONE;
  }

  private waitForMore(): Promise<IteratorResult<readonly T[]>> {
    // a next() called while another waits follows it (the tail holds one wait per subscription)
    if (this.waiting) return this.waiting.then(() => this.next());
    this.waiting = new Promise(this.holdResolve);
    this.tail.wait(this);
    return this.waiting;
  }

  private take(batch: readonly T[]): IteratorResult<readonly T[]> {
    this.cursor = this.source.seqOf(batch[batch.length - 1]!);
    return { value: batch, done: false };
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.tail.unwait(this);
    this.resolveWaiting?.(DONE);
    this.waiting = this.resolveWaiting = null;
    this.onEnd();
  }

  async return(): Promise<IteratorResult<readonly T[]>> {
    this.end();
    return DONE;
  }

  async throw(err?: unknown): Promise<IteratorResult<readonly T[]>> {
    this.end();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
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
    return new TailSubscription(t, this.source, after, () => {
      if (--t.subscribers === 0 && this.tails.get(key) === t) this.tails.delete(key);
    });
  }
}

/** The items of an iterator of batches one by one, passing return() through. */
function flattenIterator<T>(batches: AsyncIterableIterator<readonly T[]>): AsyncIterableIterator<T> {
  let batch: readonly T[] = [];
  let at = 0;
  // not an async function: what waits for the next batch is only the promise next() returned (see Tail.waiters)
  const fromBatch = (r: IteratorResult<readonly T[]>): IteratorResult<T> | Promise<IteratorResult<T>> => {
    if (r.done) return DONE;
    batch = r.value;
    at = 0;
    return at < batch.length ? { value: batch[at++]!, done: false } : iterator.next();
  };
  const iterator: AsyncIterableIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (at < batch.length) return Promise.resolve({ value: batch[at++]!, done: false });
      return batches.next().then(fromBatch);
    },
    async return(): Promise<IteratorResult<T>> {
      batch = [];
      await batches.return?.();
      return DONE;
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
  return iterator;
}

/** Maps and filters an iterator, passing return() through; `stop` ends it after yielding an item. */
export function transformIterator<A, B>(
  inner: AsyncIterableIterator<A>,
  fn: (item: A) => B | undefined | Promise<B | undefined>,
  stop?: (item: B) => boolean,
): AsyncIterableIterator<B> {
  let done = false;
  // No async function waits for the next item (see Tail.waiters): next() is the inner next() and
  // what maps its item; an item mapped by a promise, filtered out or stopping goes through `rest`.
  const mapItem = (r: IteratorResult<A>): IteratorResult<B> | Promise<IteratorResult<B>> => {
    if (r.done) return DONE;
    const mapped = fn(r.value);
    if (mapped === undefined || mapped instanceof Promise || stop) return rest(mapped);
    return { value: mapped, done: false };
  };
  const rest = async (pending: B | undefined | Promise<B | undefined>): Promise<IteratorResult<B>> => {
    let mapped = await pending;
    while (mapped === undefined) {
      if (done) return DONE;
      const r = await inner.next();
      if (r.done) return DONE;
      mapped = await fn(r.value);
    }
    if (stop?.(mapped)) {
      done = true;
      await inner.return?.();
    }
    return { value: mapped, done: false };
  };
  return {
    next(): Promise<IteratorResult<B>> {
      return done ? Promise.resolve(DONE) : inner.next().then(mapItem);
    },
    async return(): Promise<IteratorResult<B>> {
      done = true;
      await inner.return?.();
      return DONE;
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
