// Secrets at rest (docs/security.md "Secrets at rest"): one 32-byte key kept outside the database
// (SECRETS_KEY, else DATA_DIR/secrets.key, made on the first start, mode 0600). Subkeys derived
// from it (HKDF-SHA256) hash API keys (HMAC-SHA256) and encrypt environment variables (AES-256-GCM),
// so a copy of the database alone gives neither a usable key nor a function's or step's secrets.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Sql } from './db/client.js';

const KEY_BYTES = 32;
const KEY_FILE = 'secrets.key';
/** stored API key hashes start with this; older rows are a bare SHA-256 (hex), rehashed on first use */
const KEYED_HASH_PREFIX = 'hmac-sha256:';
/** an encrypted value: `v1:` + base64url(12-byte IV | ciphertext | 16-byte tag) */
const ENVELOPE_PREFIX = 'v1:';
const CHECK_SETTING = 'secrets_key_check';
/** set once the environments stored before encryption came have been encrypted */
const SEALED_SETTING = 'environments_sealed';

/** The key from SECRETS_KEY: 32 bytes as 64 hex digits or base64. */
function parseKey(raw: string, from: string): Buffer {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES)
    throw new Error(`${from} must be ${KEY_BYTES} bytes, as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
  return key;
}

/** DATA_DIR/secrets.key, made (0600) if there is none; a file others could read is closed to them first. */
async function keyFile(dataDir: string, log: Logger): Promise<Buffer> {
  const file = path.join(dataDir, KEY_FILE);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': two servers sharing DATA_DIR and starting together agree on the one that was written first
    await fs.writeFile(file, `${crypto.randomBytes(KEY_BYTES).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    log.info({ file }, 'made a new secrets key: back it up with the database (without it, stored secrets cannot be read)');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const stat = await fs.stat(file);
  if ((stat.mode & 0o077) !== 0) {
    await fs.chmod(file, 0o600);
    log.warn({ file, mode: (stat.mode & 0o777).toString(8) }, 'the secrets key was readable by others; it is now 0600');
  }
  return parseKey(await fs.readFile(file, 'utf8'), file);
}

const subkey = (root: Buffer, purpose: string) =>
  Buffer.from(crypto.hkdfSync('sha256', root, Buffer.alloc(0), `emberplane ${purpose}`, KEY_BYTES));

export class Secrets {
  private readonly hashKey: Buffer;
  private readonly encryptionKey: Buffer;
  /** identifies the key (not secret): every server of one database must have the same */
  readonly check: string;

  /** the Hive metastore role's Postgres password: the same on every server of the database, never stored */
  readonly metastorePassword: string;

  constructor(root: Buffer) {
    this.metastorePassword = subkey(root, 'hive metastore password').toString('base64url');
    this.hashKey = subkey(root, 'api key hash');
    this.encryptionKey = subkey(root, 'environment encryption');
    this.check = subkey(root, 'key check').toString('hex');
  }

  /**
   * The key of this server, checked against the database: the first server to start with a
   * database records which key it uses; a server with another key refuses to start (it could
   * neither check the API keys nor read the secrets the others stored).
   */
  static async load(config: { secretsKey: string | undefined; dataDir: string }, sql: Sql, log: Logger): Promise<Secrets> {
    const root = config.secretsKey ? parseKey(config.secretsKey, 'SECRETS_KEY') : await keyFile(config.dataDir, log);
    const secrets = new Secrets(root);
    await sql`insert into settings (name, value) values (${CHECK_SETTING}, ${secrets.check}) on conflict (name) do nothing`;
    const [row] = await sql<{ value: string }[]>`select value from settings where name = ${CHECK_SETTING}`;
    if (row!.value !== secrets.check) {
      throw new Error(
        `the secrets key (${config.secretsKey ? 'SECRETS_KEY' : path.join(config.dataDir, KEY_FILE)}) is not the one this database's ` +
          'secrets were stored with: every server of one database needs the same key (give each the same SECRETS_KEY)',
      );
    }
    await secrets.sealStoredEnvironments(sql, log);
    return secrets;
  }

  /**
   * Environments stored before they were encrypted are encrypted now, once (each update only
   * applies if the row still holds what was read, so servers starting together don't clash).
   */
  private async sealStoredEnvironments(sql: Sql, log: Logger): Promise<void> {
    // once per database: afterwards every environment is written encrypted
    if ((await sql`select 1 from settings where name = ${SEALED_SETTING}`).length > 0) return;
    const clear = `<> '{}'::jsonb and not (%s ? '${SEALED}')`;
    let sealed = 0;
    for (const row of await sql.unsafe<{ id: string; env: Record<string, string> }[]>(
      `select id, environment as env from functions where environment ${clear.replace('%s', 'environment')}`,
    )) {
      sealed += (
        await sql`update functions set environment = ${sql.json(this.sealEnv(row.env))}
                           where id = ${row.id} and environment = ${sql.json(row.env)}`
      ).count;
    }
    for (const row of await sql.unsafe<{ id: string; version: number; env: Record<string, string> }[]>(
      `select function_id as id, version, config->'environment' as env from function_versions where config->'environment' ${clear.replace('%s', "config->'environment'")}`,
    )) {
      sealed += (
        await sql`update function_versions set config = jsonb_set(config, '{environment}', ${sql.json(this.sealEnv(row.env))})
                           where function_id = ${row.id} and version = ${row.version} and config->'environment' = ${sql.json(row.env)}`
      ).count;
    }
    for (const row of await sql.unsafe<{ id: string; env: Record<string, string> }[]>(
      `select id, spec->'env' as env from steps where spec->'env' ${clear.replace('%s', "spec->'env'")}`,
    )) {
      sealed += (
        await sql`update steps set spec = jsonb_set(spec, '{env}', ${sql.json(this.sealEnv(row.env))})
                           where id = ${row.id} and spec->'env' = ${sql.json(row.env)}`
      ).count;
    }
    if (sealed > 0) log.info({ sealed }, 'encrypted environments stored before encryption');
    await sql`insert into settings (name, value) values (${SEALED_SETTING}, 'v1') on conflict (name) do nothing`;
  }

  /** How an API key is stored: HMAC-SHA256 with a key the database doesn't have. */
  keyedHash(value: string): string {
    return KEYED_HASH_PREFIX + crypto.createHmac('sha256', this.hashKey).update(value).digest('hex');
  }

  encrypt(plaintext: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ENVELOPE_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  decrypt(envelope: string): string {
    if (!envelope.startsWith(ENVELOPE_PREFIX)) throw new Error('not an encrypted value');
    const raw = Buffer.from(envelope.slice(ENVELOPE_PREFIX.length), 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.encryptionKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  }

  /**
   * Environment variables as stored: `{"$encrypted": envelope}` (a name no variable can have).
   * Empty stays `{}` (nothing to hide, and a cheap "no environment").
   */
  sealEnv(env: Record<string, string>): Record<string, string> {
    if (Object.keys(env).length === 0) return {};
    return { [SEALED]: this.encrypt(JSON.stringify(env)) };
  }

  /** The variables of a stored environment; one stored before encryption came is read as it is. */
  openEnv(stored: Record<string, string> | null | undefined): Record<string, string> {
    if (!stored) return {};
    const sealed = stored[SEALED];
    return typeof sealed === 'string' ? (JSON.parse(this.decrypt(sealed)) as Record<string, string>) : stored;
  }
}

const SEALED = '$encrypted';
