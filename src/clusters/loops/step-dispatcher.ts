import type { Logger } from 'pino';
import type { EventSpan, StepService } from '../steps.js';
import type { StepRow } from '../tables.js';
import type { AgentGateway } from '../agent-gateway.js';
import { OneRunPerKey } from '../../platform/one-run-at-a-time.js';

const CANCEL_RESEND_MS = 5_000;

/** The services it uses. */
export interface StepDispatcherServices {
  steps: StepService;
}

/**
 * Runs on every server: hands PENDING steps to the master agents connected to THIS process
 * (claims are row-locked, so no step runs twice however many servers there are) and carries
 * cancellations to them. Woken by NOTIFY hints and by a periodic tick.
 */
export class StepDispatcher {
  private serializer: OneRunPerKey;
  private cancelSentAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  /** per cluster, the events of the last transaction here that claimed its steps (claimedThrough) */
  private claimedSpans = new Map<string, EventSpan>();

  constructor(
    private readonly services: StepDispatcherServices,
    private readonly sessions: AgentGateway,
    private readonly serverId: string,
    private readonly log: Logger,
  ) {
    this.serializer = new OneRunPerKey(
      (clusterId) => this.dispatch(clusterId),
      (err, clusterId) => {
        this.log.error({ err, clusterId }, 'step dispatch failed; the next tick retries');
      },
    );
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  kick(clusterId: string): void {
    if (this.masterOf(clusterId)) this.serializer.request(clusterId);
  }

  /**
   * A cluster event committed (its NOTIFY): a pass, unless a transaction of this server appended it
   * while it claimed the cluster's steps for its master here. That transaction held the cluster's
   * lock and claimed what there was: a pass would only take the lock from the next step's report.
   */
  eventCommitted(clusterId: string, seq: number): void {
    const span = this.claimedSpans.get(clusterId);
    if (span && seq > span.after && seq <= span.through) return;
    this.kick(clusterId);
  }

  /** The events of a transaction that claims the cluster's steps for its master here, told as it commits (an empty span takes back one whose commit failed). */
  claimedThrough(clusterId: string, events: EventSpan): void {
    // right after the last one (no other transaction's events between): both are ours, and the
    // NOTIFYs of the last may still be on their way
    const last = this.claimedSpans.get(clusterId);
    this.claimedSpans.set(clusterId, last && last.through === events.after ? { after: last.after, through: events.through } : events);
  }

  tick(): void {
    for (const clusterId of this.claimedSpans.keys()) if (!this.masterOf(clusterId)) this.claimedSpans.delete(clusterId);
    for (const s of this.sessions.all()) if (s.role === 'MASTER') this.serializer.request(s.clusterId);
  }

  private masterOf(clusterId: string) {
    return this.sessions.all().find((s) => s.role === 'MASTER' && s.clusterId === clusterId);
  }

  /** the cluster's MASTER instance when its agent is connected to this server */
  localMaster(clusterId: string): string | null {
    return this.masterOf(clusterId)?.instanceId ?? null;
  }

  /** Sends claimed steps to the agent of `instanceId`. */
  deliver(instanceId: string, steps: readonly StepRow[]): void {
    for (const step of steps) {
      if (!this.sessions.sendRun(instanceId, step)) {
        // the agent just went away: on its next hello the step is re-sent (it is RUNNING without a pid)
        this.log.warn({ stepId: step.id }, 'claimed step could not be sent; it is sent again on reconnect');
      }
    }
  }

  private async dispatch(clusterId: string): Promise<void> {
    const master = this.masterOf(clusterId);
    if (!master) return;
    this.deliver(master.instanceId, await this.services.steps.claim(clusterId, master.instanceId, this.serverId));
    const now = Date.now();
    for (const step of await this.services.steps.cancelRequestedOn(master.instanceId)) {
      if (now - (this.cancelSentAt.get(step.id) ?? 0) < CANCEL_RESEND_MS) continue;
      this.cancelSentAt.set(step.id, now);
      this.sessions.sendCancel(master.instanceId, step);
    }
    if (this.cancelSentAt.size > 10_000) this.cancelSentAt.clear();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.serializer.idle();
  }
}
