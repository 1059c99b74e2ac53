// What every module is built from: this server's identity, configuration, log, database and keys.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { SandboxTool } from '../engine/sandbox/confine.js';
import type { Config } from './config.js';
import { connect, type Sql } from './db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded-postgres.js';
import { runMigrations } from './db/migrate.js';
import { Listener } from './notifications/listener.js';
import { sandboxToolOf } from './sandbox-check.js';
import { Secrets } from './secrets.js';
import { ServerRegistry } from './servers.js';

/** Where this server answers, known once it listens (function URLs and agents' dial-back use it). */
export class ServerAddress {
  private port: number | null = null;

  constructor(private readonly config: Pick<Config, 'host' | 'publicUrl' | 'agentUrl'>) {}

  listening(port: number): void {
    this.port = port;
  }

  private get host(): string {
    return this.config.host === '0.0.0.0' ? '127.0.0.1' : this.config.host;
  }

  /** the base of URLs given to clients (PUBLIC_URL, else the address it listens on) */
  get publicUrl(): string {
    return this.config.publicUrl ?? `http://${this.host}:${this.port}`;
  }

  /** the HTTP base processes on this host use (sandboxes share the host's network): never PUBLIC_URL,
   *  which may name a proxy they can't reach */
  get localUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** where node agents dial in */
  get agentUrl(): string {
    return this.config.agentUrl ?? `ws://${this.host}:${this.port}/agent`;
  }

  /** the S3 endpoint where agents and hosts dial this server (the same host and port, over HTTP(S)):
   *  what nodes and function instances on any host reach it at */
  get agentS3Url(): string {
    const url = new URL(this.agentUrl);
    return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
  }
}

export interface Platform {
  readonly serverId: string;
  readonly config: Config;
  readonly log: Logger;
  readonly databaseUrl: string;
  /** the server's pool */
  readonly sql: Sql;
  /**
   * a smaller pool for reads whose plans do not depend on their values (the nested cluster reads):
   * Postgres plans each of their statements once per connection (db/client.ts `planOnce`) instead of
   * at every call, where planning cost more than running them
   */
  readonly sqlPlannedOnce: Sql;
  /** one more connection, for the cluster controller's leader lock */
  readonly leaderDb: Sql;
  /** the one LISTEN connection; app.ts hands each channel to the module that owns it */
  readonly listener: Listener;
  /** hashes API keys, encrypts stored secrets */
  readonly secrets: Secrets;
  /** the tools tenant code is confined with; null when SANDBOX=off */
  readonly sandboxTool: SandboxTool | null;
  /** the control-plane servers sharing the database */
  readonly registry: ServerRegistry;
  readonly address: ServerAddress;
  /** closes the database connections and the embedded Postgres */
  close(): Promise<void>;
}

export interface PlatformHooks {
  /** sees every SQL statement the server's pools send (the bench counts statements per request) */
  onQuery?: (query: string) => void;
}

export async function startPlatform(config: Config, log: Logger, hooks: PlatformHooks = {}): Promise<Platform> {
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
  let sqlPlannedOnce: Sql | null = null;
  let leaderDb: Sql | null = null;
  const close = async () => {
    await leaderDb?.end({ timeout: 5 });
    await sqlPlannedOnce?.end({ timeout: 5 });
    await sql?.end({ timeout: 5 });
    await embedded?.stop();
  };
  try {
    await runMigrations(databaseUrl);
    sql = connect(databaseUrl, { max: config.dbPoolSize, applicationName: serverId, onQuery: hooks.onQuery });
    sqlPlannedOnce = connect(databaseUrl, {
      max: Math.max(2, Math.ceil(config.dbPoolSize / 4)),
      applicationName: `${serverId}-planned-once`,
      onQuery: hooks.onQuery,
      planOnce: true,
    });
    // postgres.js learns the array types on a pool's first connection: a statement with an array
    // parameter sent as the very first one fails ("malformed array literal"), so one without goes first
    await sqlPlannedOnce`select 1`;
    const secrets = await Secrets.load(config, sql, log);
    leaderDb = connect(databaseUrl, { max: 1, applicationName: `${serverId}-leader` });
    return {
      serverId,
      config,
      log,
      databaseUrl,
      sql,
      sqlPlannedOnce,
      leaderDb,
      secrets,
      sandboxTool,
      listener: new Listener(sql, log),
      registry: new ServerRegistry(sql, serverId),
      address: new ServerAddress(config),
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
