// Messaging: queues (the SQS model) and topics (the SNS model) that fan out to queues and functions.
import type { Module } from '../platform/module.js';
import { Channel } from '../platform/notifications/channels.js';
import type { Platform } from '../platform/platform.js';
import { perRequest } from '../platform/graphql/context.js';
import { QueueResolver } from './graphql/queue-resolver.js';
import { TopicResolver } from './graphql/topic-resolver.js';
import { createMessagingLoaders } from './loaders.js';
import { QueueService } from './queues.js';
import { TopicService, type TopicFunctionSubscribers } from './topics.js';

export const messagingResolvers = [QueueResolver, TopicResolver];

export class MessagingModule implements Module {
  readonly name = 'messaging';
  readonly queues: QueueService;
  readonly topics: TopicService;
  readonly resolvers: object[];

  constructor(platform: Platform, deps: { functionSubscribers: TopicFunctionSubscribers }) {
    this.queues = new QueueService(platform.sql);
    this.topics = new TopicService(platform.sql, deps.functionSubscribers, platform.address);
    const loaders = perRequest(() => createMessagingLoaders(this.queues, this.topics));
    this.resolvers = [new QueueResolver(this.queues, loaders), new TopicResolver(this.topics, loaders)];
  }

  // messages became visible somewhere: long polls waiting on that queue here look again
  readonly channels = { [Channel.queue]: (queueId: string) => this.queues.signal(queueId) };

  caughtUp(): void {
    this.queues.signalAll();
  }

  drain(): void {
    this.queues.close();
  }
}
