import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import type { ChannelName } from './channels.js';

type Handler = (payload: string) => void;

/**
 * One LISTEN connection per process, fanned out to in-process handlers. After every (re)connect the
 * `onListen` hooks run so consumers catch up on whatever was committed while the connection was down.
 */
export class Listener {
  private handlers = new Map<ChannelName, Set<Handler>>();
  private reconnectHooks = new Set<() => void>();
  private unlisteners: Array<() => Promise<void>> = [];

  constructor(private readonly sql: Sql, private readonly log: Logger) {}

  async start(channels: ChannelName[]): Promise<void> {
    for (const channel of channels) {
      let first = true;
      const request = await this.sql.listen(
        channel,
        (payload) => this.dispatch(channel, payload),
        () => {
          if (first) { first = false; return; }
          this.log.info({ channel }, 'LISTEN re-established; catching up');
          for (const hook of this.reconnectHooks) hook();
        },
      );
      this.unlisteners.push(() => request.unlisten());
    }
  }

  on(channel: ChannelName, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    return () => set!.delete(handler);
  }

  onReconnect(hook: () => void): () => void {
    this.reconnectHooks.add(hook);
    return () => this.reconnectHooks.delete(hook);
  }

  private dispatch(channel: ChannelName, payload: string): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.log.error({ err, channel }, 'notification handler failed');
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.unlisteners.map((u) => u()));
    this.unlisteners = [];
  }
}
