// Where a new node goes (docs/hosts.md "Placement"): a READY host whose labels carry the group's
// host labels, with room for the node's instance type (allocated + need ≤ capacity × overcommit).
// A group's MASTER/CORE nodes are spread (the host with the fewest of the group's nodes, then the
// most free); TASK nodes are packed (the least free host that fits), leaving room for the rest.
import type { Sql } from '../platform/db/client.js';
import { instanceType } from '../clusters/instance-types.js';
import type { HostRow } from './tables.js';

export interface Resources {
  vcpu: number;
  memoryMb: number;
}

export interface PlacementRequest {
  instanceType: string;
  role: 'MASTER' | 'CORE' | 'TASK';
  groupId: string;
  /** the group's host labels: every one must be on the host */
  labels: Record<string, string>;
  /** only the embedded host of the server placing (OBJECT_PATH_MAPPING=on: nodes need its disk) */
  embeddedOnly: boolean;
}

export type PlacementResult = { host: HostRow } | { host: null; reason: string };

/** What each host's live nodes and function instances take of it (function instances: their memory). */
export async function allocations(sql: Sql): Promise<Map<string, Resources>> {
  const out = await nodeAllocations(sql);
  const rows = await sql<{ id: string; memoryMb: number }[]>`
    select h.id, sum((f->>'memoryMb')::int)::int as memory_mb
    from hosts h, jsonb_array_elements(h.function_instances) f
    where h.state <> 'REVOKED' group by h.id`;
  for (const r of rows) {
    const sum = out.get(r.id) ?? { vcpu: 0, memoryMb: 0 };
    sum.memoryMb += r.memoryMb;
    out.set(r.id, sum);
  }
  return out;
}

/** Sums of the live nodes' instance types on each host. */
export async function nodeAllocations(sql: Sql): Promise<Map<string, Resources>> {
  const rows = await sql<{ hostId: string; instanceType: string; count: number }[]>`
    select host_id, instance_type, count(*)::int as count from instances
    where state <> 'TERMINATED' and host_id is not null group by host_id, instance_type`;
  const out = new Map<string, Resources>();
  for (const r of rows) {
    const type = instanceType(r.instanceType);
    const sum = out.get(r.hostId) ?? { vcpu: 0, memoryMb: 0 };
    sum.vcpu += (type?.vcpu ?? 0) * r.count;
    sum.memoryMb += (type?.memoryMb ?? 0) * r.count;
    out.set(r.hostId, sum);
  }
  return out;
}

const free = (h: HostRow, used: Resources): Resources => ({
  vcpu: h.vcpu * h.overcommit - used.vcpu,
  memoryMb: h.memoryMb * h.overcommit - used.memoryMb,
});

/** Picks the host for one new node, or says why none fits (EMR's "insufficient capacity"). */
export class Placement {
  constructor(
    private readonly sql: Sql,
    /** this server's own host id (null: EMBEDDED_HOST=off) */
    private readonly embeddedHostId: () => string | null,
  ) {}

  async choose(request: PlacementRequest): Promise<PlacementResult> {
    const need = instanceType(request.instanceType);
    if (!need) return { host: null, reason: `unknown instance type ${request.instanceType}` };
    const own = this.embeddedHostId();
    const hosts = await this.sql<HostRow[]>`select * from hosts where state = 'READY' order by created_at, id`;
    // other servers' machines are theirs to launch on; joined hosts take nodes only without the path
    // mapping, and only while connected (one between a dropped link and LOST gets none)
    const eligible = hosts.filter((h) => (h.embedded ? h.id === own : !request.embeddedOnly && h.connectedServer !== null));
    const labelled = eligible.filter((h) => Object.entries(request.labels).every(([k, v]) => h.labels[k] === v));
    if (labelled.length === 0) {
      const labels = Object.entries(request.labels).map(([k, v]) => `${k}=${v}`);
      const which = labels.length ? ` with labels ${labels.join(', ')}` : '';
      const reason = request.embeddedOnly
        ? `no READY host${which} among the server's own (with OBJECT_PATH_MAPPING=on nodes go only there)`
        : `no READY, connected host${which}`;
      return { host: null, reason };
    }
    const used = await allocations(this.sql);
    const fits = labelled
      .map((h) => ({ h, room: free(h, used.get(h.id) ?? { vcpu: 0, memoryMb: 0 }) }))
      .filter(({ room }) => room.vcpu >= need.vcpu && room.memoryMb >= need.memoryMb);
    if (fits.length === 0) {
      return {
        host: null,
        reason: `insufficient capacity: no ${labelled.length === 1 ? 'host has' : `host of ${labelled.length} has`} room for ${request.instanceType} (${need.vcpu} vCPU, ${need.memoryMb} MiB)`,
      };
    }
    const roomOf = (r: Resources) => r.vcpu / need.vcpu + r.memoryMb / need.memoryMb;
    if (request.role === 'TASK') {
      fits.sort((a, b) => roomOf(a.room) - roomOf(b.room));
      return { host: fits[0]!.h };
    }
    const counts = await this.sql<{ hostId: string; count: number }[]>`
      select host_id, count(*)::int as count from instances
      where group_id = ${request.groupId} and state <> 'TERMINATED' and host_id is not null group by host_id`;
    const inGroup = new Map(counts.map((c) => [c.hostId, c.count]));
    fits.sort((a, b) => (inGroup.get(a.h.id) ?? 0) - (inGroup.get(b.h.id) ?? 0) || roomOf(b.room) - roomOf(a.room));
    return { host: fits[0]!.h };
  }
}
