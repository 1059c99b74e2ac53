import type { Logger } from 'pino';
import type { Sql } from '../../platform/db/client.js';
import * as clustersQ from '../queries/clusters.js';
import * as instancesQ from '../queries/instances.js';
import { ACTIVE_CLUSTER_STATES, type ClusterRow, type InstanceGroupRow, type InstanceRow } from '../tables.js';
import type { PlacementRequest, PlacementResult } from '../../hosts/placement.js';
import type { EngineDriver, InstanceHandle } from '../../engine/types.js';
import { instanceType } from '../instance-types.js';
import { newInstanceToken } from '../clusters.js';
import type { ClusterService } from '../clusters.js';
import type { InstanceService } from '../instances.js';
import { OneRunAtATime } from '../../platform/one-run-at-a-time.js';

export interface ClusterControllerOptions {
  intervalMs: number;
  heartbeatTimeoutMs: number;
  /** a launched agent that has not said hello by then is failed */
  joinTimeoutMs: number;
  stopGraceMs: number;
  controlPlaneUrls: () => string[];
  /** a cluster (or node) not ready this long after creation ends with BOOTSTRAP_FAILURE */
  startupTimeoutMs: number;
  /** a connection of the controller's own (max 1), holding the leader lock */
  leaderDb: Sql;
  /** how long a shrinking Spark node may drain (its agent enforces it; this is the outer bound) */
  decommissionTimeoutMs: number;
  /** singleton work that rides on the leader's pass (metrics sampling, scaling policies) */
  afterPass?: (active: ClusterRow[]) => Promise<void>;
  /** OBJECT_PATH_MAPPING=on: nodes need this server's disk, so they go on its own host only */
  embeddedOnly: boolean;
}

/** What the controller asks of the hosts (the hosts module): placement, and which hosts are gone or draining. */
export interface ControllerHosts {
  /** the leader's host work first: silent hosts become LOST; their last reports are read */
  beforePass(leaderSince: Date): Promise<void>;
  choose(request: PlacementRequest): Promise<PlacementResult>;
  /** why nodes on that host are gone (LOST, REVOKED), or null */
  goneReason(hostId: string | null): string | null;
  draining(hostId: string | null): boolean;
}

const LEADER_LOCK = 7263010;
const FAILURE_WINDOW_MS = 10 * 60_000;

export const handleOf = (i: InstanceRow): InstanceHandle => ({ instanceId: i.id, pid: i.pid, host: i.host, hostId: i.hostId });

/** The services it uses. */
export interface ClusterControllerServices {
  sql: Sql;
  clusters: ClusterService;
  instances: InstanceService;
}

/**
 * The singleton reconcile loop (one leader per database, by advisory lock): launches and stops node
 * agents so each group has its requested size, replaces dead CORE/TASK nodes, fails silent ones,
 * ends TERMINATING clusters and idle ones. Level-triggered: every pass reads the whole desired
 * state from Postgres, so a restart (or a new leader) simply continues.
 */
export class ClusterController {
  private leading = false;
  private leaderSince = 0;
  private timer: NodeJS.Timeout | null = null;
  private hintTimer: NodeJS.Timeout | null = null;
  private readonly passes: OneRunAtATime;
  private stopped = false;
  /** instance ids with a launch or stop in flight (those can take seconds; passes don't wait) */
  private busy = new Set<string>();
  private inflight = new Set<Promise<unknown>>();
  /** instances this leader launched: a pass that read the row before the pid was recorded must not
   *  launch it again (forgotten when the launch fails, so it is retried) */
  private launched = new Set<string>();

  constructor(
    private readonly services: ClusterControllerServices,
    private readonly driver: EngineDriver,
    private readonly hosts: ControllerHosts,
    private readonly log: Logger,
    private readonly options: ClusterControllerOptions,
  ) {
    this.passes = new OneRunAtATime(
      () => (this.stopped ? Promise.resolve() : this.pass()),
      (err) => this.log.error({ err }, 'cluster reconcile pass failed; the next one retries'),
    );
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** NOTIFY hints come in bursts (a cluster's nodes changing): they are folded into one pass per 50 ms. */
  hint(): void {
    if (this.hintTimer || this.stopped) return;
    this.hintTimer = setTimeout(() => {
      this.hintTimer = null;
      this.kick();
    }, 50);
  }

  kick(): void {
    if (!this.stopped) this.passes.request();
  }

  /**
   * Leadership is a session-level advisory lock on a connection of its own. Each pass checks the
   * lock is still held by that very session (a dropped connection silently loses it, and a
   * reconnected one is a new session that does not hold it).
   */
  private async ensureLeader(): Promise<boolean> {
    const db = this.options.leaderDb;
    try {
      if (this.leading) {
        const [row] = await db<{ held: boolean }[]>`
          select exists(select 1 from pg_locks where locktype = 'advisory' and classid = 0 and objid = ${LEADER_LOCK}
                        and objsubid = 1 and pid = pg_backend_pid() and granted) as held`;
        if (row?.held) return true;
        this.leading = false;
        this.log.warn('lost the leader lock');
      }
      const [row] = await db<{ locked: boolean }[]>`select pg_try_advisory_lock(${LEADER_LOCK}) as locked`;
      if (row?.locked) {
        this.leading = true;
        this.leaderSince = Date.now();
        this.log.info('cluster controller is the leader');
      }
    } catch (err) {
      if (this.leading) this.log.warn({ err }, 'leader connection failed; leadership dropped');
      this.leading = false;
    }
    return this.leading;
  }

  private track<T>(instanceId: string, work: Promise<T>): void {
    this.busy.add(instanceId);
    const p = work
      .catch((err) => this.log.error({ err, instanceId }, 'instance operation failed'))
      .finally(() => {
        this.busy.delete(instanceId);
        this.inflight.delete(p);
        this.kick();
      });
    this.inflight.add(p);
  }

  private async pass(): Promise<void> {
    if (!(await this.ensureLeader())) return;
    const { sql } = this.services;
    await this.hosts.beforePass(new Date(this.leaderSince));
    const active = await clustersQ.clustersInStates(sql, [...ACTIVE_CLUSTER_STATES, 'TERMINATING']);
    for (const cluster of active) {
      if (cluster.state === 'TERMINATING') await this.terminate(cluster);
      else await this.reconcile(cluster);
    }
    await this.options.afterPass?.(active).catch((err) => this.log.error({ err }, 'leader follow-up work failed; the next pass retries'));
  }

  private async reconcile(cluster: ClusterRow): Promise<void> {
    const { services } = this;
    const groups = await clustersQ.groupsOfClusters(services.sql, [cluster.id]);
    let live = await instancesQ.liveInstancesOfCluster(services.sql, cluster.id);
    const now = Date.now();
    const starting = cluster.state === 'STARTING' || cluster.state === 'BOOTSTRAPPING';
    if (starting && now - cluster.createdAt.getTime() > this.options.startupTimeoutMs) {
      await services.clusters.endWithError(
        cluster.id,
        'BOOTSTRAP_FAILURE',
        `the cluster did not become ready within ${this.options.startupTimeoutMs / 1000} s`,
      );
      return;
    }
    // TASK nodes on a draining host are moved: replaced elsewhere first, then decommissioned (below)
    const leaving = new Set(live.filter((i) => i.role === 'TASK' && this.hosts.draining(i.hostId)).map((i) => i.id));
    const short = groups.filter(
      (g) => g.role !== 'MASTER' && live.filter((i) => i.groupId === g.id && !leaving.has(i.id)).length < g.requestedCount,
    );
    if (short.length) {
      // a group whose nodes keep dying is not refilled forever (EMR: too many failures end the cluster)
      const failures = await instancesQ.recentFailures(services.sql, cluster.id, new Date(now - FAILURE_WINDOW_MS));
      const crashing = short.find((g) => (failures.get(g.id) ?? 0) >= Math.max(3, 2 * g.requestedCount));
      if (crashing) {
        await services.clusters.endWithError(
          cluster.id,
          'INSTANCE_FAILURE',
          `too many ${crashing.role} node failures (${failures.get(crashing.id)} in ${FAILURE_WINDOW_MS / 60_000} min)`,
        );
        return;
      }
      // growth or healing: new instance rows first (with their events), launched below
      await services.instances.fillGroups(cluster.id, (tx, group, count) => services.clusters.addInstances(tx, group, count), leaving);
      live = await instancesQ.liveInstancesOfCluster(services.sql, cluster.id);
    }
    const spark = cluster.applications.includes('SPARK');
    for (const instance of live) {
      if (this.busy.has(instance.id)) continue;
      if (instance.pid !== null) this.launched.delete(instance.id); // passes run one at a time: seen recorded
      if (instance.pid === null) {
        // Spark workers need the master's URL, which the MASTER node reports when it is ready
        const waitsForMaster = spark && instance.role !== 'MASTER' && cluster.sparkMasterUrl === null;
        if (this.launched.has(instance.id) || waitsForMaster) continue;
        const gone = this.hosts.goneReason(instance.hostId);
        if (gone) {
          // placed on a host that went away before its agent was launched: failed, and replaced
          this.track(instance.id, services.instances.fail(instance.id, { code: 'INSTANCE_FAILURE', message: gone }));
          continue;
        }
        const group = groups.find((g) => g.id === instance.groupId)!;
        const placed = instance.hostId ?? (await this.place(instance, group));
        if (placed) this.track(instance.id, this.launch(cluster, { ...instance, hostId: placed }));
        continue;
      }
      const failure = this.diagnose(instance, now);
      if (failure) {
        this.log.warn({ instanceId: instance.id, failure }, 'instance failed');
        this.track(
          instance.id,
          this.driver
            .stop(handleOf(instance), 0)
            .then(() => services.instances.fail(instance.id, { code: 'INSTANCE_FAILURE', message: failure })),
        );
      }
    }
    // shrink: stop the newest surplus instances, those not yet running first; nodes leaving a
    // draining host once their replacements run
    for (const group of groups) {
      if (group.role === 'MASTER') continue;
      const mine = live.filter((i) => i.groupId === group.id);
      const staying = mine.filter((i) => !leaving.has(i.id));
      const replaced = staying.filter((i) => i.state === 'RUNNING').length >= group.requestedCount;
      const moved = replaced ? mine.filter((i) => leaving.has(i.id)) : [];
      const surplus = [...staying]
        .sort((a, b) => Number(a.state === 'RUNNING') - Number(b.state === 'RUNNING') || b.createdAt.getTime() - a.createdAt.getTime())
        .slice(0, Math.max(0, staying.length - group.requestedCount));
      for (const v of surplus) if (!this.busy.has(v.id)) this.track(v.id, this.shrink(v, spark, 'Instance group shrunk'));
      for (const v of moved) if (!this.busy.has(v.id)) this.track(v.id, this.shrink(v, spark, `Host ${v.hostId} draining: moved`));
    }
    if (
      cluster.state === 'WAITING' &&
      cluster.idleTimeoutSeconds !== null &&
      now - cluster.lastActiveAt.getTime() > cluster.idleTimeoutSeconds * 1_000
    ) {
      await services.clusters.endIfIdle(cluster.id);
    }
  }

  /**
   * Removes a surplus node. A running Spark worker is decommissioned first (EMR's "terminate at
   * task completion"): it takes no new work and leaves once its executors are done, or when the
   * decommission timeout has passed; Spark reruns whatever was cut off.
   */
  private async shrink(instance: InstanceRow, spark: boolean, why: string): Promise<void> {
    const handle = handleOf(instance);
    if (spark && instance.state === 'RUNNING') {
      this.log.info({ instanceId: instance.id }, 'decommissioning Spark worker');
      await this.driver.decommission(handle, this.options.decommissionTimeoutMs + 30_000);
    }
    await this.driver.stop(handle, this.options.stopGraceMs);
    await this.services.instances.terminated(instance.id, { code: 'USER_REQUEST', message: why });
  }

  /** Why an instance must be considered dead, or null. */
  private diagnose(instance: InstanceRow, now: number): string | null {
    // its host is gone: whatever the host still runs of it is stopped when it comes back (`keep`)
    const gone = this.hosts.goneReason(instance.hostId);
    if (gone) return gone;
    // over its instance type's memory the kernel killed inside the node: it is failed (and
    // replaced) like a dead node, whether or not its agent noticed
    const oomKills = this.driver.oomKills(handleOf(instance));
    if (oomKills > 0) {
      const type = instanceType(instance.instanceType);
      return `node ran out of memory: the kernel killed ${oomKills} process${oomKills === 1 ? '' : 'es'} over the ${type?.memoryMb ?? '?'} MiB of ${instance.instanceType}`;
    }
    const alive = this.driver.isAlive(handleOf(instance));
    if (alive === false) return `node agent process ${instance.pid} is gone`;
    // silence is measured from when this process became leader too: a restarted control plane
    // gives agents a full timeout to reconnect before judging them
    const heardAt = Math.max(instance.lastHeartbeatAt?.getTime() ?? 0, this.leaderSince);
    if (instance.state === 'PROVISIONING' && now - heardAt > this.options.joinTimeoutMs) {
      return `node agent did not join within ${this.options.joinTimeoutMs / 1000} s`;
    }
    if (instance.state === 'BOOTSTRAPPING' && now - instance.createdAt.getTime() > this.options.startupTimeoutMs) {
      return `node did not finish bootstrapping within ${this.options.startupTimeoutMs / 1000} s`;
    }
    if (instance.state !== 'PROVISIONING' && now - heardAt > this.options.heartbeatTimeoutMs) {
      return `no heartbeat for ${Math.round((now - heardAt) / 1000)} s`;
    }
    return null;
  }

  /**
   * The host for a new instance, recorded with its event; null when none has room (the instance
   * waits with the reason, and the next pass tries again).
   */
  private async place(instance: InstanceRow, group: InstanceGroupRow): Promise<string | null> {
    const choice = await this.hosts.choose({
      instanceType: instance.instanceType,
      role: instance.role,
      groupId: group.id,
      labels: group.hostLabels,
      embeddedOnly: this.options.embeddedOnly,
    });
    if (!choice.host) {
      await this.services.instances.awaitCapacity(instance.id, choice.reason);
      return null;
    }
    await this.services.instances.place(instance.id, choice.host);
    return choice.host.id;
  }

  private async launch(cluster: ClusterRow, instance: InstanceRow): Promise<void> {
    const type = instanceType(instance.instanceType)!;
    this.launched.add(instance.id);
    const { token, hash } = newInstanceToken();
    try {
      // the hash is stored before the process exists, so the agent's hello can never race ahead of it
      await this.services.instances.recordToken(instance.id, hash);
      const launched = await this.driver.launch({
        instanceId: instance.id,
        clusterId: cluster.id,
        role: instance.role,
        vcpu: type.vcpu,
        memoryMb: type.memoryMb,
        token,
        controlPlaneUrls: this.options.controlPlaneUrls(),
        hostId: instance.hostId,
      });
      await this.services.instances.recordLaunch(instance.id, launched.pid, launched.host, launched.workdir);
      this.log.info({ instanceId: instance.id, pid: launched.pid }, 'node agent launched');
    } catch (err) {
      // retried by a later pass with a new token: an agent that did start is then refused and stops
      this.launched.delete(instance.id);
      throw err;
    }
  }

  private async terminate(cluster: ClusterRow): Promise<void> {
    const live = await instancesQ.liveInstancesOfCluster(this.services.sql, cluster.id);
    for (const instance of live) {
      if (this.busy.has(instance.id)) continue;
      this.track(
        instance.id,
        this.driver.stop(handleOf(instance), this.options.stopGraceMs).then(() =>
          this.services.instances.terminated(instance.id, {
            code: cluster.stateReasonCode ?? 'USER_REQUEST',
            message: cluster.stateReasonMessage ?? 'Cluster terminated',
          }),
        ),
      );
    }
    if (live.length === 0) await this.services.instances.finishTermination(cluster.id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.hintTimer) clearTimeout(this.hintTimer);
    await this.passes.idle();
    await Promise.allSettled([...this.inflight]);
    if (this.leading) {
      await this.options.leaderDb`select pg_advisory_unlock(${LEADER_LOCK})`.catch(() => {});
      this.leading = false;
    }
  }
}
