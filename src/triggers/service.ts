import type { Logger } from 'pino';
// Triggers: a source of events bound to a function and qualifier. The rules of the resource live
// here; each source's own input and state live in trigger-sources/. A delivery is the invocation
// a trigger made (invocations.trigger_id), so its outcome, attempts and retries are the invocation's.
import crypto from 'node:crypto';
import type { Sql, Tx } from '../platform/db/client.js';
import { functionById } from '../functions/queries/functions.js';
import { enqueueInvocation, insertInvocation, listInvocations } from '../functions/queries/invocations.js';
import * as q from './queries/triggers.js';
import type { FunctionRow, InvocationRow, TriggerRow, TriggerSourceType } from '../platform/db/rows.js';
import { Channel, notify } from '../platform/notifications/channels.js';
import { newId } from '../platform/ids.js';
import { authorize, isAllowed, type Principal } from '../access/service.js';
import { AppError, WHOLE_ARGUMENT, badInput, conflict, notFound } from '../platform/errors.js';
import { requireQualifier, type FunctionService, type ResolvedVersion } from '../functions/functions.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor, type Page } from '../platform/paging.js';
import { TRIGGER_SOURCES } from './sources/index.js';
import type { TriggerSourceKind } from './sources/types.js';
import { requireIdentifier } from '../platform/validate.js';

export interface CreateTriggerInput {
  name: string;
  functionName: string;
  qualifier?: string | null;
  /** plus exactly one source field (http, schedule, bucket, topic, queue, clusterEvents) */
  [sourceField: string]: unknown;
}

export interface UpdateTriggerInput {
  name: string;
  functionName?: string | null;
  qualifier?: string | null;
  [sourceField: string]: unknown;
}

export function requireTriggerName(name: unknown, field: string): string {
  return requireIdentifier(name, field, 64);
}

const kindOf = (type: TriggerSourceType): TriggerSourceKind<unknown> | undefined => TRIGGER_SOURCES.find((k) => k.type === type);

/**
 * Whether the key may see what a source delivers. `null` is a source no longer known (its trigger
 * was deleted; its deliveries stay): only a key that could read every kind of source may.
 */
export function mayReadSource(principal: Principal, sourceType: TriggerSourceType | null): boolean {
  const actions = sourceType === null
    ? TRIGGER_SOURCES.flatMap((k) => (k.readAction ? [k.readAction] : []))
    : [kindOf(sourceType)?.readAction].filter((a): a is string => Boolean(a));
  return actions.every((a) => isAllowed(principal, a));
}

/** Creating or changing a trigger needs the read action of its source: no laundering of a queue one may not read. */
function requireSourceRead(principal: Principal, kind: TriggerSourceKind<unknown>): void {
  if (kind.readAction) authorize(principal, kind.readAction);
}

export class TriggerService {
  constructor(private readonly sql: Sql, private readonly functions: FunctionService, private readonly log: Logger) {}

  /** The one source field the input sets (exactly one: BAD_USER_INPUT on the whole input otherwise). */
  private sourceOf(input: Record<string, unknown>, required: boolean): TriggerSourceKind<unknown> | null {
    const given = TRIGGER_SOURCES.filter((k) => input[k.field] != null);
    const choices = TRIGGER_SOURCES.map((k) => k.field).join(', ');
    if (given.length > 1) throw badInput(WHOLE_ARGUMENT, `give exactly one source (${choices}); got ${given.map((k) => k.field).join(' and ')}`);
    if (given.length === 0 && required) throw badInput(WHOLE_ARGUMENT, `give exactly one source: ${choices}`);
    return given[0] ?? null;
  }

  /** The function and a qualifier that exists on it ($LATEST, a published version or an alias). */
  private async target(functionName: string, qualifier: string | null | undefined): Promise<{ fn: FunctionRow; qualifier: string }> {
    const fn = await this.functions.require(functionName, 'functionName');
    const q = requireQualifier(qualifier, 'qualifier');
    await this.functions.routes(fn, q, 'qualifier');
    return { fn, qualifier: q };
  }

  async get(name: string): Promise<TriggerRow | undefined> {
    return q.triggerByName(this.sql, name);
  }

  async require(name: string, field = 'name'): Promise<TriggerRow> {
    const row = await q.triggerByName(this.sql, requireTriggerName(name, field));
    if (!row) throw notFound('trigger', name, field);
    return row;
  }

  async list(filter: { sourceType?: TriggerSourceType | null; functionName?: string | null }, first: number | null | undefined, after: string | null | undefined): Promise<Page<TriggerRow>> {
    const limit = pageSize(first);
    const before = parseTimeIdCursor(after);
    let functionId: string | null = null;
    if (filter.functionName) functionId = (await this.functions.require(filter.functionName, 'filter.functionName')).id;
    const rows = await q.listTriggers(this.sql, { sourceType: filter.sourceType ?? null, functionId }, limit + 1, before);
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (r) => encodeTimeIdCursor(r.createdAt, r.id) };
  }

  async create(principal: Principal, input: CreateTriggerInput): Promise<TriggerRow> {
    const name = requireTriggerName(input.name, 'name');
    const kind = this.sourceOf(input, true)!;
    requireSourceRead(principal, kind);
    const { fn, qualifier } = await this.target(input.functionName, input.qualifier);
    const config = await kind.parse(input[kind.field], kind.field, { sql: this.sql });
    return this.sql.begin(async (tx) => {
      const row = await q.insertTrigger(tx, {
        id: newId('trg'), name, functionId: fn.id, functionName: fn.name, qualifier, sourceType: kind.type,
        config: config as Record<string, unknown>, enabled: true,
      });
      if (!row) throw conflict(`trigger ${JSON.stringify(name)} already exists`, 'name');
      await kind.saved?.(tx, row);
      await notify(tx, Channel.triggers, row.id);
      return row;
    });
  }

  async update(principal: Principal, input: UpdateTriggerInput): Promise<TriggerRow> {
    const current = await this.require(input.name);
    // even without a new source: pointing the trigger at another function hands that function the events
    requireSourceRead(principal, kindOf(current.sourceType)!);
    const kind = this.sourceOf(input, false);
    if (kind && kind.type !== current.sourceType) {
      throw badInput(kind.field, `trigger ${current.name} is a ${current.sourceType} trigger: its source type cannot change (delete it and create another)`);
    }
    const functionName = input.functionName ?? current.functionName;
    // a new function keeps the qualifier only if it has it too
    const { fn, qualifier } = await this.target(functionName, input.qualifier ?? current.qualifier);
    const config = kind ? await kind.parse(input[kind.field], kind.field, { sql: this.sql }) : undefined;
    return this.sql.begin(async (tx) => {
      const locked = await q.lockTriggerByName(tx, current.name);
      if (!locked) throw notFound('trigger', current.name, 'name');
      // the input was checked against the trigger read above: another one made under its name since may be another source
      if (locked.id !== current.id) throw conflict(`trigger ${current.name} was deleted and made again while this update ran; try again`, 'name');
      const row = await q.updateTrigger(tx, locked.id, {
        functionId: fn.id, functionName: fn.name, qualifier, config: config as Record<string, unknown> | undefined,
      });
      await kindOf(row.sourceType)?.saved?.(tx, row);
      await notify(tx, Channel.triggers, row.id);
      return row;
    });
  }

  async setEnabled(name: string, enabled: boolean): Promise<TriggerRow> {
    requireTriggerName(name, 'name');
    return this.sql.begin(async (tx) => {
      const locked = await q.lockTriggerByName(tx, name);
      if (!locked) throw notFound('trigger', name, 'name');
      if (locked.enabled === enabled) return locked;
      const row = await q.updateTrigger(tx, locked.id, { enabled });
      await kindOf(row.sourceType)?.saved?.(tx, row);
      await notify(tx, Channel.triggers, row.id);
      return row;
    });
  }

  /** Deletes the trigger (its past deliveries stay, as invocations); returns it as it was. */
  async delete(name: string): Promise<TriggerRow> {
    requireTriggerName(name, 'name');
    return this.sql.begin(async (tx) => {
      const locked = await q.lockTriggerByName(tx, name);
      if (!locked) throw notFound('trigger', name, 'name');
      await kindOf(locked.sourceType)?.deleted?.(tx, locked);
      await q.deleteTrigger(tx, locked.id);
      await notify(tx, Channel.triggers, locked.id);
      return locked;
    });
  }

  /** The ids of the invocations among `rows` whose event the key may not see (deliveries of sources it can't read). */
  async hiddenPayloads(principal: Principal, rows: readonly InvocationRow[]): Promise<Set<string>> {
    const made = rows.filter((r) => r.triggerId !== null && r.payload !== null);
    if (made.length === 0) return new Set();
    const types = await q.triggerSourceTypes(this.sql, [...new Set(made.map((r) => r.triggerId!))]);
    return new Set(made.filter((r) => !mayReadSource(principal, types.get(r.triggerId!) ?? null)).map((r) => r.id));
  }

  /** A trigger's deliveries, newest first. */
  async deliveries(trigger: TriggerRow, first: number | null | undefined, after: string | null | undefined): Promise<Page<InvocationRow>> {
    const limit = pageSize(first);
    const rows = await listInvocations(this.sql, { triggerId: trigger.id }, limit + 1, parseTimeIdCursor(after));
    return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit, cursorOf: (r) => encodeTimeIdCursor(r.createdAt, r.id) };
  }

  /**
   * Queues the delivery of one event to an async trigger's function, inside the caller's
   * transaction (which also marks the event consumed): the invoker then runs it at least once,
   * with the function's retries, backoff and maximum event age. The trigger row should be read in
   * that transaction; a disabled trigger (or one whose function is gone) delivers nothing: null.
   * An alias or version deleted since the trigger was made gives a FAILED delivery, on the record.
   */
  async enqueueDelivery(tx: Tx, trigger: TriggerRow, eventId: string, event: unknown): Promise<InvocationRow | null> {
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
      ...deliveryRow(fn, trigger, eventId, JSON.stringify(event)), status: 'QUEUED',
      executedVersion: resolved.version, memoryMb: resolved.config.memoryMb,
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
      if (e !== null) await this.enqueueDelivery(tx, trigger, eventId, e);
      return;
    }
    const failed = await this.enqueueDeliveryIsolated(tx, trigger, eventId, event);
    if (failed) {
      this.log.error({ err: failed.error, trigger: trigger.name, eventId },
        failed.recorded ? 'a trigger event could not be delivered; recorded as a FAILED delivery'
          : 'a trigger event could not be delivered, nor its failure recorded; it is dropped');
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
    tx: Tx, trigger: TriggerRow, eventId: string, event: () => unknown,
  ): Promise<{ error: unknown; recorded: boolean } | null> {
    let payload: string | null = null;
    try {
      await tx.savepoint(async (sp) => {
        const e = event();
        if (e === null) return;
        payload = JSON.stringify(e);
        await this.enqueueDelivery(sp, trigger, eventId, e);
      });
      return null;
    } catch (error) {
      if (isTransient(error)) throw error;
      try {
        await tx.savepoint(async (sp) => {
          const fn = await functionById(sp, trigger.functionId);
          if (!fn) return;
          const message = error instanceof Error ? error.message : String(error);
          await insertInvocation(sp, failedDelivery(fn, trigger, eventId, payload, 'TriggerDeliveryError', message));
        });
        return { error, recorded: true };
      } catch {
        return { error, recorded: false };
      }
    }
  }
}

/**
 * A failure of the transaction, connection or server (SQLSTATE classes 40, 08, 53, 57P, and the
 * client's connection errors), not of what was being written: the same write can succeed later.
 */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^(40|08|53|57P)/.test(code) || code.startsWith('CONNECTION_') || code === 'ECONNRESET' || code === 'ECONNREFUSED');
}

/** The invocation row of a delivery, before it is queued or failed. */
function deliveryRow(fn: FunctionRow, trigger: TriggerRow, eventId: string, payload: string | null) {
  return {
    id: crypto.randomUUID(), functionId: fn.id, functionName: fn.name, qualifier: trigger.qualifier,
    executedVersion: trigger.qualifier, invocationType: 'EVENT' as const, payload,
    response: null, functionError: null, errorType: null, errorMessage: null, attempts: 0, maxRetryAttempts: fn.maxRetryAttempts,
    maxEventAgeSeconds: fn.maxEventAgeSeconds, nextAttemptAt: new Date(), sourceInvocationId: null, coldStart: false,
    initDurationMs: null, durationMs: null, billedDurationMs: null, memoryMb: fn.memoryMb,
    maxMemoryUsedMb: null, concurrency: null, instanceId: null, logs: null, startedAt: null, endedAt: null,
    triggerId: trigger.id, eventId,
  };
}

/** A delivery that never reaches the function, on the record with why. */
function failedDelivery(fn: FunctionRow, trigger: TriggerRow, eventId: string, payload: string | null, errorType: string, message: string) {
  return {
    ...deliveryRow(fn, trigger, eventId, payload), status: 'FAILED' as const, errorType, errorMessage: message,
    nextAttemptAt: null, endedAt: new Date(),
  };
}
