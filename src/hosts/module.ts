// Hosts: the machines nodes run on (docs/hosts.md). The server's own machine (embedded), and
// machines that joined with a host token over /host. Offers the engine driver that spans them,
// the placement of new nodes, and the LOST check the cluster controller's leader runs each pass.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machineCapacity } from '../engine/host/daemon.js';
import { LocalDriver } from '../engine/local/local-driver.js';
import { newId } from '../platform/ids.js';
import type { HttpSurface, Module } from '../platform/module.js';
import { Channel } from '../platform/notifications/channels.js';
import type { Platform } from '../platform/platform.js';
import type { StorageService } from '../storage/service.js';
import type { LocalFunctionRuntime } from '../engine/functions/local-runtime.js';
import type { LineSink } from '../engine/functions/types.js';
import { HostsDriver } from './driver.js';
import { HostsFunctionRuntime } from './function-runtime.js';
import { HostEvents } from './events.js';
import { HostGateway } from './gateway.js';
import { HostResolver } from './graphql/resolvers.js';
import { HOST_FEED_KEY } from './queries.js';
import { Placement } from './placement.js';
import { HostRelay } from './relay.js';
import { HostService } from './service.js';

export const hostsResolvers = [HostResolver];

// the server's own host keeps its id across restarts in its data dir
const EMBEDDED_HOST_ID_FILE = 'host-id';
const EMBEDDED_HEARTBEAT_MS = 5_000;

function embeddedHostId(dataDir: string): string {
  const file = path.join(dataDir, EMBEDDED_HOST_ID_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const id = newId('h');
    writeFileSync(file, `${id}\n`, { mode: 0o644 });
    return id;
  }
}

export class HostsModule implements Module {
  readonly name = 'hosts';
  readonly hosts: HostService;
  readonly events: HostEvents;
  /** the engine across every host: the controller launches and stops nodes through it */
  readonly driver: HostsDriver;
  readonly placement: Placement;
  /** this server's own machine as a host (null: EMBEDDED_HOST=off) */
  readonly embeddedHostId: string | null;
  /** launches this server's embedded host's nodes (null: EMBEDDED_HOST=off) */
  readonly local: LocalDriver | null;
  readonly resolvers: object[];
  readonly http: HttpSurface;
  private readonly gateway: HostGateway;
  private readonly relay: HostRelay;
  /** function instances across hosts (built by the functions module with its local runtime) */
  private functions: HostsFunctionRuntime | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly platform: Platform,
    deps: { storage: StorageService },
  ) {
    const { sql, config, log, secrets, serverId } = platform;
    this.hosts = new HostService(sql, secrets);
    this.events = new HostEvents(sql, log);
    this.embeddedHostId = config.embeddedHost ? embeddedHostId(config.dataDir) : null;
    this.local = config.embeddedHost
      ? new LocalDriver({
          dataDir: config.dataDir,
          sandbox: config.sandbox,
          objectDirs: [config.bucketsDir, deps.storage.tmpDir],
          heartbeatMs: config.agentHeartbeatMs,
          orphanSeconds: config.agentOrphanSeconds,
          envPassthrough: config.agentEnvPassthrough,
        })
      : null;
    this.gateway = new HostGateway(this.hosts, serverId, log, config.agentHeartbeatMs);
    this.relay = new HostRelay(sql, secrets, serverId, this.gateway, log);
    this.driver = new HostsDriver(sql, this.local, this.gateway, this.relay);
    this.placement = new Placement(sql, () => this.embeddedHostId);
    this.resolvers = [new HostResolver(this.hosts, this.events)];
    this.http = {
      sockets: [{ path: '/host', maxPayloadBytes: 2 * 1024 * 1024, accept: (ws, remote) => this.gateway.accept(ws, remote) }],
    };
  }

  /**
   * The function runtime spanning this server's own machine (`local`) and the joined hosts whose
   * sessions it holds; their instances' lines go to `sink`.
   */
  functionRuntime(local: LocalFunctionRuntime, sink: LineSink): HostsFunctionRuntime {
    const { sql, log, address } = this.platform;
    this.functions = new HostsFunctionRuntime(sql, local, this.embeddedHostId, this.gateway, sink, () => address.agentS3Url, log);
    this.gateway.listener = this.functions;
    return this.functions;
  }

  /** Whether `proof` lets host `hostId` fetch the code package `codeHash` (GET /host/code/<hash>). */
  codeProofValid(hostId: string, codeHash: string, proof: string): boolean {
    return this.gateway.codeProofValid(hostId, codeHash, proof);
  }

  readonly channels = {
    [Channel.hostEvent]: (payload: string) => {
      const seq = Number(payload.slice(payload.lastIndexOf(':') + 1));
      this.events.feed.notify(HOST_FEED_KEY, seq);
      this.gateway.recheck().catch((err) => this.platform.log.warn({ err }, 'host sessions not rechecked'));
      this.functions?.hostsChanged();
    },
    [Channel.hostRelay]: (payload: string) => this.relay.received(payload),
  };

  caughtUp(): void {
    this.events.feed.pokeAll();
  }

  /**
   * The leader's host work before each cluster pass: silent joined hosts become LOST (measured from
   * `leaderSince` at the earliest), then the driver reads every host's last reports.
   */
  async beforePass(leaderSince: Date): Promise<void> {
    await this.hosts.markSilentLost(this.platform.config.hostLostAfterSeconds, leaderSince);
    await this.driver.refresh();
  }

  /** Why the nodes on a host are gone (it is LOST or REVOKED), or null; as of the last pass. */
  goneReason(hostId: string | null): string | null {
    const host = this.driver.hostOf(hostId);
    if (!host || (host.state !== 'LOST' && host.state !== 'REVOKED')) return null;
    return `host ${host.id} (${host.name}) ${host.state === 'LOST' ? 'lost' : 'revoked'}: ${host.stateReason ?? ''}`.trim();
  }

  /** Whether a host is DRAINING (its TASK nodes are moved), as of the last pass. */
  draining(hostId: string | null): boolean {
    return this.driver.hostOf(hostId)?.state === 'DRAINING';
  }

  async prepare(): Promise<void> {
    if (!this.embeddedHostId) return;
    const { config, serverId } = this.platform;
    await this.hosts.registerEmbedded({
      id: this.embeddedHostId,
      name: os.hostname(),
      address: config.host,
      ...machineCapacity(config.dataDir),
      overcommit: config.embeddedHostOvercommit,
      serverId,
    });
  }

  start(): void {
    const id = this.embeddedHostId;
    if (!id) return;
    this.timer = setInterval(() => {
      this.hosts
        .touch(id, this.functions?.localInstances() ?? [])
        .catch((err) => this.platform.log.warn({ err }, 'embedded host heartbeat not recorded'));
    }, EMBEDDED_HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.gateway.close();
    this.events.feed.close();
  }
}
