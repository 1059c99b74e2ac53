import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import type { ChannelName } from './channels.js';

type Handler = (payload: string) => void;

/** A part of the server that NOTIFY channels are for (a module, the API server). */
export interface ChannelOwner {
  readonly name: string;
  /** the channels it owns: each payload is handed to it */
  readonly channels?: { readonly [C in ChannelName]?: Handler };
  /** LISTEN came back after a drop: look again at whatever a missed notification would have said */
  caughtUp?(): void;
}

/**
 * One LISTEN connection per process. Each channel's payloads go straight to the owners that declared
 * it; after a reconnect every owner catches up on whatever was committed while the connection was down.
 */
export class Listener {
  private unlisteners: Array<() => Promise<void>> = [];

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  async start(owners: readonly ChannelOwner[]): Promise<void> {
    const byChannel = new Map<ChannelName, Array<{ owner: string; handle: Handler }>>();
    for (const owner of owners) {
      for (const [channel, handle] of Object.entries(owner.channels ?? {}) as Array<[ChannelName, Handler]>) {
        byChannel.set(channel, [...(byChannel.get(channel) ?? []), { owner: owner.name, handle }]);
      }
    }
    const catchUp = () => {
      for (const owner of owners) owner.caughtUp?.();
    };
    for (const [channel, handlers] of byChannel) {
      let first = true;
      const request = await this.sql.listen(
        channel,
        (payload) => {
          for (const { owner, handle } of handlers) {
            try {
              handle(payload);
            } catch (err) {
              this.log.error({ err, channel, owner }, 'notification handler failed');
            }
          }
        },
        () => {
          if (first) {
            first = false;
            return;
          }
          this.log.info({ channel }, 'LISTEN re-established; catching up');
          catchUp();
        },
      );
      this.unlisteners.push(() => request.unlisten());
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.unlisteners.map((u) => u()));
    this.unlisteners = [];
  }
}
