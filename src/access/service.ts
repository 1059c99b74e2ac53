import type { Logger } from 'pino';
import type { Sql, Tx } from '../platform/db/client.js';
import * as q from './queries.js';
import type { ApiKeyRow } from './tables.js';
import { workloadS3Credentials } from './workload-credentials.js';
import { newS3AccessKeyId, newS3Secret, S3_ACCESS_KEY_ID, WORKLOAD_KEY_ID_PREFIX } from './s3-keys.js';
import { Channel, notify } from '../platform/notifications/channels.js';
import { newId, secret, sha256 } from '../platform/ids.js';
import type { Secrets } from '../platform/secrets.js';
import { AppError, badInput, notFound } from '../platform/errors.js';
import { Limits, requireList, requireName } from '../platform/validate.js';
import { ACTION_PATTERN, covers, type Principal } from '../platform/authorization.js';

const CACHE_TTL_MS = 5_000;
/** What SigV4 verification needs for an access key id: its secret and who it speaks for. */
export interface S3Credentials {
  secretAccessKey: string;
  principal: Principal;
}

/** An API key's S3 credentials as a function's configuration keeps them (the secret still sealed). */
export interface ExecutionKey {
  keyId: string;
  accessKeyId: string;
  secretSealed: string;
}

export class AuthService {
  // Key checks run on every request: a short cache keeps them off the database; revocation
  // clears it on every replica through NOTIFY. Keyed by the bearer key itself: its keyed hash (an
  // HMAC) cost more per request than the rest of the check, and each request holds its key anyway.
  private cache = new Map<string, { principal: Principal | null; expires: number }>();
  // the same for S3 access key ids (revocation clears both)
  private s3Cache = new Map<string, { credentials: S3Credentials | null; expires: number }>();
  // bumped on every forget(): a lookup that started before a revocation must not re-fill the cache
  private generation = 0;

  constructor(
    private readonly sql: Sql,
    private readonly secrets: Secrets,
    private readonly log: Logger,
  ) {}

  forget(): void {
    this.generation++;
    this.cache.clear();
    this.s3Cache.clear();
  }

  /**
   * The secret and principal of an S3 access key id (null: unknown or revoked), cached like
   * bearer keys: a revocation clears the cache on every server at once (NOTIFY). Short-lived
   * credentials (a session token beside the key id) would be looked up here too.
   */
  async s3Credentials(accessKeyId: string): Promise<S3Credentials | null> {
    if (!S3_ACCESS_KEY_ID.test(accessKeyId)) return null;
    const cached = this.s3Cache.get(accessKeyId);
    if (cached && cached.expires > Date.now()) return cached.credentials;
    const generation = this.generation;
    const credentials = accessKeyId.startsWith(WORKLOAD_KEY_ID_PREFIX)
      ? await workloadS3Credentials(this.sql, this.secrets, accessKeyId)
      : await this.apiKeyS3Credentials(accessKeyId);
    if (this.s3Cache.size > 10_000) this.s3Cache.clear();
    if (generation === this.generation) this.s3Cache.set(accessKeyId, { credentials, expires: Date.now() + CACHE_TTL_MS });
    return credentials;
  }

  private async apiKeyS3Credentials(accessKeyId: string): Promise<S3Credentials | null> {
    const row = await q.apiKeyByS3AccessKeyId(this.sql, accessKeyId);
    return row && !row.revokedAt && row.s3SecretSealed
      ? { secretAccessKey: this.secrets.decrypt(row.s3SecretSealed), principal: { keyId: row.id, name: row.name, actions: row.actions } }
      : null;
  }

  async authenticate(header: string | undefined | null): Promise<Principal | null> {
    if (!header) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return null;
    const key = match[1]!;
    const cached = this.cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.principal;
    const generation = this.generation;
    const row = await this.keyRow(this.sql, key);
    const principal = row && !row.revokedAt ? { keyId: row.id, name: row.name, actions: row.actions } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    if (generation === this.generation) this.cache.set(key, { principal, expires: Date.now() + CACHE_TTL_MS });
    return principal;
  }

  /**
   * The row of a key, by its keyed hash; a row stored before keyed hashes (a bare SHA-256, which
   * can't be converted without the key) is found by that and rehashed now, at its first use.
   */
  private async keyRow(db: Sql | Tx, key: string): Promise<ApiKeyRow | undefined> {
    const hash = this.secrets.keyedHash(key);
    const row = await q.apiKeyByHash(db, hash);
    if (row) return row;
    const legacy = await q.apiKeyByHash(db, sha256(key));
    if (!legacy) return undefined;
    await q.rehashApiKey(db, legacy.hash, hash);
    this.log.info({ keyId: legacy.id }, 'API key rehashed with the server secret');
    return { ...legacy, hash };
  }

  /** First start: make sure an admin key exists; returns the key when one was generated. */
  async bootstrap(adminKey: string | undefined): Promise<string | null> {
    return this.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7263002)`;
      if (adminKey) {
        if (!(await this.keyRow(tx, adminKey))) {
          await q.insertApiKey(tx, {
            id: newId('ak'),
            name: 'admin (ADMIN_API_KEY)',
            hash: this.secrets.keyedHash(adminKey),
            actions: ['*'],
          });
        }
        return null;
      }
      if ((await q.countApiKeys(tx)) > 0) return null;
      const key = `ep_${secret(24)}`;
      await q.insertApiKey(tx, { id: newId('ak'), name: 'admin', hash: this.secrets.keyedHash(key), actions: ['*'] });
      return key;
    });
  }

  /** A new key never gets more than its creator has: by default exactly the creator's actions. */
  async create(
    creator: Principal,
    input: { name: string; actions?: string[] | null; s3Credentials?: boolean | null },
  ): Promise<{ key: string; row: ApiKeyRow; s3SecretAccessKey: string | null }> {
    const name = requireName(input.name, 'name');
    const actions = input.actions ?? creator.actions;
    requireList(actions, 'actions', 1, 100);
    actions.forEach((a, i) => {
      if (!ACTION_PATTERN.test(a))
        throw badInput(`actions.${i}`, `"${a.slice(0, 100)}" is not an action pattern like "clusters:*" or "clusters:DescribeCluster"`);
      if (!creator.actions.some((c) => covers(c, a))) {
        throw new AppError('FORBIDDEN', `a key may not grant "${a}", which the creating key does not have`, `actions.${i}`);
      }
    });
    const key = `ep_${secret(24)}`;
    const s3SecretAccessKey = input.s3Credentials ? newS3Secret() : null;
    const row = await q.insertApiKey(this.sql, {
      id: newId('ak'),
      name,
      hash: this.secrets.keyedHash(key),
      actions: [...actions],
      s3AccessKeyId: s3SecretAccessKey === null ? null : newS3AccessKeyId(),
      s3SecretSealed: s3SecretAccessKey === null ? null : this.secrets.encrypt(s3SecretAccessKey),
    });
    return { key, row, s3SecretAccessKey };
  }

  /**
   * The S3 credentials of key `keyId` for a function to run with. Handing a key to code is using it, so
   * the caller must hold every action the key has (as IAM's iam:PassRole): a narrow key cannot reach a
   * wider one's rights through a function. A revoked key's credentials stop at the S3 endpoint.
   */
  async executionKey(caller: Principal, keyId: string, field: string): Promise<ExecutionKey> {
    if (keyId.length > Limits.nameLength) throw badInput(field, 'is too long');
    const row = await q.apiKeyById(this.sql, keyId);
    if (!row || row.revokedAt) throw notFound('API key', keyId, field);
    if (!row.s3AccessKeyId || !row.s3SecretSealed) {
      throw badInput(field, `API key ${keyId} has no S3 credentials: create one with createApiKey(input: { s3Credentials: true })`);
    }
    const wider = row.actions.find((a) => !caller.actions.some((c) => covers(c, a)));
    if (wider !== undefined) {
      throw new AppError('FORBIDDEN', `API key ${keyId} may do "${wider}", which this key may not: it can't be given to a function`, field);
    }
    return { keyId: row.id, accessKeyId: row.s3AccessKeyId, secretSealed: row.s3SecretSealed };
  }

  async revoke(id: string): Promise<ApiKeyRow> {
    if (id.length > Limits.nameLength) throw badInput('id', 'is too long');
    const row = await this.sql.begin(async (tx) => {
      const row = await q.revokeApiKey(tx, id);
      if (!row) throw notFound('API key', id, 'id');
      await notify(tx, Channel.apiKey, id);
      return row;
    });
    this.forget();
    return row;
  }

  list(): Promise<ApiKeyRow[]> {
    return q.listApiKeys(this.sql);
  }
}
