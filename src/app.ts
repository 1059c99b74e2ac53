// The control plane, assembled: the platform, then the product modules in dependency order (each
// built from the ones before it), the API server over all of them; prepared in that order, then
// listening, then their loops started; stopped in reverse.
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AccessModule } from './access/module.js';
import { apiSchema } from './api-schema.js';
import { ClustersModule } from './clusters/module.js';
import { FunctionsModule } from './functions/module.js';
import { HostsModule } from './hosts/module.js';
import { LogsModule } from './logs/module.js';
import { MessagingModule } from './messaging/module.js';
import type { Config } from './platform/config.js';
import { ResolverInstances } from './platform/graphql/context.js';
import type { Module, StopOptions } from './platform/module.js';
import { startPlatform, type Platform, type PlatformHooks } from './platform/platform.js';
import { createHttpServer, type HttpServer } from './platform/server/http.js';
import { SqlModule } from './sql/module.js';
import { sqlStep } from './sql/step-kind.js';
import { StorageModule } from './storage/module.js';
import { TriggerDeliveries } from './triggers/deliveries.js';
import { TriggersModule } from './triggers/module.js';
import { TopicTriggerFanOut } from './triggers/sources/topic/fan-out.js';

export interface Modules {
  access: AccessModule;
  logs: LogsModule;
  storage: StorageModule;
  hosts: HostsModule;
  functions: FunctionsModule;
  messaging: MessagingModule;
  clusters: ClustersModule;
  sql: SqlModule;
  triggers: TriggersModule;
}

export interface RunningApp {
  serverId: string;
  port: number;
  /** where this server answers on its own host: http://<HOST>:<port> (127.0.0.1 for HOST=0.0.0.0) */
  url: string;
  databaseUrl: string;
  modules: Modules;
  /** the generated admin key on a first start (null when one existed or ADMIN_API_KEY was given) */
  generatedAdminKey: string | null;
  /** Graceful stop. Node agents keep running (a restarted control plane takes them back) unless
   *  `stopAgents` is set, which is what tests and single-user `npm start` sessions want. */
  close(options?: Partial<StopOptions>): Promise<void>;
}

export type AppHooks = PlatformHooks;

function createModules(platform: Platform): Modules {
  const access = new AccessModule(platform);
  const { authenticate } = access;
  const logs = new LogsModule(platform);
  const storage = new StorageModule(platform, { authenticate, s3Credentials: access.s3Credentials });
  const hosts = new HostsModule(platform, { storage: storage.storage });
  const functions = new FunctionsModule(platform, { logs: logs.logs, storage: storage.storage, access: access.keys, hosts });
  // a topic's function subscriptions are TOPIC triggers: a publish queues their deliveries
  const deliveries = new TriggerDeliveries(platform.sql, functions.functions, platform.log);
  const messaging = new MessagingModule(platform, { functionSubscribers: new TopicTriggerFanOut(deliveries) });
  const clusters = new ClustersModule(platform, {
    logs: logs.logs,
    storage: storage.storage,
    sqlSteps: sqlStep,
    workloads: access.workloads,
    hosts,
  });
  const sql = new SqlModule(platform, { storage: storage.storage, clusters });
  const triggers = new TriggersModule(platform, { deliveries, functions, messaging, authenticate });
  return { access, logs, storage, hosts, functions, messaging, clusters, sql, triggers };
}

export async function startApp(config: Config, log: Logger, hooks: AppHooks = {}): Promise<RunningApp> {
  const platform = await startPlatform(config, log, hooks);
  const started: Module[] = [];
  let http: HttpServer | null = null;
  // each step runs whatever the one before did: a stop that fails must not leave processes behind
  const stopAll = async (options: StopOptions) => {
    const step = async (what: string, run: () => unknown) => {
      try {
        await run();
      } catch (err) {
        platform.log.error({ err }, `stopping: ${what} failed`);
      }
    };
    const reversed = [...started].reverse();
    for (const module of reversed) await step(`${module.name} drain`, () => module.drain?.());
    await step('the API server', () => http?.close());
    await step('LISTEN', () => platform.listener.stop());
    for (const module of reversed) await step(module.name, () => module.stop?.(options));
    await step('the server registry', () => platform.registry.unregister());
    await step('the database', () => platform.close());
  };
  try {
    const modules = createModules(platform);
    const all: Module[] = Object.values(modules);
    for (const module of all) {
      // stopped on a failed start too, whatever part of it ran
      started.push(module);
      await module.prepare?.();
    }
    const resolvers = new ResolverInstances(all.flatMap((m) => m.resolvers));
    http = await createHttpServer(
      await apiSchema(resolvers),
      {
        resolvers,
        surfaces: all.flatMap((m) => (m.http ? [m.http] : [])),
        authenticate: modules.access.authenticate,
        healthy: () =>
          platform.sql`select 1`.then(
            () => true,
            () => false,
          ),
      },
      platform.log,
      {
        introspection: config.introspection,
        explorer: config.explorer,
        console: config.console,
        bodyLimitBytes: config.graphqlBodyLimitBytes,
        sockets: {
          connectionsPerKey: config.wsConnectionsPerKey,
          operationsPerConnection: config.wsOperationsPerConnection,
          operationsPerKey: config.wsOperationsPerKey,
        },
        fieldRates: { sqlPreview: { burst: config.sqlPreviewBurst, perMinute: config.sqlPreviewPerMinute } },
      },
    );
    await platform.listener.start([...all, http]);
    const port = await listen(http, config);
    platform.address.listening(port);
    await platform.registry.register(platform.address.agentUrl);
    for (const module of all) await module.start?.();
    platform.log.info({ port }, 'control plane listening');

    let closing: Promise<void> | null = null;
    return {
      serverId: platform.serverId,
      port,
      url: platform.address.localUrl,
      databaseUrl: platform.databaseUrl,
      modules,
      generatedAdminKey: modules.access.generatedAdminKey,
      close(options = {}) {
        closing ??= stopAll({ stopAgents: options.stopAgents ?? false }).then(() => platform.log.info('control plane stopped'));
        return closing;
      },
    };
  } catch (err) {
    await stopAll({ stopAgents: false });
    throw err;
  }
}

function listen(http: HttpServer, config: Config): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    http.server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `port ${config.port} on ${config.host} is already in use by another process: refusing to start. Agents and clients ` +
                'that dial it would talk to whoever holds it: stop that process (or set PORT to a free port) and start again',
            )
          : err,
      ),
    );
    http.server.listen(config.port, config.host, () => resolve((http.server.address() as AddressInfo).port));
  });
}
