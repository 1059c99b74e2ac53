// Logs: the line streams of steps (and the feed their subscriptions follow), stored in Postgres.
import type { Module } from '../platform/module.js';
import { Channel } from '../platform/notifications/channels.js';
import { splitNotification } from '../platform/notifications/live-feed.js';
import type { Platform } from '../platform/platform.js';
import { LogLineConnectionResolver } from './resolvers.js';
import { LogService } from './service.js';

export const logsResolvers = [LogLineConnectionResolver];

export class LogsModule implements Module {
  readonly name = 'logs';
  readonly logs: LogService;
  readonly resolvers: object[];

  constructor(platform: Platform) {
    this.logs = new LogService(platform.sql, platform.log);
    this.resolvers = [new LogLineConnectionResolver(this.logs)];
  }

  readonly channels = {
    [Channel.log]: (payload: string) => {
      const { key, seq } = splitNotification(payload);
      this.logs.feed.notify(key, seq);
    },
  };

  caughtUp(): void {
    this.logs.feed.pokeAll();
  }

  stop(): void {
    this.logs.feed.close();
  }
}
