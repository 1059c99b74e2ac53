// The rules of hosts (docs/hosts.md): tokens, joining and saying hello, heartbeats and reports,
// drain / resume / revoke, and LOST for the silent. Every state change is one transaction with its
// host event (host_events, the hostUpdates feed) and its NOTIFY.
import crypto from 'node:crypto';
import { credentialKey, helloProof, welcomeProof } from '../engine/agent/credential.js';
import type { RunningInstance } from '../engine/functions/types.js';
import type { HostDescription, HostInstanceReport } from '../engine/host/protocol.js';
import { EMBERPLANE_VERSION } from '../engine/host/version.js';
import { AppError, badInput, conflict, notFound } from '../platform/errors.js';
import type { Sql, Tx } from '../platform/db/client.js';
import { newId, secret, sha256 } from '../platform/ids.js';
import type { Secrets } from '../platform/secrets.js';
import { requireIntInRange } from '../platform/validate.js';
import * as q from './queries.js';
import { allocations, type Resources } from './placement.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor, type Page } from '../platform/paging.js';
import type { HostRow, HostState } from './tables.js';

/** why a join or hello was refused: the daemon prints it and exits non-zero */
export interface HostRefusal {
  ok: false;
  code: string;
  message: string;
}

export type JoinResult = { ok: true; host: HostRow; secret: string } | HostRefusal;
export type HostHelloResult = { ok: true; host: HostRow; welcomeProof: string } | HostRefusal;

const MAX_LABELS = 32;
/** more node reports than any host could run are not stored */
export const MAX_REPORTS = 10_000;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const MAX_TOKEN_SECONDS = 30 * 24 * 3600;
const DEFAULT_TOKEN_SECONDS = 3600;

/** Labels: at most 32, keys like Kubernetes' (letters, digits, . _ / -), values up to 256 characters. */
export function validLabels(labels: unknown, field: string): Record<string, string> {
  if (labels === null || labels === undefined) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) throw badInput(field, 'must be an object of string values');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw badInput(field, `at most ${MAX_LABELS} labels`);
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k)) throw badInput(`${field}.${k}`, 'a label key is 1-63 letters, digits, ".", "_", "/" or "-"');
    if (typeof v !== 'string' || v.length > 256) throw badInput(`${field}.${k}`, 'a label value is a string of at most 256 characters');
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** What a daemon says of itself, checked: refused (null) when malformed. */
function describedBy(d: HostDescription): string | null {
  const c = d.capacity;
  if (!c || ![c.vcpu, c.memoryMb, c.diskMb].every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 31))
    return 'capacity must be whole numbers';
  if (typeof d.name !== 'string' || d.name.length === 0 || d.name.length > 255) return 'name must be 1-255 characters';
  if (typeof d.address !== 'string' || d.address.length > 255) return 'address must be at most 255 characters';
  try {
    validLabels(d.labels, 'labels');
  } catch (err) {
    return (err as Error).message;
  }
  const i = d.installation;
  if (!i || typeof i.version !== 'string') return 'installation.version is missing';
  if (i.version !== EMBERPLANE_VERSION) {
    return `this host runs emberplane ${i.version} and the control plane ${EMBERPLANE_VERSION}: install the same version on both`;
  }
  return null;
}

export class HostService {
  constructor(
    private readonly sql: Sql,
    private readonly secrets: Secrets,
  ) {}

  get(id: string): Promise<HostRow | undefined> {
    return q.hostById(this.sql, id);
  }

  async require(id: string, field = 'id'): Promise<HostRow> {
    const row = await q.hostById(this.sql, id);
    if (!row) throw notFound('host', id, field);
    return row;
  }

  /** Oldest first (hosts are few; joined ones stay listed once gone, as REVOKED or LOST). */
  async list(first: number | null | undefined, after: string | null | undefined, states: HostState[] | null): Promise<Page<HostRow>> {
    const limit = pageSize(first);
    const rows = await q.hostsPage(this.sql, states, parseTimeIdCursor(after), limit + 1);
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (h) => encodeTimeIdCursor(h.createdAt, h.id) };
  }

  /** What each host's live nodes take of it. */
  allocations(): Promise<Map<string, Resources>> {
    return allocations(this.sql);
  }

  /** A token machines join with (shown once; single use unless `singleUse: false`; void after `expiresInSeconds`). */
  async createToken(input: { expiresInSeconds?: number | null; labels?: Record<string, string> | null; singleUse?: boolean | null }) {
    const seconds = requireIntInRange(input.expiresInSeconds ?? DEFAULT_TOKEN_SECONDS, 'expiresInSeconds', 1, MAX_TOKEN_SECONDS);
    const labels = validLabels(input.labels, 'labels');
    // the id in the token lets an unknown or used token be told from a mistyped one in logs, never more
    const token = `EHT${secret(32)}`;
    const row = await q.insertToken(this.sql, {
      id: newId('ht'),
      hash: sha256(token),
      labels,
      expiresAt: new Date(Date.now() + seconds * 1_000),
      singleUse: input.singleUse ?? true,
    });
    return { token, row };
  }

  /**
   * A machine offers itself with a host token: a new host (READY), the token used up, the host's
   * key sealed; the daemon keeps credentialKey(secret) and says hello with it from now on.
   */
  async join(token: string, d: HostDescription, serverId: string): Promise<JoinResult> {
    const bad = describedBy(d);
    if (bad) return { ok: false, code: 'BAD_HOST', message: bad };
    return this.sql.begin(async (tx): Promise<JoinResult> => {
      const row = typeof token === 'string' ? await q.lockTokenByHash(tx, sha256(token)) : undefined;
      if (!row) return { ok: false, code: 'BAD_TOKEN', message: 'unknown host token (create one with createHostToken)' };
      if (row.usedAt && row.singleUse)
        return { ok: false, code: 'TOKEN_USED', message: `this host token was already used (by host ${row.usedBy})` };
      if (row.expiresAt.getTime() <= Date.now()) {
        return { ok: false, code: 'TOKEN_EXPIRED', message: `this host token expired at ${row.expiresAt.toISOString()}` };
      }
      const hostSecret = secret(32);
      const host = await q.insertHost(tx, {
        id: newId('h'),
        name: d.name,
        state: 'READY',
        stateReason: 'joined',
        embedded: false,
        connectedServer: serverId,
        address: d.address,
        labels: { ...validLabels(d.labels, 'labels'), ...row.labels },
        vcpu: d.capacity.vcpu,
        memoryMb: d.capacity.memoryMb,
        diskMb: d.capacity.diskMb,
        overcommit: 1,
        installation: d.installation,
        tokenId: row.id,
        keySealed: this.secrets.encrypt(credentialKey(hostSecret)),
      });
      await q.useToken(tx, row.id, host.id);
      await q.appendHostEvent(tx, host.id, 'READY', `host ${d.name} joined`);
      return { ok: true, host, secret: hostSecret };
    });
  }

  /** A joined host comes back: its proof checked, its description and reports stored; a LOST host is READY again. */
  async hello(
    hostId: string,
    nonce: string,
    proof: string,
    d: HostDescription,
    reports: HostInstanceReport[],
    serverId: string,
  ): Promise<HostHelloResult> {
    const bad = describedBy(d);
    if (bad) return { ok: false, code: 'BAD_HOST', message: bad };
    const refused: HostRefusal = { ok: false, code: 'BAD_PROOF', message: 'unknown host or wrong key' };
    return this.sql.begin(async (tx): Promise<HostHelloResult> => {
      const host = typeof hostId === 'string' ? await q.lockHost(tx, hostId) : undefined;
      if (!host || host.embedded) return refused;
      if (host.state === 'REVOKED' || !host.keySealed) {
        return { ok: false, code: 'REVOKED', message: `host ${hostId} was revoked: join again with a new host token` };
      }
      const key = this.secrets.decrypt(host.keySealed);
      const expected = Buffer.from(helloProof(key, nonce, hostId));
      const presented = Buffer.from(String(proof));
      if (expected.length !== presented.length || !crypto.timingSafeEqual(expected, presented)) return refused;
      await q.describeHost(tx, hostId, {
        name: d.name,
        address: d.address,
        // the labels of the token it joined with stay, over its own
        labels: { ...validLabels(d.labels, 'labels'), ...(await q.tokenLabelsOf(tx, hostId)) },
        vcpu: d.capacity.vcpu,
        memoryMb: d.capacity.memoryMb,
        diskMb: d.capacity.diskMb,
        installation: d.installation,
        connectedServer: serverId,
        reports: Array.isArray(reports) ? reports.slice(0, MAX_REPORTS) : [],
      });
      if (host.state === 'LOST') await this.changeState(tx, host, 'READY', 'heard from again');
      return { ok: true, host: (await q.hostById(tx, hostId))!, welcomeProof: welcomeProof(key, nonce, hostId) };
    });
  }

  /** The key of a joined host (what its hello proofs are made with). */
  keyOf(host: HostRow): string {
    return this.secrets.decrypt(host.keySealed!);
  }

  heartbeats(beats: Array<{ id: string; reports: HostInstanceReport[]; functions: RunningInstance[] }>): Promise<void> {
    return q.recordHeartbeats(this.sql, beats);
  }

  disconnected(hostId: string, serverId: string): Promise<void> {
    return q.recordDisconnect(this.sql, hostId, serverId);
  }

  /** The ids of the live nodes placed on the host: what it should keep running. */
  keep(hostId: string): Promise<string[]> {
    return q.liveInstanceIdsOnHost(this.sql, hostId);
  }

  private async changeState(tx: Tx, host: HostRow, state: HostState, reason: string): Promise<HostRow> {
    const changed = await q.setHostState(tx, host.id, state, reason);
    await q.appendHostEvent(tx, host.id, state, reason);
    return changed;
  }

  /** Runs `fn` on the host under its row lock (not found: NOT_FOUND on `id`). */
  private transition(id: string, fn: (tx: Tx, host: HostRow) => Promise<HostRow>): Promise<HostRow> {
    return this.sql.begin(async (tx) => {
      const host = await q.lockHost(tx, id);
      if (!host) throw notFound('host', id, 'id');
      return fn(tx, host);
    });
  }

  /** No new placements; the controller moves its TASK nodes (CORE and MASTER stay). */
  drain(id: string): Promise<HostRow> {
    return this.transition(id, async (tx, host) => {
      if (host.state === 'DRAINING') return host;
      if (host.state !== 'READY') throw conflict(`host ${id} is ${host.state}: only a READY host can be drained`, 'id');
      return this.changeState(tx, host, 'DRAINING', 'drained by request');
    });
  }

  /** A drained host takes placements again. */
  resume(id: string): Promise<HostRow> {
    return this.transition(id, async (tx, host) => {
      if (host.state === 'READY') return host;
      if (host.state !== 'DRAINING') throw conflict(`host ${id} is ${host.state}: only a DRAINING host can be resumed`, 'id');
      return this.changeState(tx, host, 'READY', 'resumed by request');
    });
  }

  /** The host's key is void and its session closed; the controller fails (and replaces) its nodes. */
  revoke(id: string): Promise<HostRow> {
    return this.transition(id, async (tx, host) => {
      if (host.state === 'REVOKED') return host;
      if (host.embedded) throw new AppError('CONFLICT', `host ${id} is a server's own machine: set EMBEDDED_HOST=off there instead`, 'id');
      await q.voidHostKey(tx, id);
      return this.changeState(tx, host, 'REVOKED', 'revoked by request');
    });
  }

  /**
   * Joined hosts silent for `seconds` (measured from `since` at the earliest: a new leader gives
   * them a full timeout) become LOST, each in its own transaction; the controller then fails and
   * replaces their nodes. Returns how many.
   */
  async markSilentLost(seconds: number, since: Date): Promise<number> {
    const silent = await q.silentHosts(this.sql, seconds, since);
    let lost = 0;
    for (const probe of silent) {
      await this.sql.begin(async (tx) => {
        const host = await q.lockHost(tx, probe.id);
        if (!host || (host.state !== 'READY' && host.state !== 'DRAINING')) return;
        const heard = host.lastHeartbeatAt ? ` since ${host.lastHeartbeatAt.toISOString()}` : '';
        await q.voidConnection(tx, host.id);
        await this.changeState(tx, host, 'LOST', `no heartbeat for ${seconds} s${heard}`);
        lost++;
      });
    }
    return lost;
  }

  /** A server's own machine as a host (a stable id kept in its data dir): registered or refreshed at start. */
  async registerEmbedded(row: {
    id: string;
    name: string;
    address: string;
    vcpu: number;
    memoryMb: number;
    diskMb: number;
    overcommit: number;
    serverId: string;
  }) {
    await this.sql.begin(async (tx) => {
      const existing = await q.lockHost(tx, row.id);
      await q.insertHost(tx, {
        id: row.id,
        name: row.name,
        state: existing?.state ?? 'READY',
        stateReason: existing?.stateReason ?? 'the server started',
        embedded: true,
        connectedServer: row.serverId,
        address: row.address,
        labels: {},
        vcpu: row.vcpu,
        memoryMb: row.memoryMb,
        diskMb: row.diskMb,
        overcommit: row.overcommit,
        installation: null,
        tokenId: null,
        keySealed: null,
      });
      if (!existing) await q.appendHostEvent(tx, row.id, 'READY', `embedded host of server ${row.serverId}`);
    });
  }

  /** The embedded host's heartbeat, with its server's function instances. */
  touch(id: string, functions: RunningInstance[]): Promise<void> {
    return q.touchHost(this.sql, id, functions);
  }
}
