import 'reflect-metadata';
import crypto from 'node:crypto';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './platform/config.js';
import { AgentSessions } from './clusters/agent-gateway.js';
import { ClusterController, handleOf } from './clusters/loops/cluster-controller.js';
import { ScalingController } from './clusters/scaling/loop.js';
import { FunctionController } from './functions/loops/instance-controller.js';
import { FunctionInvoker } from './functions/loops/async-invoker.js';
import { Scheduler } from './triggers/sources/schedule/loop.js';
import { QueuePoller } from './triggers/sources/queue/loop.js';
import { StepDispatcher } from './clusters/loops/step-dispatcher.js';
import { TriggerDispatcher } from './triggers/loops/outbox-dispatcher.js';
import { connect, type Sql } from './platform/db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './platform/db/embedded-postgres.js';
import { runMigrations } from './platform/db/migrate.js';
import { liveInstancesOnHost } from './clusters/queries/instances.js';
import { LocalFunctionRuntime } from './engine/functions/local-runtime.js';
import { closeToOthers } from './engine/functions/sandbox.js';
import { LocalDriver } from './engine/local/local-driver.js';
import { Channel } from './platform/notifications/channels.js';
import { Listener } from './platform/notifications/listener.js';
import { buildApiSchema } from './platform/graphql/schema.js';
import { createHttpServer, type HttpServer } from './platform/server/http.js';
import { createServices, type Services } from './platform/services-bag.js';
import { Secrets } from './platform/secrets.js';
import { ServerRegistry } from './platform/servers.js';
import { sandboxToolOf } from './platform/sandbox-check.js';

export interface RunningApp {
  serverId: string;
  port: number;
  url: string;
  databaseUrl: string;
  services: Services;
  controller: ClusterController;
  /** the engine running function instances on this server */
  functionRuntime: LocalFunctionRuntime;
  /** the generated admin key on a first start (null when one existed or ADMIN_API_KEY was given) */
  generatedAdminKey: string | null;
  /** Graceful stop. Node agents keep running (a restarted control plane takes them back) unless
   *  `stopAgents` is set, which is what tests and single-user `npm start` sessions want. */
  close(options?: { stopAgents?: boolean }): Promise<void>;
}

/** `<key>:<seq>` or `<key>:<seq>:-` (an event that is no work hint) */
function splitNotification(payload: string): { key: string; seq: number; workHint: boolean } {
  const [key = '', seq = '0', mark] = payload.split(':');
  return { key, seq: Number(seq), workHint: mark !== '-' };
}

export interface AppHooks {
  /** sees every SQL statement the server's pool sends (the bench counts statements per request) */
  onQuery?: (query: string) => void;
}

export async function startApp(config: Config, log: Logger, hooks: AppHooks = {}): Promise<RunningApp> {
  const serverId = `srv-${crypto.randomBytes(6).toString('hex')}`;
  log = log.child({ serverId });
  const sandboxTool = sandboxToolOf(config, log);
  let embedded: EmbeddedDatabase | null = null;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    databaseUrl = embedded.url;
  }
  let sql: Sql | null = null;
  let leaderDb: Sql | null = null;
  let functionRuntime: LocalFunctionRuntime | null = null;
  try {
    await runMigrations(databaseUrl);
    sql = connect(databaseUrl, { max: config.dbPoolSize, applicationName: serverId, onQuery: hooks.onQuery });
    const services = createServices(sql, log, config, await Secrets.load(config, sql, log));
    await services.storage.start();
    if (services.spark.available) await services.metastore.start(databaseUrl);
    functionRuntime = new LocalFunctionRuntime(
      config.functionsRuntimeDir ?? os.tmpdir(), serverId,
      (functionId, lines) => services.invocations.logs.add(functionId, lines),
      {
        pythonCommand: config.functionPython, tool: sandboxTool, spares: config.functionSpareSandboxes,
        debug: (msg) => log.debug(msg),
      },
    );
    const swept = await functionRuntime.init();
    if (swept.length) log.info({ roots: swept }, 'removed the function runtime roots of servers that are gone');
    // the embedded Postgres owns its dir (and needs DATA_DIR enterable); everything else is the server's
    if (functionRuntime.sandbox.isolated) await closeToOthers(config.dataDir, ['postgres']);
    const fnRuntime = functionRuntime;
    services.invocations.attach(fnRuntime);
    const functionController = new FunctionController(services.functions, services.provisioned, fnRuntime, log, {
      intervalMs: config.reconcileIntervalMs, idleMs: config.functionIdleSeconds * 1_000,
    });
    const functionInvoker = new FunctionInvoker(sql, services.invocations, serverId, log, {
      intervalMs: config.reconcileIntervalMs, parallel: config.functionAsyncParallel, leaseSeconds: 960,
      shutdownGraceMs: config.functionShutdownGraceMs,
    });
    const triggerDispatcher = new TriggerDispatcher(sql, services.triggers, log, { intervalMs: config.reconcileIntervalMs });
    const queuePoller = new QueuePoller(sql, { queues: services.queues, invocations: services.invocations, log }, config.reconcileIntervalMs);
    services.functions.onPending = () => functionController.kick();
    services.provisioned.onChange = () => functionController.kick();
    services.functions.onDeleted = (functionId) => {
      fnRuntime.removeFunction(functionId).catch((err) => log.error({ err, functionId }, 'stopping a deleted function\'s instances failed'));
    };
    const generatedAdminKey = await services.auth.bootstrap(config.adminApiKey);

    const sessions = new AgentSessions(services, serverId, log);
    const dispatcher = new StepDispatcher(services, sessions, serverId, log);
    sessions.onWork = (clusterId) => dispatcher.kick(clusterId);
    services.hints.on((clusterId) => dispatcher.kick(clusterId));
    const driver = new LocalDriver({ dataDir: config.dataDir, sandbox: config.sandbox, objectDirs: [config.bucketsDir, services.storage.tmpDir], heartbeatMs: config.agentHeartbeatMs, orphanSeconds: config.agentOrphanSeconds });
    const scaling = new ScalingController(services, log, config.metricsIntervalMs);
    const registry = new ServerRegistry(sql, serverId);
    leaderDb = connect(databaseUrl, { max: 1, applicationName: `${serverId}-leader` });
    const controller = new ClusterController(services, driver, log, {
      leaderDb,
      intervalMs: config.reconcileIntervalMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      joinTimeoutMs: 60_000,
      startupTimeoutMs: config.startupTimeoutSeconds * 1_000,
      // longer than the agent's own shutdown (2 s for its steps, then a last flush)
      stopGraceMs: 5_000,
      controlPlaneUrls: () => registry.agentUrls(),
      decommissionTimeoutMs: config.sparkDecommissionTimeoutSeconds * 1_000,
      afterPass: (active) => scaling.pass(active),
    });

    const scheduler = new Scheduler(services.schedules, log, { intervalMs: config.reconcileIntervalMs });

    const listener = new Listener(sql, log);
    listener.on(Channel.clusterEvent, (p) => {
      const { key, seq, workHint } = splitNotification(p);
      services.events.feed.notify(key, seq);
      if (!workHint) return;
      dispatcher.kick(key);
      controller.hint();
    });
    listener.on(Channel.invocation, () => functionInvoker.kick());
    listener.on(Channel.triggerOutbox, () => triggerDispatcher.kick());
    listener.on(Channel.queue, (queueId) => services.queues.signal(queueId));
    listener.on(Channel.log, (p) => {
      const { key, seq } = splitNotification(p);
      services.logs.feed.notify(key, seq);
    });
    let http: HttpServer | null = null;
    listener.on(Channel.apiKey, (keyId) => { services.auth.forget(); http?.revokeKey(keyId); });
    const reloadRoutes = () => { services.httpRoutes.refresh().catch((err) => log.warn({ err }, 'HTTP routes not reloaded')); };
    // a trigger changed: every source that caches triggers on this server looks again
    listener.on(Channel.triggers, () => { reloadRoutes(); scheduler.kick(); queuePoller.kick(); });
    listener.on(Channel.functions, () => services.functions.forget());
    listener.onReconnect(() => {
      services.events.feed.pokeAll();
      services.logs.feed.pokeAll();
      services.auth.forget();
      services.functions.forget();
      reloadRoutes();
      services.queues.signalAll();
      queuePoller.kick();
      dispatcher.tick();
      controller.kick();
      scheduler.kick();
      triggerDispatcher.kick();
    });
    await listener.start([
      Channel.clusterEvent, Channel.log, Channel.apiKey, Channel.invocation, Channel.functions, Channel.triggers, Channel.triggerOutbox, Channel.queue,
    ]);

    await services.httpRoutes.start();

    const schema = await buildApiSchema();
    http = await createHttpServer(schema, services, sessions, log, {
      introspection: config.introspection, explorer: config.explorer,
      fieldRates: { sqlPreview: { burst: config.sqlPreviewBurst, perMinute: config.sqlPreviewPerMinute } }, bodyLimitBytes: config.graphqlBodyLimitBytes,
    });
    const httpServer = http;
    await new Promise<void>((resolve, reject) => {
      httpServer.server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(
        `port ${config.port} on ${config.host} is already in use by another process: refusing to start. Agents and clients `
        + 'that dial it would talk to whoever holds it: stop that process (or set PORT to a free port) and start again',
      ) : err));
      httpServer.server.listen(config.port, config.host, () => resolve());
    });
    const port = (httpServer.server.address() as AddressInfo).port;
    services.httpRoutes.baseUrl = config.publicUrl ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    const agentUrl = config.agentUrl ?? `ws://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}/agent`;
    await registry.register(agentUrl);
    dispatcher.start(config.reconcileIntervalMs);
    controller.start();
    functionController.start();
    functionController.kick();
    functionInvoker.start();
    functionInvoker.kick();
    scheduler.start();
    triggerDispatcher.start();
    triggerDispatcher.kick();
    queuePoller.start();
    log.info({ port }, 'control plane listening');

    let closing: Promise<void> | null = null;
    return {
      serverId, port, url: `http://127.0.0.1:${port}`, databaseUrl, services, controller, generatedAdminKey, functionRuntime: fnRuntime,
      close(options = {}) {
        closing ??= (async () => {
          // long polls return now instead of holding the HTTP server's drain
          services.queues.close();
          await httpServer.close();
          services.storage.stop();
          services.httpRoutes.stop();
          await controller.stop();
          await dispatcher.stop();
          await scheduler.stop();
          await triggerDispatcher.stop();
          await functionInvoker.stop();
          await queuePoller.stop();
          await functionController.stop();
          await fnRuntime.close();
          await services.invocations.logs.close();
          if (options.stopAgents) {
            const mine = await liveInstancesOnHost(sql!, driver.host);
            await Promise.allSettled(mine.map((i) => driver.stop(handleOf(i), 2_000)));
          }
          await sessions.close();
          await services.metrics.close();
          await registry.unregister();
          await listener.stop();
          services.events.feed.close();
          services.logs.feed.close();
          await leaderDb!.end({ timeout: 5 });
          await sql!.end({ timeout: 5 });
          await embedded?.stop();
          log.info('control plane stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await functionRuntime?.close().catch(() => {});
    await leaderDb?.end({ timeout: 1 }).catch(() => {});
    await sql?.end({ timeout: 1 }).catch(() => {});
    await embedded?.stop().catch(() => {});
    throw err;
  }
}
