// Provisioned concurrency (Lambda's): N instances of a published version or alias kept initialised,
// so that invocations up to N start warm. Status IN_PROGRESS until they are ready, READY, or FAILED
// with the init failure. An alias's instances are split between its versions by weight.
import type { Sql } from '../platform/db/client.js';
import * as q from './queries/functions.js';
import type { ProvisionedConcurrencyRow } from './tables.js';
import { specKey, type FunctionRuntime, type ProvisionTarget } from '../engine/functions/types.js';
import { badInput, notFound } from '../platform/errors.js';
import { FunctionLimits, requireFunctionName, type FunctionService } from './functions.js';
import { systemLog } from '../logs/queries.js';

export class ProvisionedConcurrencyService {
  /** called after a commit that changed what should be provisioned */
  constructor(
    private readonly sql: Sql,
    private readonly functions: FunctionService,
    private readonly concurrencyLimit: number,
    /** a config was put or deleted: the instance controller brings instances to it */
    private readonly changed: () => void,
  ) {}

  of(functionIds: readonly string[]): Promise<ProvisionedConcurrencyRow[]> {
    return q.provisionedOf(this.sql, functionIds);
  }

  async put(input: {
    functionName: string;
    qualifier: string;
    provisionedConcurrentExecutions: number;
  }): Promise<ProvisionedConcurrencyRow> {
    const count = input.provisionedConcurrentExecutions;
    if (!Number.isInteger(count) || count < 1) throw badInput('provisionedConcurrentExecutions', 'must be an integer of at least 1');
    if (input.qualifier === '$LATEST' || input.qualifier === '') {
      throw badInput(
        'qualifier',
        'Provisioned Concurrency Configs cannot be applied to unpublished function versions: use a version or an alias',
      );
    }
    const row = await this.sql.begin(async (tx) => {
      const fn = await q.lockFunctionByName(tx, requireFunctionName(input.functionName, 'functionName'));
      if (!fn) throw notFound('function', input.functionName, 'functionName');
      // the qualifier must exist (a version, or an alias of published versions)
      await this.functions.routes(fn, input.qualifier, 'qualifier');
      const others = await q.provisionedTotal(tx, { functionId: fn.id, qualifier: input.qualifier });
      const max = this.concurrencyLimit - Math.min(FunctionLimits.unreservedMinimum, this.concurrencyLimit) - others;
      if (count > max)
        throw badInput(
          'provisionedConcurrentExecutions',
          `must be at most ${Math.max(0, max)}: the account's unreserved concurrency can't go below ${FunctionLimits.unreservedMinimum}`,
        );
      const mine = (await q.provisionedOf(tx, [fn.id])).filter((p) => p.qualifier !== input.qualifier).reduce((s, p) => s + p.requested, 0);
      if (fn.reservedConcurrency !== null && mine + count > fn.reservedConcurrency) {
        throw badInput(
          'provisionedConcurrentExecutions',
          `the function's provisioned concurrency can't exceed its reserved concurrency (${fn.reservedConcurrency})`,
        );
      }
      const saved = await q.upsertProvisioned(tx, fn.id, input.qualifier, count);
      await systemLog(tx, fn.logStreamId, `Provisioned concurrency for ${input.qualifier}: ${count} (IN_PROGRESS)`);
      return saved;
    });
    this.changed();
    return row;
  }

  async delete(input: { functionName: string; qualifier: string }): Promise<void> {
    await this.sql.begin(async (tx) => {
      const fn = await q.lockFunctionByName(tx, requireFunctionName(input.functionName, 'functionName'));
      if (!fn) throw notFound('function', input.functionName, 'functionName');
      if (!(await q.deleteProvisioned(tx, fn.id, input.qualifier)))
        throw notFound('provisioned concurrency config', `${fn.name}:${input.qualifier}`, 'qualifier');
      await systemLog(tx, fn.logStreamId, `Provisioned concurrency for ${input.qualifier} removed`);
    });
    this.changed();
  }

  /** Makes the engine keep what is configured and records each config's status (the function controller). */
  async reconcile(runtime: FunctionRuntime): Promise<void> {
    const rows = await q.allProvisioned(this.sql);
    const fns = new Map((await q.functionsOf(this.sql, [...new Set(rows.map((r) => r.functionId))])).map((f) => [f.id, f]));
    const targets: ProvisionTarget[] = [];
    const keysOf = new Map<ProvisionedConcurrencyRow, string[]>();
    const broken = new Map<ProvisionedConcurrencyRow, string>();
    for (const row of rows) {
      const fn = fns.get(row.functionId);
      if (!fn) continue;
      try {
        const routes = await this.functions.routes(fn, row.qualifier, 'qualifier');
        // an alias's instances follow its weights: the extra version gets its share, the main one the rest
        const extra = routes[1] ? Math.round(row.requested * routes[1].weight) : 0;
        const counts = [row.requested - extra, extra];
        const keys: string[] = [];
        routes.forEach((r, i) => {
          if (counts[i]! <= 0) return;
          const spec = this.functions.specOf(fn, r.resolved);
          targets.push({ spec, count: counts[i]!, generation: String(row.generation) });
          keys.push(specKey(spec));
        });
        keysOf.set(row, keys);
      } catch (err) {
        broken.set(row, (err as Error).message);
      }
    }
    const states = await runtime.provision(targets);
    for (const row of rows) {
      const fn = fns.get(row.functionId);
      if (!fn) continue;
      const keys = keysOf.get(row) ?? [];
      const ready = keys.reduce((s, k) => s + (states.get(k)?.ready ?? 0), 0);
      const failure = broken.get(row) ?? keys.map((k) => states.get(k)?.failure).find((f) => f) ?? null;
      const status = failure ? 'FAILED' : ready >= row.requested ? 'READY' : 'IN_PROGRESS';
      await this.sql.begin(async (tx) => {
        const changed = await q.setProvisionedStatus(tx, row.functionId, row.qualifier, status, Math.min(ready, row.requested), failure);
        if (changed && changed.status !== row.status) {
          await systemLog(
            tx,
            fn.logStreamId,
            `Provisioned concurrency for ${row.qualifier}: ${status}${failure ? ` (${failure})` : ` (${changed.available} of ${row.requested} ready)`}`,
          );
        }
      });
    }
  }
}
