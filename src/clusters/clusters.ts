import type { Sql, Tx } from '../platform/db/client.js';
import * as q from './queries/clusters.js';
import { WHOLE_ROWS, type ClusterTree, type NestedShape } from './queries/nested.js';
import { appendEvent } from './queries/events.js';
import { insertInstance } from './queries/instances.js';
import type { ClusterRow, ClusterState, InstanceGroupRow, InstanceRole } from './tables.js';
import { ACTIVE_CLUSTER_STATES } from './tables.js';
import { credentialKey } from '../engine/agent/credential.js';
import { newId, secret } from '../platform/ids.js';
import { instanceType, type ApplicationInfo } from './instance-types.js';
import { validateBootstrapActions, type BootstrapActionInput } from './bootstrap-actions.js';
import type { Secrets } from '../platform/secrets.js';
import type { Principal } from '../platform/authorization.js';
import { CLUSTER_OBJECT_ACTIONS, type WorkloadCredentials } from '../access/workload-credentials.js';
import type { StorageService } from '../storage/service.js';
import { validLabels } from '../hosts/service.js';
import { AppError, badInput, conflict, notFound } from '../platform/errors.js';
import { insertValidatedSteps, validateSteps, type StepInput, type StepService } from './steps.js';
import { beginTermination, changeGroup } from './state-changes.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor, type Page } from '../platform/paging.js';
import { Limits, requireIntInRange, requireList, requireName } from '../platform/validate.js';

export interface InstanceGroupInput {
  role: InstanceRole;
  instanceType: string;
  count: number;
  /** nodes only on hosts carrying all these labels */
  hostLabels?: unknown;
  name?: string | null;
}

export interface CreateClusterInput {
  name: string;
  applications?: string[] | null;
  instanceGroups: InstanceGroupInput[];
  keepAliveWhenNoSteps?: boolean | null;
  autoTerminationIdleTimeoutSeconds?: number | null;
  stepConcurrencyLevel?: number | null;
  terminationProtected?: boolean | null;
  steps?: StepInput[] | null;
  bootstrapActions?: BootstrapActionInput[] | null;
  clientToken?: string | null;
}

export interface ClusterFilter {
  states?: ClusterState[] | null;
  nameContains?: string | null;
  ids?: string[] | null;
}

/** New instance rows get a join token; only its key (a hash) is stored. The agent receives it at launch. */
export function newInstanceToken(): { token: string; hash: string } {
  const token = secret(24);
  return { token, hash: credentialKey(token) };
}

function validateGroups(groups: readonly InstanceGroupInput[]): void {
  requireList(groups, 'instanceGroups', 1, 3 + 48);
  let masters = 0;
  let total = 0;
  groups.forEach((g, i) => {
    const field = `instanceGroups.${i}`;
    if (!instanceType(g.instanceType))
      throw badInput(`${field}.instanceType`, `unknown instance type "${g.instanceType.slice(0, 64)}"; see the instanceTypes query`);
    requireIntInRange(g.count, `${field}.count`, g.role === 'MASTER' ? 1 : 0, Limits.instancesPerGroup);
    validLabels(g.hostLabels, `${field}.hostLabels`);
    if (g.role === 'MASTER') {
      masters++;
      if (g.count !== 1) throw badInput(`${field}.count`, 'the MASTER group must have exactly 1 instance');
    }
    total += g.count;
  });
  if (masters !== 1) throw badInput('instanceGroups', `exactly one MASTER group is required, got ${masters}`);
  if (total > Limits.instancesPerCluster) throw badInput('instanceGroups', `at most ${Limits.instancesPerCluster} instances per cluster`);
}

/** When Spark applications were last seen running or waiting on a cluster since a time (null: not since). */
export type AppActivity = (clusterId: string, since: Date) => Promise<Date | null>;

export class ClusterService {
  constructor(
    private readonly sql: Sql,
    private readonly steps: StepService,
    /** what this engine can run (SPARK only where pyspark and Java are found) */
    private readonly applications: readonly ApplicationInfo[],
    private readonly storage: StorageService,
    private readonly appActivity: AppActivity,
    private readonly secrets: Secrets,
    private readonly credentials: WorkloadCredentials,
    /** the least auto-termination idle timeout a cluster may ask for (EMR's is 60 s) */
    private readonly minIdleTimeoutSeconds: number,
    /** a page of the listing (batched with other requests' pages: loaders.ts) */
    private readonly readPage: (query: q.ClusterPageQuery) => Promise<ClusterTree[]>,
  ) {}

  /** `creator`: who asks; the cluster's own S3 credential gets the object actions it holds, no more. */
  async create(input: CreateClusterInput, creator: Principal): Promise<ClusterRow> {
    const name = requireName(input.name, 'name');
    const applications = [...new Set(input.applications ?? [])];
    applications.forEach((a, i) => {
      const app = this.applications.find((x) => x.name === a);
      if (!app) throw badInput(`applications.${i}`, `unknown application ${a}`);
      if (!app.available) throw badInput(`applications.${i}`, app.reason ?? `${a} is not available`);
    });
    validateGroups(input.instanceGroups);
    const bootstrapActions = await validateBootstrapActions(input.bootstrapActions, 'bootstrapActions', this.storage);
    const stepConcurrency = requireIntInRange(input.stepConcurrencyLevel ?? 1, 'stepConcurrencyLevel', 1, 256);
    const idle = input.autoTerminationIdleTimeoutSeconds ?? null;
    if (idle !== null) requireIntInRange(idle, 'autoTerminationIdleTimeoutSeconds', this.minIdleTimeoutSeconds, 604_800);
    const steps = await validateSteps(input.steps ?? [], 'steps', stepConcurrency, this.steps.kindContext(applications));
    const token = input.clientToken ?? null;
    if (token !== null) requireName(token, 'clientToken', Limits.clientTokenLength);
    // keyed: the request holds the steps' environments, which a bare hash would let one guess at
    const requestHash = token === null ? null : this.secrets.keyedHash(JSON.stringify({ ...input, clientToken: undefined }));

    const created = await this.sql.begin(async (tx) => {
      const cluster = await q.insertCluster(tx, {
        id: newId('j'),
        name,
        applications,
        keepAlive: input.keepAliveWhenNoSteps ?? true,
        idleTimeoutSeconds: idle,
        stepConcurrency,
        terminationProtected: input.terminationProtected ?? false,
        clientToken: token,
        requestHash,
        bootstrapActions,
      });
      if (!cluster) return null; // the token is taken: settle it after this transaction
      await appendEvent(tx, cluster.id, 'CLUSTER', cluster.id, 'STARTING', { previousState: null, reasonCode: null, reasonMessage: null });
      for (const g of input.instanceGroups) {
        const group = await q.insertGroup(tx, {
          id: newId('ig'),
          clusterId: cluster.id,
          role: g.role,
          instanceType: g.instanceType,
          requestedCount: g.count,
          hostLabels: validLabels(g.hostLabels, `instanceGroups.${input.instanceGroups.indexOf(g)}.hostLabels`),
        });
        await appendEvent(tx, cluster.id, 'INSTANCE_GROUP', group.id, group.state, {
          previousState: null,
          role: group.role,
          requestedCount: group.requestedCount,
        });
        await this.addInstances(tx, group, g.count);
      }
      await insertValidatedSteps(tx, cluster.id, steps);
      await this.credentials.mint(tx, { kind: 'CLUSTER', id: cluster.id }, creator, CLUSTER_OBJECT_ACTIONS);
      return (await q.clusterById(tx, cluster.id))!;
    });
    if (created) return created;
    // Same token: the same request gets the same cluster; a different request is a conflict.
    const existing = await q.clusterByToken(this.sql, token!);
    if (!existing) throw new AppError('INTERNAL', 'client token conflict could not be resolved');
    if (existing.requestHash !== requestHash) {
      throw conflict('this clientToken was already used with a different request', 'clientToken');
    }
    return existing;
  }

  /** New instance rows for a group (PROVISIONING); the cluster controller launches their agents. */
  async addInstances(tx: Tx, group: InstanceGroupRow, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const instance = await insertInstance(tx, {
        id: newId('i'),
        clusterId: group.clusterId,
        groupId: group.id,
        role: group.role,
        instanceType: group.instanceType,
        tokenHash: '',
      });
      await appendEvent(tx, group.clusterId, 'INSTANCE', instance.id, instance.state, {
        previousState: null,
        role: instance.role,
        pid: null,
      });
    }
  }

  get(id: string): Promise<ClusterRow | undefined> {
    return q.clusterById(this.sql, id);
  }

  async require(id: string, field = 'id'): Promise<ClusterRow> {
    const cluster = await q.clusterById(this.sql, id);
    if (!cluster) throw notFound('cluster', id, field);
    return cluster;
  }

  /** `nested`: the columns and nested lists read with each cluster of the page, by the statement reading the page */
  async list(
    first: number | null | undefined,
    after: string | null | undefined,
    filter: ClusterFilter | null | undefined,
    nested: NestedShape = WHOLE_ROWS,
  ): Promise<Page<ClusterTree>> {
    const limit = pageSize(first);
    if (filter?.nameContains && filter.nameContains.length > Limits.nameLength) throw badInput('filter.nameContains', 'is too long');
    if (filter?.ids) requireList(filter.ids, 'filter.ids', 0, Limits.pageSize);
    const rows = await this.readPage({
      limit: limit + 1,
      after: parseTimeIdCursor(after),
      states: filter?.states?.length ? filter.states : null,
      nameContains: filter?.nameContains || null,
      ids: filter?.ids ?? null,
      nested,
    });
    return {
      nodes: rows.slice(0, limit),
      hasNextPage: rows.length > limit,
      cursorOf: (c) => encodeTimeIdCursor(c.row.createdAt, c.row.id),
    };
  }

  /**
   * Locks the named clusters (in id order, like every multi-cluster change) and checks each with
   * `check` before `apply` runs: one bad id fails the whole call and changes nothing.
   */
  private async forEachCluster<T>(
    ids: string[],
    check: (c: ClusterRow, field: string) => void,
    apply: (tx: Tx, clusters: ClusterRow[]) => Promise<T>,
  ): Promise<T> {
    requireList(ids, 'ids', 1, Limits.idsPerRequest);
    const unique = [...new Set(ids)];
    // postgres.js types begin() as UnwrapPromiseArray<T>; T here is never an array of promises
    return this.sql.begin(async (tx) => {
      const byId = new Map((await q.lockClusters(tx, unique)).map((r) => [r.id, r]));
      ids.forEach((id, i) => {
        const c = byId.get(id);
        if (!c) throw notFound('cluster', id, `ids.${i}`);
        check(c, `ids.${i}`);
      });
      return apply(
        tx,
        unique.map((id) => byId.get(id)!),
      );
    }) as Promise<T>;
  }

  /** All or nothing: a protected cluster among the ids fails the whole call. Ended ones are no-ops. */
  terminate(ids: string[]): Promise<ClusterRow[]> {
    return this.forEachCluster(
      ids,
      (c, field) => {
        if (c.terminationProtected && ACTIVE_CLUSTER_STATES.includes(c.state)) {
          throw conflict(`cluster ${c.id} has termination protection on; turn it off with setTerminationProtection first`, field);
        }
      },
      async (tx, clusters) => {
        const out: ClusterRow[] = [];
        for (const c of clusters) out.push(await beginTermination(tx, c, { code: 'USER_REQUEST', message: 'Terminated by user request' }));
        return out;
      },
    );
  }

  setTerminationProtection(ids: string[], value: boolean): Promise<ClusterRow[]> {
    return this.forEachCluster(
      ids,
      (c, field) => {
        if (!ACTIVE_CLUSTER_STATES.includes(c.state)) throw conflict(`cluster ${c.id} is ${c.state}`, field);
      },
      async (tx, clusters) => {
        await q.setTerminationProtection(
          tx,
          clusters.map((c) => c.id),
          value,
        );
        for (const c of clusters) {
          await appendEvent(tx, c.id, 'CLUSTER', c.id, c.state, { previousState: c.state, terminationProtected: value });
        }
        return q.clustersByIds(
          tx,
          clusters.map((c) => c.id),
        );
      },
    );
  }

  /**
   * The auto-termination policy: a cluster WAITING for longer than its idle timeout ends. On a
   * SPARK cluster running or waiting Spark applications (the master's metrics) count as activity.
   */
  async endIfIdle(clusterId: string): Promise<void> {
    const probe = await q.clusterById(this.sql, clusterId);
    if (probe?.state !== 'WAITING') return;
    const appsAt = probe.applications.includes('SPARK') ? await this.appActivity(clusterId, probe.lastActiveAt) : null;
    await this.sql.begin(async (tx) => {
      const c = await q.lockCluster(tx, clusterId);
      if (c?.state !== 'WAITING' || c.idleTimeoutSeconds === null) return;
      const idleSince = Math.max(c.lastActiveAt.getTime(), appsAt?.getTime() ?? 0);
      if (Date.now() - idleSince <= c.idleTimeoutSeconds * 1_000) return;
      await beginTermination(tx, c, {
        code: 'ALL_STEPS_COMPLETED',
        message: `Idle for more than ${c.idleTimeoutSeconds} seconds (auto-termination policy)`,
      });
    });
  }

  /** Ends an active cluster for a reason of the system's (bootstrap or node failures). */
  async endWithError(clusterId: string, code: 'BOOTSTRAP_FAILURE' | 'INSTANCE_FAILURE', message: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      const c = await q.lockCluster(tx, clusterId);
      if (c) await beginTermination(tx, c, { code, message });
    });
  }

  /** Records the wanted size; the cluster controller starts or stops agents to match. */
  async modifyInstanceGroup(input: {
    clusterId?: string | null;
    instanceGroupId: string;
    instanceCount: number;
  }): Promise<InstanceGroupRow> {
    const group = await q.groupById(this.sql, input.instanceGroupId);
    if (!group || (input.clusterId && group.clusterId !== input.clusterId)) {
      throw notFound('instance group', input.instanceGroupId, 'instanceGroupId');
    }
    if (group.role === 'MASTER') throw badInput('instanceCount', 'the MASTER group always has exactly 1 instance');
    requireIntInRange(input.instanceCount, 'instanceCount', 0, Limits.instancesPerGroup);
    return this.sql.begin(async (tx) => {
      const cluster = (await q.lockCluster(tx, group.clusterId))!;
      if (!ACTIVE_CLUSTER_STATES.includes(cluster.state)) {
        throw conflict(`cluster ${cluster.id} is ${cluster.state}: its groups can no longer be resized`, 'instanceGroupId');
      }
      const current = (await q.groupById(tx, group.id))!;
      const others = (await q.groupsOfClusters(tx, [cluster.id]))
        .filter((g) => g.id !== group.id)
        .reduce((n, g) => n + g.requestedCount, 0);
      if (others + input.instanceCount > Limits.instancesPerCluster) {
        throw badInput('instanceCount', `at most ${Limits.instancesPerCluster} instances per cluster`);
      }
      if (current.requestedCount === input.instanceCount) return current;
      const updated = await changeGroup(tx, current, { requestedCount: input.instanceCount, state: 'RESIZING' });
      return updated;
    });
  }
}
