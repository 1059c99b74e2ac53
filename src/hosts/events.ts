import type { Logger } from 'pino';
import type { Sql } from '../platform/db/client.js';
import { LiveFeed } from '../platform/notifications/live-feed.js';
import { parseSeqCursor } from '../platform/paging.js';
import { HOST_FEED_KEY, hostEventHead, hostEventsAfter } from './queries.js';
import type { HostEventRow } from './tables.js';

/** The host events (one dense sequence for all hosts) as a replayable feed for subscriptions. */
export class HostEvents {
  readonly feed: LiveFeed<HostEventRow>;

  constructor(sql: Sql, log: Logger) {
    this.feed = new LiveFeed<HostEventRow>(
      {
        fetch: (_key, after, limit) => hostEventsAfter(sql, after, limit),
        head: () => hostEventHead(sql),
        seqOf: (e) => e.seq,
      },
      log,
    );
  }

  async subscribe(after: string | null | undefined): Promise<AsyncIterableIterator<HostEventRow>> {
    const from = after ? parseSeqCursor(after) : await this.feed.head(HOST_FEED_KEY);
    return this.feed.subscribe(HOST_FEED_KEY, from);
  }
}
