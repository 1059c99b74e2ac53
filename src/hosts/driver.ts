// The engine as the cluster controller sees it when nodes may sit on other machines: each call goes
// where the instance was placed. This server's own host (and instances placed before hosts existed,
// or on another server's embedded host, which is this machine in a multi-server install): the
// local driver. A joined host connected here: over its session. One connected to another server:
// relayed to that server (relay.ts). What remote hosts report of their nodes (alive, oomKills)
// comes from their last stored heartbeat, read at every controller pass (`refresh`).
import type { Sql } from '../platform/db/client.js';
import type { EngineDriver, InstanceHandle, InstanceLaunchSpec, LaunchedInstance } from '../engine/types.js';
import type { HostInstanceReport } from '../engine/host/protocol.js';
import type { HostGateway, HostRequest } from './gateway.js';
import type { HostRelay } from './relay.js';
import type { HostRow } from './tables.js';

// beyond the host's own waits (stop grace, decommission), what a request may take on the wire
const REQUEST_SLACK_MS = 30_000;

export class HostsDriver implements EngineDriver {
  readonly host: string;
  private known = new Map<string, HostRow>();
  /** by host, then instance: a host speaks only for the nodes placed on it */
  private reports = new Map<string, Map<string, HostInstanceReport>>();

  constructor(
    private readonly sql: Sql,
    private readonly local: EngineDriver | null,
    private readonly gateway: HostGateway,
    private readonly relay: HostRelay,
  ) {
    this.host = local?.host ?? '';
  }

  /** Reads the hosts and their last reports (the controller calls it before each pass). */
  async refresh(): Promise<void> {
    const rows = await this.sql<HostRow[]>`select * from hosts`;
    this.known = new Map(rows.map((r) => [r.id, r]));
    this.reports = new Map(
      rows
        .filter((r) => r.state === 'READY' || r.state === 'DRAINING')
        .map((r) => [r.id, new Map(r.reports.filter((p) => p && typeof p.instanceId === 'string').map((p) => [p.instanceId, p]))]),
    );
  }

  /** the host as of the last refresh */
  hostOf(hostId: string | null | undefined): HostRow | undefined {
    return hostId ? this.known.get(hostId) : undefined;
  }

  /** the joined host an instance sits on, or null (the local driver's) */
  private remote(hostId: string | null | undefined): HostRow | null {
    const host = this.hostOf(hostId);
    return host && !host.embedded ? host : null;
  }

  private localDriver(): EngineDriver {
    if (!this.local) throw new Error('this server runs no nodes (EMBEDDED_HOST=off): the instance was placed on its host by mistake');
    return this.local;
  }

  /** A request to the host, wherever its session is; null when it is connected nowhere. */
  private async call(host: HostRow, message: HostRequest, waitMs: number): Promise<LaunchedInstance | undefined | null> {
    const timeoutMs = waitMs + REQUEST_SLACK_MS;
    if (this.gateway.holds(host.id)) return this.gateway.request<LaunchedInstance | undefined>(host.id, message, timeoutMs);
    const [row] = await this.sql<{ connectedServer: string | null }[]>`select connected_server from hosts where id = ${host.id}`;
    if (!row?.connectedServer) return null;
    return this.relay.request<LaunchedInstance | undefined>(row.connectedServer, host.id, message, timeoutMs);
  }

  async launch(spec: InstanceLaunchSpec): Promise<LaunchedInstance> {
    const host = this.remote(spec.hostId);
    if (!host) return this.localDriver().launch(spec);
    const launched = await this.call(host, { type: 'launch', spec }, 0);
    if (!launched) throw new Error(`host ${host.id} (${host.name}) is not connected`);
    return launched;
  }

  /**
   * A host that is LOST, revoked or connected nowhere is told at its next hello (`keep`) to stop
   * what it should not run: nothing to wait for now (a failing call would only be retried at once).
   */
  async stop(instance: InstanceHandle, graceMs: number): Promise<void> {
    const host = this.remote(instance.hostId);
    if (!host) return this.local?.stop(instance, graceMs);
    if (host.state === 'LOST' || host.state === 'REVOKED') return;
    await this.call(host, { type: 'stop', instance, graceMs }, graceMs);
  }

  async decommission(instance: InstanceHandle, waitMs: number): Promise<void> {
    const host = this.remote(instance.hostId);
    if (!host) return this.local?.decommission(instance, waitMs);
    await this.call(host, { type: 'decommission', instance, waitMs }, waitMs);
  }

  isAlive(instance: InstanceHandle): boolean | undefined {
    const host = this.remote(instance.hostId);
    if (!host) return this.local?.isAlive(instance);
    const alive = this.reports.get(host.id)?.get(instance.instanceId)?.alive;
    return typeof alive === 'boolean' ? alive : undefined;
  }

  oomKills(instance: InstanceHandle): number {
    const host = this.remote(instance.hostId);
    if (!host) return this.local?.oomKills(instance) ?? 0;
    const kills = this.reports.get(host.id)?.get(instance.instanceId)?.oomKills ?? 0;
    return Number.isSafeInteger(kills) && kills > 0 ? kills : 0;
  }
}
