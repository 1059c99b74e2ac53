import type { Db } from '../platform/db/client.js';
import type { ApiKeyRow, WorkloadCredentialRow } from './tables.js';

export async function insertApiKey(
  db: Db,
  k: Pick<ApiKeyRow, 'id' | 'name' | 'hash' | 'actions'> & Partial<Pick<ApiKeyRow, 's3AccessKeyId' | 's3SecretSealed'>>,
): Promise<ApiKeyRow> {
  const [row] = await db<ApiKeyRow[]>`
    insert into api_keys (id, name, hash, actions, s3_access_key_id, s3_secret_sealed)
    values (${k.id}, ${k.name}, ${k.hash}, ${db.array(k.actions)}, ${k.s3AccessKeyId ?? null}, ${k.s3SecretSealed ?? null})
    returning *`;
  return row!;
}

export async function apiKeyByS3AccessKeyId(db: Db, accessKeyId: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`select * from api_keys where s3_access_key_id = ${accessKeyId}`;
  return row;
}

export async function apiKeyById(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`select * from api_keys where id = ${id}`;
  return row;
}

export async function apiKeyByHash(db: Db, hash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`select * from api_keys where hash = ${hash}`;
  return row;
}

export async function countApiKeys(db: Db): Promise<number> {
  const [row] = await db<{ n: number }[]>`select count(*)::int as n from api_keys`;
  return row!.n;
}

export async function listApiKeys(db: Db): Promise<ApiKeyRow[]> {
  return db<ApiKeyRow[]>`select * from api_keys order by created_at, id`;
}

export async function revokeApiKey(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db<ApiKeyRow[]>`
    update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${id} returning *`;
  return row;
}

/** A key still stored as a bare SHA-256, now checked: store its keyed hash instead. */
export async function rehashApiKey(db: Db, legacyHash: string, hash: string): Promise<void> {
  await db`update api_keys set hash = ${hash} where hash = ${legacyHash}`;
}

export async function insertWorkloadCredential(
  db: Db,
  c: Pick<WorkloadCredentialRow, 'accessKeyId' | 'secretSealed' | 'ownerKind' | 'ownerId' | 'actions' | 'createdByKeyId' | 'expiresAt'>,
): Promise<WorkloadCredentialRow> {
  const [row] = await db<WorkloadCredentialRow[]>`
    insert into workload_credentials (access_key_id, secret_sealed, owner_kind, owner_id, actions, created_by_key_id, expires_at)
    values (${c.accessKeyId}, ${c.secretSealed}, ${c.ownerKind}, ${c.ownerId}, ${db.array(c.actions)}, ${c.createdByKeyId}, ${c.expiresAt})
    returning *`;
  return row!;
}

export async function workloadCredentialByAccessKeyId(db: Db, accessKeyId: string): Promise<WorkloadCredentialRow | undefined> {
  const [row] = await db<WorkloadCredentialRow[]>`select * from workload_credentials where access_key_id = ${accessKeyId}`;
  return row;
}

/** The owner's credential in force (newest first), if any. */
export async function liveWorkloadCredential(db: Db, ownerKind: string, ownerId: string): Promise<WorkloadCredentialRow | undefined> {
  const [row] = await db<WorkloadCredentialRow[]>`
    select * from workload_credentials
     where owner_kind = ${ownerKind} and owner_id = ${ownerId} and revoked_at is null and (expires_at is null or expires_at > now())
     order by created_at desc limit 1`;
  return row;
}

/** Voids every credential of the owner; the access key ids it voided. */
export async function revokeWorkloadCredentials(db: Db, ownerKind: string, ownerId: string): Promise<string[]> {
  const rows = await db<{ accessKeyId: string }[]>`
    update workload_credentials set revoked_at = now()
     where owner_kind = ${ownerKind} and owner_id = ${ownerId} and revoked_at is null
    returning access_key_id`;
  return rows.map((r) => r.accessKeyId);
}
