// Deliveries: a trigger's events queued as invocations of its function (invocations.trigger_id), in
// the transaction that consumes the event, so that an event is delivered once it is taken.
import crypto from 'node:crypto';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { isTransient, type Sql, type Tx } from '../platform/db/client.js';
import { functionById } from '../functions/queries/functions.js';
import { enqueueInvocation, insertInvocation } from '../functions/queries/invocations.js';
import type { FunctionRow, InvocationRow } from '../functions/tables.js';
import type { TriggerRow } from './tables.js';
import { AppError } from '../platform/errors.js';
import type { FunctionService, ResolvedVersion } from '../functions/functions.js';

export class TriggerDeliveries {
  constructor(
    private readonly sql: Sql,
    private readonly functions: FunctionService,
    private readonly log: Logger,
  ) {}

  /**
   * Queues the delivery of one event to an async trigger's function, inside the caller's
   * transaction (which also marks the event consumed): the invoker then runs it at least once,
   * with the function's retries, backoff and maximum event age. The trigger row should be read in
   * that transaction; a disabled trigger (or one whose function is gone) delivers nothing: null.
   * An alias or version deleted since the trigger was made gives a FAILED delivery, on the record.
   */
  async enqueue(tx: Tx, trigger: TriggerRow, eventId: string, event: unknown): Promise<InvocationRow | null> {
    if (!trigger.enabled) return null;
    const fn = await functionById(tx, trigger.functionId);
    if (!fn) return null;
    let resolved: ResolvedVersion | null = null;
    try {
      // read in the caller's transaction: a second pool connection per delivery could run the pool dry
      resolved = await this.functions.resolve(fn, trigger.qualifier, 'qualifier', tx);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return insertInvocation(tx, failedDelivery(fn, trigger, eventId, JSON.stringify(event), 'ResourceNotFoundException', err.message));
    }
    return enqueueInvocation(tx, {
      ...deliveryRow(fn, trigger, eventId, JSON.stringify(event)),
      status: 'QUEUED',
      executedVersion: resolved.version,
      memoryMb: resolved.config.memoryMb,
    });
  }

  /**
   * Runs a batch of deliveries (`work`, which queues each with `deliver`) in one transaction. If
   * the batch fails, it runs once more with `isolated`: each delivery on its own, so that one that
   * cannot be queued is recorded as a FAILED delivery instead of failing the batch forever.
   * Returns what `work` returns.
   */
  async deliverBatch(what: string, work: (tx: Tx, isolated: boolean) => Promise<number>): Promise<number> {
    try {
      return await this.sql.begin((tx) => work(tx, false));
    } catch (err) {
      this.log.warn({ err }, `${what} failed; taking it again one delivery at a time`);
      return this.sql.begin((tx) => work(tx, true));
    }
  }

  /** Queues one event's delivery in a `deliverBatch` batch; `event()` is null when the trigger does not take it. */
  async deliver(tx: Tx, isolated: boolean, trigger: TriggerRow, eventId: string, event: () => unknown): Promise<void> {
    if (!isolated) {
      const e = event();
      if (e !== null) await this.enqueue(tx, trigger, eventId, e);
      return;
    }
    const failed = await this.enqueueDeliveryIsolated(tx, trigger, eventId, event);
    if (failed) {
      this.log.error(
        { err: failed.error, trigger: trigger.name, eventId },
        failed.recorded
          ? 'a trigger event could not be delivered; recorded as a FAILED delivery'
          : 'a trigger event could not be delivered, nor its failure recorded; it is dropped',
      );
    }
  }

  /**
   * enqueueDelivery for callers that queue many deliveries in one transaction, made safe against
   * the one that cannot be queued: the delivery runs in a savepoint, and if building the event
   * (`event()`; null: the trigger does not take this event) or queuing it throws (a stored
   * config the code no longer reads, a row the database refuses) it becomes a FAILED delivery on
   * the record instead of failing the caller's batch, which would come back, and fail, forever.
   * Returns what went wrong (null: nothing), and whether the failure is on the record (if the
   * database refuses that too, the event is consumed without one: the caller logs it). A failure
   * that says nothing about this delivery (a deadlock, a lost connection) is thrown: the caller's
   * batch fails and is taken again later, rather than a delivery that could succeed failing.
   */
  private async enqueueDeliveryIsolated(
    tx: Tx,
    trigger: TriggerRow,
    eventId: string,
    event: () => unknown,
  ): Promise<{ error: unknown; recorded: boolean } | null> {
    let payload: string | null = null;
    try {
      await tx.savepoint(async (sp) => {
        const e = event();
        if (e === null) return;
        payload = JSON.stringify(e);
        await this.enqueue(sp, trigger, eventId, e);
      });
      return null;
    } catch (error) {
      if (isTransient(error)) throw error;
      try {
        await tx.savepoint(async (sp) => {
          const fn = await functionById(sp, trigger.functionId);
          if (!fn) return;
          await insertInvocation(sp, failedDelivery(fn, trigger, eventId, payload, 'TriggerDeliveryError', failureMessage(error, eventId)));
        });
        return { error, recorded: true };
      } catch {
        return { error, recorded: false };
      }
    }
  }
}

/**
 * What a FAILED delivery's record says went wrong. The database's words (a constraint, a trigger
 * that refused the row) and the service's own errors are the user's to read; a fault in the code
 * (a stored config it no longer reads) says only where to look: its text names the code's
 * internals, and the server's log line of it (which deliver() writes) has the whole error.
 */
function failureMessage(error: unknown, eventId: string): string {
  if (error instanceof AppError || error instanceof postgres.PostgresError) return error.message;
  return `internal error while queuing the delivery; the server's log has it under eventId ${eventId}`;
}

/** The invocation row of a delivery, before it is queued or failed. */
function deliveryRow(fn: FunctionRow, trigger: TriggerRow, eventId: string, payload: string | null) {
  return {
    id: crypto.randomUUID(),
    functionId: fn.id,
    functionName: fn.name,
    qualifier: trigger.qualifier,
    executedVersion: trigger.qualifier,
    invocationType: 'EVENT' as const,
    payload,
    response: null,
    functionError: null,
    errorType: null,
    errorMessage: null,
    attempts: 0,
    maxRetryAttempts: fn.maxRetryAttempts,
    maxEventAgeSeconds: fn.maxEventAgeSeconds,
    nextAttemptAt: new Date(),
    sourceInvocationId: null,
    coldStart: false,
    initDurationMs: null,
    durationMs: null,
    billedDurationMs: null,
    memoryMb: fn.memoryMb,
    maxMemoryUsedMb: null,
    concurrency: null,
    instanceId: null,
    logs: null,
    startedAt: null,
    endedAt: null,
    triggerId: trigger.id,
    eventId,
  };
}

/** A delivery that never reaches the function, on the record with why. */
function failedDelivery(fn: FunctionRow, trigger: TriggerRow, eventId: string, payload: string | null, errorType: string, message: string) {
  return {
    ...deliveryRow(fn, trigger, eventId, payload),
    status: 'FAILED' as const,
    errorType,
    errorMessage: message,
    nextAttemptAt: null,
    endedAt: new Date(),
  };
}
