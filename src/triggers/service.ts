// Triggers: a source of events bound to a function and qualifier. The rules of the resource live
// here; each source's own input and state live in sources/<source>/. A delivery is the invocation
// a trigger made (invocations.trigger_id), so its outcome, attempts and retries are the invocation's.
import type { Sql } from '../platform/db/client.js';
import * as q from './queries/triggers.js';
import type { FunctionRow, InvocationRow } from '../functions/tables.js';
import type { TriggerRow, TriggerSourceType } from './tables.js';
import { Channel, notify } from '../platform/notifications/channels.js';
import { newId } from '../platform/ids.js';
import { authorize, isAllowed, type Principal } from '../platform/authorization.js';
import { WHOLE_ARGUMENT, badInput, conflict, notFound } from '../platform/errors.js';
import { requireQualifier, type FunctionService } from '../functions/functions.js';
import type { InvocationService } from '../functions/invocations.js';
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
  const actions =
    sourceType === null
      ? TRIGGER_SOURCES.flatMap((k) => (k.readAction ? [k.readAction] : []))
      : [kindOf(sourceType)?.readAction].filter((a): a is string => Boolean(a));
  return actions.every((a) => isAllowed(principal, a));
}

/** Creating or changing a trigger needs the read action of its source: no laundering of a queue one may not read. */
function requireSourceRead(principal: Principal, kind: TriggerSourceKind<unknown>): void {
  if (kind.readAction) authorize(principal, kind.readAction);
}

export class TriggerService {
  constructor(
    private readonly sql: Sql,
    private readonly functions: FunctionService,
    private readonly invocations: InvocationService,
  ) {}

  /** The one source field the input sets (exactly one: BAD_USER_INPUT on the whole input otherwise). */
  private sourceOf(input: Record<string, unknown>, required: boolean): TriggerSourceKind<unknown> | null {
    const given = TRIGGER_SOURCES.filter((k) => input[k.field] != null);
    const choices = TRIGGER_SOURCES.map((k) => k.field).join(', ');
    if (given.length > 1)
      throw badInput(WHOLE_ARGUMENT, `give exactly one source (${choices}); got ${given.map((k) => k.field).join(' and ')}`);
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

  async list(
    filter: { sourceType?: TriggerSourceType | null; functionName?: string | null },
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Page<TriggerRow>> {
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
        id: newId('trg'),
        name,
        functionId: fn.id,
        functionName: fn.name,
        qualifier,
        sourceType: kind.type,
        config: config as Record<string, unknown>,
        enabled: true,
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
      throw badInput(
        kind.field,
        `trigger ${current.name} is a ${current.sourceType} trigger: its source type cannot change (delete it and create another)`,
      );
    }
    const functionName = input.functionName ?? current.functionName;
    // a new function keeps the qualifier only if it has it too
    const { fn, qualifier } = await this.target(functionName, input.qualifier ?? current.qualifier);
    const config = kind ? await kind.parse(input[kind.field], kind.field, { sql: this.sql }) : undefined;
    return this.sql.begin(async (tx) => {
      const locked = await q.lockTriggerByName(tx, current.name);
      if (!locked) throw notFound('trigger', current.name, 'name');
      // the input was checked against the trigger read above: another one made under its name since may be another source
      if (locked.id !== current.id)
        throw conflict(`trigger ${current.name} was deleted and made again while this update ran; try again`, 'name');
      const row = await q.updateTrigger(tx, locked.id, {
        functionId: fn.id,
        functionName: fn.name,
        qualifier,
        config: config as Record<string, unknown> | undefined,
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

  /** The source types of some triggers, by id (triggers deleted since are missing). */
  sourceTypes(ids: readonly string[]): Promise<Map<string, TriggerSourceType>> {
    return q.triggerSourceTypes(this.sql, ids);
  }

  /** A trigger's deliveries, newest first. */
  deliveries(trigger: TriggerRow, first: number | null | undefined, after: string | null | undefined): Promise<Page<InvocationRow>> {
    // through the invocation service: records of invocations just ended are stored first
    return this.invocations.list({ triggerId: trigger.id }, first, after);
  }
}
