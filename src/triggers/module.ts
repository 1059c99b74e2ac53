// Triggers: sources of events (HTTP routes, schedules, bucket changes, queues, topics, cluster
// events) bound to a function; each source kind lives in sources/<kind>/. A delivery is the
// invocation a trigger made.
import type { Logger } from 'pino';
import type { FunctionsModule } from '../functions/module.js';
import type { MessagingModule } from '../messaging/module.js';
import type { Authenticate } from '../platform/authorization.js';
import type { HttpSurface, Module } from '../platform/module.js';
import { Channel } from '../platform/notifications/channels.js';
import type { Platform } from '../platform/platform.js';
import type { TriggerDeliveries } from './deliveries.js';
import { OutboxDispatcher } from './loops/outbox-dispatcher.js';
import { InvocationPayloadResolver, TriggerResolver } from './resolvers.js';
import { TriggerService } from './service.js';
import { TriggerBucketResolver } from './sources/bucket/resolvers.js';
import { TriggerClusterEventsResolver } from './sources/cluster-events/resolvers.js';
import { httpTriggerHandler, isHttpTriggerUrl } from './sources/http/request-handler.js';
import { FunctionUrlResolver, HttpTriggerResolver } from './sources/http/resolvers.js';
import { HttpRouteService } from './sources/http/route-table.js';
import { QueuePoller } from './sources/queue/loop.js';
import { TriggerQueueResolver } from './sources/queue/resolvers.js';
import { Scheduler } from './sources/schedule/loop.js';
import { ScheduleSourceTimesResolver, TriggerScheduleResolver } from './sources/schedule/resolvers.js';
import { ScheduleService } from './sources/schedule/service.js';
import { TopicSubscriptionsResolver, TriggerTopicResolver } from './sources/topic/resolvers.js';

export const triggersResolvers = [
  TriggerResolver,
  InvocationPayloadResolver,
  TriggerBucketResolver,
  TriggerClusterEventsResolver,
  HttpTriggerResolver,
  FunctionUrlResolver,
  TriggerQueueResolver,
  TriggerScheduleResolver,
  ScheduleSourceTimesResolver,
  TriggerTopicResolver,
  TopicSubscriptionsResolver,
];

export class TriggersModule implements Module {
  readonly name = 'triggers';
  readonly triggers: TriggerService;
  readonly schedules: ScheduleService;
  /** HTTP trigger routes of this server (in memory) and function URLs */
  readonly httpRoutes: HttpRouteService;
  readonly resolvers: object[];
  readonly http: HttpSurface;
  private readonly outbox: OutboxDispatcher;
  private readonly scheduler: Scheduler;
  private readonly queuePoller: QueuePoller;
  private readonly log: Logger;

  constructor(
    platform: Platform,
    deps: { deliveries: TriggerDeliveries; functions: FunctionsModule; messaging: MessagingModule; authenticate: Authenticate },
  ) {
    const { sql, config, log } = platform;
    const { deliveries } = deps;
    this.log = log;
    this.triggers = new TriggerService(sql, deps.functions.functions, deps.functions.invocations);
    this.schedules = new ScheduleService(sql, deliveries, config.scheduleMissedTickGraceSeconds * 1_000, log);
    this.httpRoutes = new HttpRouteService(sql, this.triggers, log, platform.address);
    this.outbox = new OutboxDispatcher(deliveries, log, { intervalMs: config.reconcileIntervalMs });
    this.scheduler = new Scheduler(this.schedules, log, { intervalMs: config.reconcileIntervalMs });
    this.queuePoller = new QueuePoller(
      sql,
      { queues: deps.messaging.queues, invocations: deps.functions.invocations, log },
      config.reconcileIntervalMs,
    );
    this.resolvers = [
      new TriggerResolver(this.triggers),
      new InvocationPayloadResolver(this.triggers),
      new TriggerBucketResolver(),
      new TriggerClusterEventsResolver(),
      new HttpTriggerResolver(this.httpRoutes),
      new FunctionUrlResolver(this.httpRoutes),
      new TriggerQueueResolver(),
      new TriggerScheduleResolver(this.schedules),
      new ScheduleSourceTimesResolver(this.schedules),
      new TriggerTopicResolver(),
      new TopicSubscriptionsResolver(sql),
    ];
    // HTTP trigger routes (/http/…): a plain handler in front of Express
    const handle = httpTriggerHandler(deps.authenticate, deps.functions.invocations, this.httpRoutes, log);
    this.http = { handlers: [{ owns: (req) => isHttpTriggerUrl(req.url), handle }] };
  }

  readonly channels = {
    [Channel.triggerOutbox]: () => this.outbox.kick(),
    // a trigger changed: every source that caches triggers on this server looks again
    [Channel.triggers]: () => {
      this.reloadRoutes();
      this.scheduler.kick();
      this.queuePoller.kick();
    },
  };

  caughtUp(): void {
    this.reloadRoutes();
    this.queuePoller.kick();
    this.scheduler.kick();
    this.outbox.kick();
  }

  private reloadRoutes(): void {
    this.httpRoutes.refresh().catch((err) => this.log.warn({ err }, 'HTTP routes not reloaded'));
  }

  // the routes are served from the first request on
  prepare(): Promise<void> {
    return this.httpRoutes.start();
  }

  start(): void {
    this.scheduler.start();
    this.outbox.start();
    this.outbox.kick();
    this.queuePoller.start();
  }

  async stop(): Promise<void> {
    this.httpRoutes.stop();
    await this.scheduler.stop();
    await this.outbox.stop();
    await this.queuePoller.stop();
  }
}
