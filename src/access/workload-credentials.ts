// S3 credentials of workloads: each cluster gets its own, like an EMR cluster's instance profile.
// Minted in the transaction that creates the workload, scoped to the bucket actions its creator
// holds (never more), void in the transaction that ends it. Execution roles for functions will
// use the same table under another owner kind (with an expiry and, later, a session token).
import type { Sql, Tx } from '../platform/db/client.js';
import { isAllowed, type Principal } from '../platform/authorization.js';
import { Channel, notify } from '../platform/notifications/channels.js';
import type { Secrets } from '../platform/secrets.js';
import * as q from './queries.js';
import { newS3AccessKeyId, newS3Secret, WORKLOAD_KEY_ID_PREFIX } from './s3-keys.js';

type WorkloadKind = 'CLUSTER';

interface WorkloadOwner {
  kind: WorkloadKind;
  id: string;
}

/** A workload's S3 credential, as its processes are given it (never shown through the API). */
interface WorkloadS3Credential {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * What a cluster's nodes may do with objects: reading (GetObject, and ListObjects for listings),
 * writing (PutObject, which covers multipart uploads and copy targets) and deleting (DeleteObject:
 * Spark's committers and overwrites delete). Not bucket creation or deletion, nor listing buckets.
 */
export const CLUSTER_OBJECT_ACTIONS = ['buckets:GetObject', 'buckets:ListObjects', 'buckets:PutObject', 'buckets:DeleteObject'] as const;

/** The principal a workload credential speaks for: named after its owner, with the actions it was given. */
function principalOf(row: { accessKeyId: string; ownerKind: string; ownerId: string; actions: string[] }): Principal {
  return { keyId: row.accessKeyId, name: `${row.ownerKind.toLowerCase()} ${row.ownerId}`, actions: row.actions };
}

/** The secret and principal of a workload's access key id (null: unknown, void or expired); for SigV4. */
export async function workloadS3Credentials(
  sql: Sql,
  secrets: Secrets,
  accessKeyId: string,
): Promise<{ secretAccessKey: string; principal: Principal } | null> {
  const row = await q.workloadCredentialByAccessKeyId(sql, accessKeyId);
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return null;
  return { secretAccessKey: secrets.decrypt(row.secretSealed), principal: principalOf(row) };
}

export class WorkloadCredentials {
  constructor(
    private readonly sql: Sql,
    private readonly secrets: Secrets,
    /** drops this server's cached S3 credentials (the other servers hear the NOTIFY) */
    private readonly forgetCached: () => void,
  ) {}

  /**
   * A new credential for `owner`, in the caller's transaction: the `wanted` actions its creator
   * holds (possibly none: every S3 call it makes is then refused with AccessDenied).
   */
  async mint(tx: Tx, owner: WorkloadOwner, creator: Principal, wanted: readonly string[]): Promise<string> {
    const accessKeyId = newS3AccessKeyId(WORKLOAD_KEY_ID_PREFIX);
    await q.insertWorkloadCredential(tx, {
      accessKeyId,
      secretSealed: this.secrets.encrypt(newS3Secret()),
      ownerKind: owner.kind,
      ownerId: owner.id,
      actions: wanted.filter((action) => isAllowed(creator, action)),
      createdByKeyId: creator.keyId,
      expiresAt: null,
    });
    return accessKeyId;
  }

  /**
   * Voids the owner's credentials in the caller's transaction. Every server forgets its cached
   * ones when it commits (NOTIFY); call `revoked()` after the commit for this server at once.
   */
  async revoke(tx: Tx, owner: WorkloadOwner): Promise<void> {
    const voided = await q.revokeWorkloadCredentials(tx, owner.kind, owner.id);
    // (the payload is an id: nothing listening takes it for an API key's)
    for (const accessKeyId of voided) await notify(tx, Channel.apiKey, accessKeyId);
  }

  /** After a committed revoke: this server's cache forgets now, not when its NOTIFY arrives. */
  revoked(): void {
    this.forgetCached();
  }

  /** The owner's credential in force, opened for its processes (null: none, e.g. a cluster that ended). */
  async current(owner: WorkloadOwner): Promise<WorkloadS3Credential | null> {
    const row = await q.liveWorkloadCredential(this.sql, owner.kind, owner.id);
    return row ? { accessKeyId: row.accessKeyId, secretAccessKey: this.secrets.decrypt(row.secretSealed) } : null;
  }
}
