import crypto from 'node:crypto';
import type { Sql, Tx } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import * as q from './queries/instances.js';
import * as stepsQ from './queries/steps.js';
import { appendEvent } from './queries/events.js';
import type { ClusterRow, InstanceEndpoints, InstanceGroupRow, InstanceRow, StepRow } from './tables.js';
import { ACTIVE_CLUSTER_STATES, ENDED_CLUSTER_STATES } from './tables.js';
import { helloProof, nextCredentialKey, welcomeProof } from '../engine/agent/credential.js';
import type { StepService } from './steps.js';
import type { WorkloadCredentials } from '../access/workload-credentials.js';
import {
  beginTermination,
  changeClusterState,
  changeGroup,
  changeInstanceState,
  finalStateFor,
  settleActivity,
  type Reason,
} from './state-changes.js';

export type HelloResult =
  /**
   * `welcomeProof`: shows the agent this is its control plane; `nextTokenHash`: the key the agent
   * derives after this welcome, until it confirms it (`confirmToken`)
   */
  | { ok: true; instance: InstanceRow; steps: StepRow[]; welcomeProof: string; nextTokenHash: string }
  | { ok: false; reason: string; shutdown: boolean };

/** Which of the instance's keys (if any) made `proof` for this connection's challenge. */
function provenKey(proof: string, nonce: string, instanceId: string, keys: Array<string | null>): string | null {
  const presented = Buffer.from(proof);
  for (const key of keys) {
    if (!key) continue;
    const expected = Buffer.from(helloProof(key, nonce, instanceId));
    if (presented.length === expected.length && crypto.timingSafeEqual(presented, expected)) return key;
  }
  return null;
}

const REFUSED: HelloResult = { ok: false, reason: 'unknown instance or wrong token', shutdown: true };

/** Keeps each group's state in line with its instances. */
async function refreshGroups(tx: Tx, cluster: ClusterRow): Promise<void> {
  const groups = await clustersQ.groupsOfClusters(tx, [cluster.id]);
  const live = await q.liveInstancesOfCluster(tx, cluster.id);
  const ready = cluster.state === 'RUNNING' || cluster.state === 'WAITING';
  for (const g of groups) {
    const mine = live.filter((i) => i.groupId === g.id);
    const running = mine.filter((i) => i.state === 'RUNNING').length;
    let state: InstanceGroupRow['state'];
    if (cluster.state === 'TERMINATING') state = 'TERMINATING';
    else if (ENDED_CLUSTER_STATES.includes(cluster.state)) state = 'TERMINATED';
    else if (running === g.requestedCount && mine.length === g.requestedCount) state = 'RUNNING';
    else if (ready || g.state === 'RUNNING' || g.state === 'RESIZING') state = 'RESIZING';
    else state = mine.some((i) => i.state === 'BOOTSTRAPPING' || i.state === 'RUNNING') ? 'BOOTSTRAPPING' : 'PROVISIONING';
    await changeGroup(tx, g, { state });
  }
}

export class InstanceService {
  constructor(
    private readonly sql: Sql,
    private readonly steps: StepService,
    private readonly credentials: WorkloadCredentials,
  ) {}

  get(id: string): Promise<InstanceRow | undefined> {
    return q.instanceById(this.sql, id);
  }

  /** The live instances placed on a host. */
  liveOnHost(hostId: string): Promise<InstanceRow[]> {
    return q.liveInstancesPlacedOn(this.sql, hostId);
  }

  /** A new join token for an instance about to be launched (an older agent for it is refused). */
  recordToken(instanceId: string, tokenHash: string): Promise<void> {
    return q.recordToken(this.sql, instanceId, tokenHash);
  }

  /** Records the agent process the engine launched for an instance. */
  recordLaunch(instanceId: string, pid: number, host: string, workdir: string): Promise<void> {
    return q.recordLaunch(this.sql, instanceId, { pid, host, workdir });
  }

  /**
   * The controller chose the host of a new instance: recorded with its event (detail.hostId) in one
   * transaction. An instance that waited for capacity is PROVISIONING again.
   */
  place(instanceId: string, host: { id: string; name: string }): Promise<void> {
    return this.underLock(instanceId, async (tx, _cluster, instance) => {
      if (instance.state === 'TERMINATED' || instance.hostId !== null) return;
      const state = instance.state === 'AWAITING_FULFILLMENT' ? 'PROVISIONING' : instance.state;
      await q.placeInstance(tx, instanceId, host.id, state);
      await appendEvent(tx, instance.clusterId, 'INSTANCE', instanceId, state, {
        previousState: instance.state,
        role: instance.role,
        pid: null,
        hostId: host.id,
        reasonMessage: `placed on host ${host.id} (${host.name})`,
      });
    });
  }

  /** No host has room for the instance: it waits (AWAITING_FULFILLMENT) with the reason, retried each pass. */
  awaitCapacity(instanceId: string, reason: string): Promise<void> {
    return this.underLock(instanceId, async (tx, _cluster, instance) => {
      if (instance.state === 'TERMINATED' || instance.hostId !== null || instance.stateReasonMessage === reason) return;
      await q.placeInstance(tx, instanceId, null, 'AWAITING_FULFILLMENT', { code: 'INSUFFICIENT_CAPACITY', message: reason });
      await appendEvent(tx, instance.clusterId, 'INSTANCE', instanceId, 'AWAITING_FULFILLMENT', {
        previousState: instance.state,
        role: instance.role,
        pid: null,
        reasonCode: 'INSUFFICIENT_CAPACITY',
        reasonMessage: reason,
      });
    });
  }

  /**
   * An agent dialled in and answered the connection's challenge (`nonce`) with `proof`. Checks it,
   * records where it is connected, starts its bootstrap, and rotates its key
   * (docs/agent-protocol.md "Credentials"): the key it used stays valid only until it confirms the
   * next one (`confirmToken`). All of it under the cluster's lock, in Postgres: any server may
   * take the agent's next connection.
   */
  async hello(instanceId: string, nonce: string, proof: string, pid: number, host: string, serverId: string): Promise<HelloResult> {
    const probe = await q.instanceById(this.sql, instanceId);
    // a stale agent (its launch was superseded), an old proof or a stranger: either way it should
    // stop (and, refused before any lock is taken, can't hold up the cluster by trying again)
    if (!probe || !provenKey(proof, nonce, instanceId, [probe.tokenHash, probe.nextTokenHash])) return REFUSED;
    return this.sql.begin(async (tx): Promise<HelloResult> => {
      const cluster = (await clustersQ.lockCluster(tx, probe.clusterId))!;
      let instance = (await q.instanceById(tx, instanceId))!;
      // checked again under the lock: another server may have rotated the keys meanwhile
      const used = provenKey(proof, nonce, instanceId, [instance.tokenHash, instance.nextTokenHash]);
      if (!used) return REFUSED;
      if (instance.state === 'TERMINATED' || ENDED_CLUSTER_STATES.includes(cluster.state) || cluster.state === 'TERMINATING') {
        return { ok: false, reason: `instance ${instanceId} is ${instance.state} (cluster ${cluster.state})`, shutdown: true };
      }
      const nextKey = nextCredentialKey(used, nonce);
      await q.issueNextToken(tx, instanceId, used, nextKey);
      await q.recordConnection(tx, instanceId, serverId, pid, host);
      if (instance.state === 'PROVISIONING' || instance.state === 'AWAITING_FULFILLMENT') {
        instance = await changeInstanceState(tx, instance, 'BOOTSTRAPPING');
      }
      if (cluster.state === 'STARTING') {
        await changeClusterState(tx, cluster, 'BOOTSTRAPPING', { code: null, message: 'Running bootstrap actions' });
        await refreshGroups(tx, (await clustersQ.clusterById(tx, cluster.id))!);
      }
      const steps = await stepsQ.stepsOnInstance(tx, instanceId, ['RUNNING', 'CANCEL_PENDING']);
      return {
        ok: true,
        instance: (await q.instanceById(tx, instanceId))!,
        steps,
        welcomeProof: welcomeProof(used, nonce, instanceId),
        nextTokenHash: nextKey,
      };
    });
  }

  /** The agent holds the key of its last welcome, `nextTokenHash` (its `tokenReceived`): older ones are void. */
  confirmToken(instanceId: string, nextTokenHash: string): Promise<void> {
    return q.confirmNextToken(this.sql, instanceId, nextTokenHash);
  }

  /**
   * Runs `fn` with the instance re-read under its cluster's lock: every change to a cluster's
   * resources takes that lock first, which orders them and keeps lock order (and deadlocks) simple.
   */
  private async underLock(instanceId: string, fn: (tx: Tx, cluster: ClusterRow, instance: InstanceRow) => Promise<void>): Promise<void> {
    const probe = await q.instanceById(this.sql, instanceId);
    if (!probe) return;
    await this.sql.begin(async (tx) => {
      const cluster = (await clustersQ.lockCluster(tx, probe.clusterId))!;
      await fn(tx, cluster, (await q.instanceById(tx, instanceId))!);
    });
  }

  /**
   * The agent finished bootstrapping: the instance runs; when every node runs, the cluster is ready.
   * The addresses it serves are kept on the instance, the Spark master's also on the cluster (the
   * controller launches the Spark workers once it is known).
   */
  ready(instanceId: string, endpoints: InstanceEndpoints = {}): Promise<void> {
    return this.underLock(instanceId, async (tx, locked, instance) => {
      let cluster = locked;
      if (instance.state !== 'BOOTSTRAPPING') return;
      await q.setEndpoints(tx, instanceId, endpoints);
      if (instance.role === 'MASTER' && endpoints.sparkMasterUrl) {
        await clustersQ.setSparkMaster(tx, cluster.id, endpoints.sparkMasterUrl, endpoints.sparkMasterWebUrl ?? null);
      }
      await changeInstanceState(tx, instance, 'RUNNING');
      if (cluster.state === 'STARTING' || cluster.state === 'BOOTSTRAPPING') {
        const groups = await clustersQ.groupsOfClusters(tx, [cluster.id]);
        const live = await q.liveInstancesOfCluster(tx, cluster.id);
        const allUp = groups.every((g) => live.filter((i) => i.groupId === g.id && i.state === 'RUNNING').length >= g.requestedCount);
        if (allUp) cluster = await settleActivity(tx, cluster, true);
      }
      await refreshGroups(tx, cluster);
    });
  }

  disconnected(instanceId: string, serverId: string): Promise<void> {
    return q.recordDisconnect(this.sql, instanceId, serverId);
  }

  heartbeats(instanceIds: string[]): Promise<void> {
    return q.recordHeartbeats(this.sql, instanceIds);
  }

  /**
   * The instance's agent is gone (dead process, silent too long, or never joined). Its steps can't
   * finish; a dead MASTER ends the cluster, a dead CORE/TASK node is replaced by the controller.
   */
  fail(instanceId: string, reason: Reason): Promise<void> {
    return this.underLock(instanceId, async (tx, locked, instance) => {
      let cluster = locked;
      if (instance.state === 'TERMINATED') return;
      await changeInstanceState(tx, instance, 'TERMINATED', reason);
      for (const step of await stepsQ.stepsOnInstance(tx, instanceId, ['RUNNING', 'CANCEL_PENDING'])) {
        await this.steps.recordLost(tx, step, 'FAILED', 'INSTANCE_FAILURE', `${reason.message} while the step ran`);
      }
      if (instance.role === 'MASTER') {
        cluster = await beginTermination(tx, cluster, {
          code: 'INSTANCE_FAILURE',
          message: `Master node ${instanceId} failed: ${reason.message}`,
        });
      } else {
        cluster = await settleActivity(tx, cluster);
      }
      await refreshGroups(tx, cluster);
    });
  }

  /**
   * A bootstrap action (or a daemon the node starts) failed. While the cluster starts, or on its
   * MASTER, that ends the cluster with BOOTSTRAP_FAILURE; a node added later is failed and replaced
   * (nodes that keep failing end the cluster, see the controller).
   */
  bootstrapFailed(instanceId: string, message: string): Promise<void> {
    return this.underLock(instanceId, async (tx, locked, instance) => {
      let cluster = locked;
      if (instance.state === 'TERMINATED') return;
      const reason = { code: 'BOOTSTRAP_FAILURE', message };
      await changeInstanceState(tx, instance, 'TERMINATED', reason);
      const starting = cluster.state === 'STARTING' || cluster.state === 'BOOTSTRAPPING';
      if (starting || instance.role === 'MASTER') {
        cluster = await beginTermination(tx, cluster, {
          code: 'BOOTSTRAP_FAILURE',
          message: `On ${instance.role} node ${instanceId}: ${message}`,
        });
      }
      await refreshGroups(tx, cluster);
    });
  }

  /** Stopped on purpose (terminate, shrink): steps still on it are INTERRUPTED. */
  terminated(instanceId: string, reason: Reason): Promise<void> {
    return this.underLock(instanceId, async (tx, cluster, instance) => {
      if (instance.state === 'TERMINATED') return;
      await changeInstanceState(tx, instance, 'TERMINATED', reason);
      for (const step of await stepsQ.stepsOnInstance(tx, instanceId, ['RUNNING', 'CANCEL_PENDING'])) {
        await this.steps.recordLost(tx, step, 'INTERRUPTED', reason.code ?? 'USER_REQUEST', reason.message);
      }
      await refreshGroups(tx, cluster);
    });
  }

  /** A TERMINATING cluster whose instances are all stopped reaches its final state. */
  async finishTermination(clusterId: string): Promise<boolean> {
    const ended = await this.sql.begin(async (tx) => {
      const cluster = (await clustersQ.lockCluster(tx, clusterId))!;
      if (cluster.state !== 'TERMINATING') return false;
      if ((await q.liveInstancesOfCluster(tx, clusterId)).length > 0) return false;
      for (const step of await stepsQ.activeSteps(tx, clusterId)) {
        await this.steps.recordLost(tx, step, 'INTERRUPTED', 'CLUSTER_TERMINATED', 'the cluster terminated');
      }
      const ended = await changeClusterState(tx, cluster, finalStateFor(cluster), {
        code: cluster.stateReasonCode,
        message: cluster.stateReasonMessage ?? 'Terminated',
      });
      // the cluster's S3 credential ends with it (a node left behind can't reach objects)
      await this.credentials.revoke(tx, { kind: 'CLUSTER', id: clusterId });
      await refreshGroups(tx, ended);
      return true;
    });
    if (ended) this.credentials.revoked();
    return ended;
  }

  /** Adds instance rows where a group has fewer live instances than requested (growth, healing). */
  async fillGroups(
    clusterId: string,
    add: (tx: Tx, group: InstanceGroupRow, count: number) => Promise<void>,
    /** live instances that don't count (TASK nodes being moved off a draining host) */
    leaving: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    await this.sql.begin(async (tx) => {
      const cluster = (await clustersQ.lockCluster(tx, clusterId))!;
      if (!ACTIVE_CLUSTER_STATES.includes(cluster.state)) return;
      const live = (await q.liveInstancesOfCluster(tx, clusterId)).filter((i) => !leaving.has(i.id));
      for (const g of await clustersQ.groupsOfClusters(tx, [clusterId])) {
        const missing = g.requestedCount - live.filter((i) => i.groupId === g.id).length;
        if (missing > 0 && g.role !== 'MASTER') await add(tx, g, missing);
      }
      await refreshGroups(tx, cluster);
    });
  }
}
