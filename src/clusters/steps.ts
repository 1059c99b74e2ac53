import type { Sql, Tx } from '../platform/db/client.js';
import * as clustersQ from './queries/clusters.js';
import * as instancesQ from './queries/instances.js';
import { eventHead } from './queries/events.js';
import { createStream, systemLog } from '../logs/queries.js';
import * as q from './queries/steps.js';
import type { ActionOnFailure, ClusterRow, StepRow, StepSpec } from './tables.js';
import { ACTIVE_CLUSTER_STATES } from './tables.js';
import { newId } from '../platform/ids.js';
import { badInput, conflict, notFound } from '../platform/errors.js';
import { beginTermination, cancelPendingSteps, changeClusterState, changeStepState, settleActivity } from './state-changes.js';
import { isAllowed, type Principal } from '../platform/authorization.js';
import type { Secrets } from '../platform/secrets.js';
import type { StorageService } from '../storage/service.js';
import type { CatalogLookup } from './spark/metastore.js';
import type { StepKindContext, StepKindName, StepKinds } from './step-kinds/index.js';
import { Limits, requireList, requireName } from '../platform/validate.js';

export interface StepInput {
  name: string;
  actionOnFailure?: ActionOnFailure | null;
  command?: unknown;
  script?: unknown;
  spark?: unknown;
  sql?: unknown;
}

export interface ValidStep {
  name: string;
  actionOnFailure: ActionOnFailure;
  kind: StepKindName;
  spec: StepSpec;
}

export async function validateSteps(
  steps: readonly StepInput[],
  field: string,
  concurrency: number,
  ctx: StepKindContext,
): Promise<ValidStep[]> {
  requireList(steps, field, 0, Limits.stepsPerRequest);
  const valid: ValidStep[] = [];
  const inputFields = Object.keys(ctx.kinds) as (keyof StepKinds)[];
  for (const [i, s] of steps.entries()) {
    const f = `${field}.${i}`;
    const name = requireName(s.name, `${f}.name`);
    const given = inputFields.filter((k) => s[k] !== null && s[k] !== undefined);
    if (given.length !== 1) throw badInput(f, `exactly one of ${inputFields.join(', ')} is required, got ${given.length}`);
    const actionOnFailure = s.actionOnFailure ?? 'CONTINUE';
    if (concurrency > 1 && actionOnFailure !== 'CONTINUE') {
      throw badInput(`${f}.actionOnFailure`, 'with stepConcurrencyLevel > 1 only CONTINUE is allowed');
    }
    const { name: kind, kind: impl } = ctx.kinds[given[0]!];
    const spec = await impl.prepare(s[given[0]!], `${f}.${given[0]}`, ctx);
    // stored encrypted; opened only to start the process (AgentGateway.sendRun) and for keys that may add steps
    valid.push({ name, actionOnFailure, kind, spec: { ...spec, env: ctx.secrets.sealEnv(spec.env) } });
  }
  return valid;
}

export async function insertValidatedSteps(tx: Tx, clusterId: string, steps: ValidStep[]): Promise<StepRow[]> {
  // every statement sent at once (one round trip); they run, and the steps get their positions, in this order
  const inserts = steps.map((s) => {
    const logStreamId = newId('log');
    return Promise.all([
      createStream(tx, logStreamId),
      q.insertStep(tx, {
        id: newId('s'),
        clusterId,
        name: s.name,
        kind: s.kind,
        spec: s.spec,
        actionOnFailure: s.actionOnFailure,
        logStreamId,
      }),
    ]);
  });
  return (await Promise.all(inserts)).map(([, row]) => row);
}

export type CancelMode = 'SEND_INTERRUPT' | 'TERMINATE_PROCESS';
export interface CancelResult {
  stepId: string;
  status: 'SUBMITTED' | 'FAILED';
  reason: string | null;
}

/** The events one transaction appended to a cluster's log: seqs after `after`, up to `through`. */
export interface EventSpan {
  after: number;
  through: number;
}

/** How steps reach this server's node agents (the step dispatcher). */
export interface StepDelivery {
  readonly serverId: string;
  /** the cluster's MASTER instance when its agent is connected to this server, else null */
  localMaster(clusterId: string): string | null;
  /** hands steps claimed for `instanceId` to its agent (after their transaction committed) */
  deliver(instanceId: string, steps: readonly StepRow[]): void;
  /** a change committed here gives a cluster work: this server's dispatcher looks at once (other
   *  servers learn of it from the event's NOTIFY, a round trip later) */
  kick(clusterId: string): void;
  /** a transaction that claimed the cluster's steps for its master here commits `events` (told just
   *  before its commit): their NOTIFYs give this server's dispatcher nothing more to do */
  claimedThrough(clusterId: string, events: EventSpan): void;
}

export class StepService {
  constructor(
    private readonly sql: Sql,
    private readonly storage: StorageService,
    private readonly secrets: Secrets,
    private readonly catalog: CatalogLookup,
    private readonly kinds: StepKinds,
    private readonly delivery: StepDelivery,
    private readonly objects: { pathMapping: boolean; duckdbExtensionsDir: string },
  ) {}

  kindContext(applications: readonly string[]): StepKindContext {
    return {
      applications,
      bucketsDir: this.storage.options.bucketsDir,
      objectPathMapping: this.objects.pathMapping,
      duckdbExtensionsDir: this.objects.duckdbExtensionsDir,
      storage: this.storage,
      secrets: this.secrets,
      catalog: this.catalog,
      kinds: this.kinds,
    };
  }

  /**
   * A step's environment as a caller sees it: the values only for a key that may add steps (it
   * could set them, and its steps run beside this one); a key that may only describe sees the
   * names, each with null, so it knows what is set without learning any secret.
   */
  envFor(principal: Principal | null, step: StepRow): Record<string, string | null> {
    const env = this.secrets.openEnv(step.spec.env);
    if (principal && isAllowed(principal, 'clusters:AddSteps')) return env;
    return Object.fromEntries(Object.keys(env).map((k) => [k, null]));
  }

  get(id: string): Promise<StepRow | undefined> {
    return q.stepById(this.sql, id);
  }

  async add(clusterId: string, steps: StepInput[]): Promise<StepRow[]> {
    requireList(steps, 'steps', 1, Limits.stepsPerRequest);
    // steps are checked (objects looked up, queries parsed) before the cluster row is locked: a
    // check holding the lock while it waits for another pooled connection could starve the pool
    const probe = await clustersQ.clusterById(this.sql, clusterId);
    if (!probe) throw notFound('cluster', clusterId, 'clusterId');
    requireActive(probe);
    const valid = await validateSteps(steps, 'steps', probe.stepConcurrency, this.kindContext(probe.applications));
    // with the master's agent connected here, the steps are claimed in the transaction that adds them and
    // sent right after it: no second transaction and no trip through the dispatcher before they start
    const master = this.delivery.localMaster(clusterId);
    const { rows, claim } = await this.claimingTransaction(clusterId, async (tx) => {
      const cluster = (await clustersQ.lockCluster(tx, clusterId))!;
      requireActive(cluster);
      const active = await q.countActiveSteps(tx, clusterId);
      if (active + valid.length > Limits.activeStepsPerCluster) {
        throw badInput('steps', `a cluster holds at most ${Limits.activeStepsPerCluster} PENDING or RUNNING steps; it has ${active}`);
      }
      const rows = await insertValidatedSteps(tx, clusterId, valid);
      const settled = await settleActivity(tx, cluster);
      const claim =
        master && (await instancesQ.isConnectedTo(tx, master, this.delivery.serverId))
          ? ((await claimWithin(tx, settled, cluster, master)) ?? (await noClaim(tx, cluster)))
          : null;
      return { rows, claim };
    });
    const claimed = claim?.steps ?? [];
    if (master && claim) {
      this.delivery.deliver(master, claimed);
    } else {
      this.delivery.kick(clusterId);
    }
    const now = new Map(claimed.map((step) => [step.id, step]));
    return rows.map((row) => now.get(row.id) ?? row);
  }

  /** PENDING steps are cancelled at once; RUNNING ones go to CANCEL_PENDING until their process ends. */
  async cancel(clusterId: string, stepIds: string[], mode: CancelMode = 'SEND_INTERRUPT'): Promise<CancelResult[]> {
    requireList(stepIds, 'stepIds', 1, Limits.idsPerRequest);
    return this.sql
      .begin(async (tx) => {
        const cluster = await clustersQ.lockCluster(tx, clusterId);
        if (!cluster) throw notFound('cluster', clusterId, 'clusterId');
        const rows = new Map((await q.lockSteps(tx, clusterId, [...new Set(stepIds)])).map((s) => [s.id, s]));
        const results: CancelResult[] = [];
        for (const id of stepIds) {
          const step = rows.get(id);
          if (!step) {
            results.push({ stepId: id, status: 'FAILED', reason: `step ${id} does not exist in cluster ${clusterId}` });
          } else if (step.state === 'PENDING') {
            rows.set(id, await changeStepState(tx, step, 'CANCELLED', {}, 'Step cancelled by user request'));
            results.push({ stepId: id, status: 'SUBMITTED', reason: null });
          } else if (step.state === 'RUNNING') {
            await q.setCancelOption(tx, id, mode);
            rows.set(id, await changeStepState(tx, step, 'CANCEL_PENDING', {}, 'Cancellation requested: stopping the step process'));
            results.push({ stepId: id, status: 'SUBMITTED', reason: null });
          } else if (step.state === 'CANCEL_PENDING') {
            results.push({ stepId: id, status: 'SUBMITTED', reason: null });
          } else {
            results.push({ stepId: id, status: 'FAILED', reason: `step ${id} is ${step.state}` });
          }
        }
        await settleActivity(tx, cluster);
        return results;
      })
      .then((results) => {
        this.delivery.kick(clusterId); // RUNNING steps now CANCEL_PENDING: their agent must be told
        return results;
      });
  }

  pages(clusterIds: readonly string[], limit: number, beforePosition: number | null): Promise<StepRow[]> {
    return q.stepPages(this.sql, clusterIds, limit, beforePosition);
  }

  // ---- dispatch and reports from node agents ----

  /**
   * Marks the next steps RUNNING on the master (up to the concurrency level) and returns them, if
   * that node's agent is connected to `serverId` (the caller's process): a dispatcher holding a
   * stale connection must not claim steps into a dead socket.
   */
  async claim(clusterId: string, instanceId: string, serverId: string): Promise<StepRow[]> {
    const { claim } = await this.claimingTransaction(clusterId, async (tx) => {
      const cluster = await clustersQ.lockCluster(tx, clusterId);
      if (!cluster || !(await instancesQ.isConnectedTo(tx, instanceId, serverId))) return { claim: null };
      return { claim: (await claimWithin(tx, cluster, cluster, instanceId)) ?? (await noClaim(tx, cluster)) };
    });
    return claim?.steps ?? [];
  }

  /**
   * A transaction that may claim the cluster's steps for its master here. The claim is announced to
   * the dispatcher before the commit (claimedThrough): the NOTIFYs of its events can come before the
   * commit's answer does. A commit that fails takes it back (its seqs will be another transaction's).
   */
  private async claimingTransaction<T extends { claim: Claim | null }>(clusterId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    let announced = null as EventSpan | null;
    try {
      return (await this.sql.begin(async (tx) => {
        const result = await fn(tx);
        announced = result.claim?.events ?? null;
        if (announced) this.delivery.claimedThrough(clusterId, announced);
        return result;
      })) as T;
    } catch (err) {
      if (announced) this.delivery.claimedThrough(clusterId, { after: announced.after, through: announced.after });
      throw err;
    }
  }

  /** Steps on an instance whose cancellation still has to reach the agent. */
  cancelRequestedOn(instanceId: string): Promise<StepRow[]> {
    return q.stepsOnInstance(this.sql, instanceId, ['CANCEL_PENDING']);
  }

  /** A step report from a node agent counts only for a step that node runs. */
  private async ownStep(stepId: string, instanceId: string): Promise<StepRow | undefined> {
    const step = await q.stepById(this.sql, stepId);
    return step && step.instanceId === instanceId ? step : undefined;
  }

  async recordStarted(stepId: string, instanceId: string, pid: number): Promise<void> {
    await q.setStepPid(this.sql, stepId, instanceId, pid);
  }

  async recordProgress(stepId: string, instanceId: string, value: number): Promise<void> {
    const step = await this.ownStep(stepId, instanceId);
    if (!step) return;
    await this.sql.begin(async (tx) => {
      const [, [current]] = await Promise.all([clustersQ.lockCluster(tx, step.clusterId), q.lockSteps(tx, step.clusterId, [stepId])]);
      if (current) await q.setStepProgress(tx, current, Math.min(1, Math.max(0, value)));
    });
  }

  /** A `::result` the step printed while it runs (the one at its exit comes with recordExit). */
  async recordResult(stepId: string, instanceId: string, result: Record<string, unknown>): Promise<void> {
    if (await this.ownStep(stepId, instanceId)) await q.setRunningStepResult(this.sql, stepId, result);
  }

  /**
   * The step's process ended: settle its state and apply its actionOnFailure. Idempotent. In the
   * same transaction the next steps are claimed for the same node (returned, for the caller to
   * send): a queue of steps runs without a round trip through NOTIFY between two of them.
   */
  async recordExit(
    stepId: string,
    instanceId: string,
    exit: {
      exitCode: number | null;
      signal: string | null;
      neverStarted?: boolean;
      result?: Record<string, unknown> | null;
      lostLines?: number;
    },
    /** the step's row as sent to the node or read since, if this server has it */
    known?: StepRow,
  ): Promise<StepRow[]> {
    const { exitCode, signal } = exit;
    const result = exit.result ?? null;
    // a row known here serves (what is read from it does not change) unless outputs are to be
    // registered: whether they are depends on the step's state now
    const step =
      known && known.id === stepId && known.instanceId === instanceId && !known.spec.outputs?.length
        ? known
        : await this.ownStep(stepId, instanceId);
    if (!step) return [];
    // what the step wrote becomes objects before it counts as COMPLETED; a failed step's writes too
    // (a half-done overwrite deleted files: the listing must not keep them)
    const registration = step.state === 'RUNNING' ? await this.registerOutputs(step) : null;
    // a log missing lines is not a successful run's record: the step fails saying how many
    const lost = exit.lostLines ? `${exit.lostLines} log lines were lost (the agent could not keep them until stored)` : null;
    const outputError = exitCode === 0 ? (registration ?? lost) : null;
    // the report came from the step's node over this server's connection: its next steps are claimed
    const { claim } = await this.claimingTransaction(step.clusterId, async (tx) => {
      // The cluster's lock, then the step's (sent together: one round trip, taken in this order).
      // A clean exit of a step sent as RUNNING completes it in the same round trip, the next steps
      // looked up after it; if the step changed meanwhile (cancelled, …) neither happens, and the
      // row as read decides below.
      const completing = exitCode === 0 && outputError === null && step.state === 'RUNNING';
      const [locked, [current], completed, pendingAfter] = await Promise.all([
        clustersQ.lockCluster(tx, step.clusterId),
        q.lockSteps(tx, step.clusterId, [stepId]),
        completing ? q.setStepStateIfStill(tx, step, 'COMPLETED', { exitCode, result }) : undefined,
        completing ? q.claimablePending(tx, step.clusterId) : undefined,
      ]);
      if (!locked || !current) return { claim: null };
      let cluster = locked;
      // the step's change is not awaited where the cluster stays as it is: the claim's first
      // statement goes out with it (and runs after it)
      let ending: Promise<unknown> = Promise.resolve();
      if (completed) {
        ending = systemLog(tx, current.logStreamId, COMPLETED_MESSAGE);
      } else if (current.state === 'CANCEL_PENDING') {
        ending = changeStepState(
          tx,
          current,
          'CANCELLED',
          { exitCode },
          exit.neverStarted
            ? 'Step cancelled before its process started'
            : `Step cancelled (process ended${signal ? ` by ${signal}` : ''})`,
        );
      } else if (current.state === 'RUNNING' && cluster.state === 'TERMINATING' && exitCode !== 0) {
        // the agent stopped it because the cluster is ending: not the step's own failure
        ending = changeStepState(
          tx,
          current,
          'INTERRUPTED',
          {
            exitCode,
            failureReason: cluster.stateReasonCode ?? 'USER_REQUEST',
            failureMessage: 'the cluster terminated while the step ran',
          },
          `Step interrupted: the cluster is terminating${signal ? ` (process ended by ${signal})` : ''}`,
        );
      } else if (current.state === 'RUNNING') {
        if (exitCode === 0 && outputError === null) {
          ending = changeStepState(tx, current, 'COMPLETED', { exitCode, result }, COMPLETED_MESSAGE);
        } else {
          const message =
            outputError ?? (signal ? `the step process was killed by ${signal}` : `the step process exited with code ${exitCode}`);
          await changeStepState(
            tx,
            current,
            'FAILED',
            { exitCode, result, failureReason: 'STEP_FAILURE', failureMessage: message },
            `Step failed: ${message}`,
          );
          cluster = await applyActionOnFailure(tx, cluster, current);
        }
      }
      const next = current.instanceId
        ? await claimWithin(tx, cluster, locked, current.instanceId, ending, completed ? pendingAfter : undefined)
        : await ending.then(() => null);
      if (next) return { claim: next };
      // a step claimed keeps the cluster RUNNING (claimWithin said so): only without one may it wait or end
      await settleActivity(tx, cluster);
      return { claim: await noClaim(tx, locked) };
    });
    return claim?.steps ?? [];
  }

  /** Registers the step's outputs as objects; the reason they could not be, or null. */
  private async registerOutputs(step: StepRow): Promise<string | null> {
    for (const uri of step.spec.outputs ?? []) {
      try {
        await this.storage.registerOutput(uri, 'outputUri');
      } catch (err) {
        return `the step's output ${uri} could not be registered: ${(err as Error).message}`;
      }
    }
    return null;
  }

  /** The step's node is gone: the step can't finish. */
  async recordLost(tx: Tx, step: StepRow, state: 'FAILED' | 'INTERRUPTED', reason: string, message: string): Promise<void> {
    if (step.state !== 'RUNNING' && step.state !== 'CANCEL_PENDING') return;
    const final = step.state === 'CANCEL_PENDING' ? 'CANCELLED' : state;
    await changeStepState(tx, step, final, { failureReason: reason, failureMessage: message }, `Step ${final.toLowerCase()}: ${message}`);
  }
}

const COMPLETED_MESSAGE = 'Step completed (exit code 0)';

function requireActive(cluster: ClusterRow): void {
  if (!ACTIVE_CLUSTER_STATES.includes(cluster.state)) {
    throw conflict(`steps can't be added to a ${cluster.state} cluster`, 'clusterId');
  }
}

/** The events appended since `locked` was read with the cluster's row lock, which the transaction still holds. */
async function eventsSince(tx: Tx, locked: ClusterRow): Promise<EventSpan> {
  return { after: locked.eventSeq, through: await eventHead(tx, locked.id) };
}

/** Steps claimed for a node, and the events of their transaction (see StepDelivery.claimedThrough). */
interface Claim {
  steps: StepRow[];
  events: EventSpan;
}

/** A transaction that claimed nothing: its events, for the dispatcher to know they leave it nothing to do. */
async function noClaim(tx: Tx, locked: ClusterRow): Promise<Claim> {
  return { steps: [], events: await eventsSince(tx, locked) };
}

/**
 * Claims the cluster's next steps for `instanceId` (its master): null when there are none to run.
 * `cluster` is its row as the transaction left it, `locked` as it read it when it took the lock;
 * `after`, a change of the transaction still under way, which the claim comes after; `lookedUp`,
 * the claimable steps if the transaction has looked them up since its last change.
 */
async function claimWithin(
  tx: Tx,
  cluster: ClusterRow,
  locked: ClusterRow,
  instanceId: string,
  after: Promise<unknown> = Promise.resolve(),
  lookedUp?: StepRow[],
): Promise<Claim | null> {
  if (cluster.state !== 'RUNNING' && cluster.state !== 'WAITING') {
    await after;
    return null;
  }
  const pending = lookedUp ?? (await Promise.all([after, q.claimablePending(tx, cluster.id)]))[1];
  if (pending.length === 0) {
    await after;
    return null;
  }
  // every claim's statements sent at once, and the event head read after them in the same round trip
  const claiming = Promise.all(
    pending.map((step) => changeStepState(tx, step, 'RUNNING', { instanceId }, `Step started on ${instanceId}`)),
  );
  if (cluster.state === 'WAITING') {
    const [, steps] = await Promise.all([after, claiming]);
    await changeClusterState(tx, cluster, 'RUNNING', { code: null, message: 'Running step' });
    return { steps, events: await eventsSince(tx, locked) };
  }
  const [, steps, events] = await Promise.all([after, claiming, eventsSince(tx, locked)]);
  return { steps, events };
}

async function applyActionOnFailure(tx: Tx, cluster: ClusterRow, step: StepRow): Promise<ClusterRow> {
  if (step.actionOnFailure === 'CANCEL_AND_WAIT') {
    await cancelPendingSteps(tx, cluster.id, `step ${step.id} failed (actionOnFailure CANCEL_AND_WAIT)`);
  } else if (step.actionOnFailure === 'TERMINATE_CLUSTER') {
    if (cluster.terminationProtected) {
      // EMR: a protected cluster is not shut down by a failed step; it waits like CANCEL_AND_WAIT
      await cancelPendingSteps(tx, cluster.id, `step ${step.id} failed (TERMINATE_CLUSTER, but termination protection is on)`);
      return cluster;
    }
    return beginTermination(tx, cluster, { code: 'STEP_FAILURE', message: `Shut down as step ${step.id} failed` });
  }
  return cluster;
}
