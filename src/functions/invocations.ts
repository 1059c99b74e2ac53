// Invoking functions: synchronous (REQUEST_RESPONSE), checks only (DRY_RUN) and queued (EVENT,
// run by the function invoker with retries and destinations). Every invocation is recorded.
import crypto from 'node:crypto';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { isTransient, type Sql } from '../platform/db/client.js';
import * as q from './queries/invocations.js';
import { appendLines, committedTransactions } from '../logs/queries.js';
import type { FunctionRow, InvocationLogLine, InvocationRow } from './tables.js';
import {
  NoRoomError,
  type FunctionRuntime,
  type InvokeOutcome,
  type ResponseStreamSink,
  type RuntimeLogLine,
} from '../engine/functions/types.js';
import { ConcurrencyGate } from './concurrency.js';
import { newTraceId } from '../engine/functions/platform-log.js';
import { RecordJournal, recoverJournal } from '../engine/functions/journal.js';
import { AppError, badInput } from '../platform/errors.js';
import { functionArn, type FunctionService, type ResolvedVersion } from './functions.js';
import { encodeTimeIdCursor, pageSize, parseTimeIdCursor } from '../platform/paging.js';

export const PayloadLimits = { syncBytes: 6 * 1024 * 1024, asyncBytes: 1024 * 1024 } as const;
const TAIL_BYTES = 4 * 1024;
/** an invocation's own log is kept up to this size (the function's log stream has every line) */
const INVOCATION_LOG_BYTES = 256 * 1024;

export type InvocationType = 'REQUEST_RESPONSE' | 'EVENT' | 'DRY_RUN';

export interface InvokeInput {
  functionName: string;
  qualifier?: string | null;
  payload?: unknown;
  invocationType?: InvocationType | null;
  logType?: 'NONE' | 'TAIL' | null;
  clientContext?: string | null;
  /** a trigger's delivery (HTTP, QUEUE): recorded on the invocation */
  trigger?: { id: string; eventId: string } | null;
  /**
   * keep the request on a synchronous invocation's record, as async ones keep theirs: a queue
   * batch's messages (HTTP requests are not kept: their bodies may be large and they are many)
   */
  recordPayload?: boolean;
  /**
   * where a streamed response goes as the function writes it (a function URL in RESPONSE_STREAM
   * mode, invokeFunctionWithResponseStream); a function that answers in one piece ignores it
   */
  stream?: ResponseStreamSink;
}

export interface InvokeResult {
  invocation: InvocationRow;
  statusCode: number;
  payload: unknown;
  functionError: string | null;
  logResult: string | null;
  executedVersion: string;
  /** the Content-Type of a streamed response (null: the function answered in one piece) */
  streamContentType: string | null;
}

export interface AsyncSettings {
  /** delay before retry n (1-based): Lambda waits about 1 minute, then 2 */
  retryDelayMs: (attempt: number) => number;
}

function parsePayload(body: string | null): unknown {
  if (body === null) return null;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** The newest lines that fit in `bytes` (the tail of the log), oldest first. */
function tail(lines: RuntimeLogLine[], bytes: number): RuntimeLogLine[] {
  let size = 0;
  let i = lines.length;
  while (i > 0 && size + Buffer.byteLength(lines[i - 1]!.text) + 1 <= bytes) size += Buffer.byteLength(lines[--i]!.text) + 1;
  return lines.slice(i);
}

/** LogType TAIL: the last 4 KB of the invocation's log, base64 (Lambda's X-Amz-Log-Result). */
function logResult(lines: RuntimeLogLine[]): string {
  const text = Buffer.from(lines.map((l) => `${l.text}\n`).join(''));
  return text.subarray(Math.max(0, text.length - TAIL_BYTES)).toString('base64');
}

const storedLogs = (lines: RuntimeLogLine[]): InvocationLogLine[] =>
  tail(lines, INVOCATION_LOG_BYTES).map((l) => ({ at: l.at.toISOString(), stream: l.stream, text: l.text }));

/** What the outcome says about the function's result: status, error fields, response body. */
function verdict(outcome: InvokeOutcome) {
  const body = outcome.body.toString('utf8');
  if (outcome.kind === 'RESPONSE')
    return { status: 'SUCCEEDED' as const, functionError: null, errorType: null, errorMessage: null, response: body };
  const doc = parsePayload(body) as { errorMessage?: unknown } | string;
  const errorMessage = typeof doc === 'object' && doc !== null && typeof doc.errorMessage === 'string' ? doc.errorMessage : String(body);
  return {
    status: 'FAILED' as const,
    // runtimes report errors as Unhandled unless they say otherwise (Lambda's Handled is a legacy of old Node runtimes)
    functionError: outcome.kind === 'FUNCTION_ERROR' && outcome.errorKind === 'Handled' ? 'Handled' : 'Unhandled',
    errorType: outcome.errorType ?? 'Unhandled',
    errorMessage,
    response: body,
  };
}

const RETRY_STORE_MS = 1_000;
/** how long a stop waits for the records and lines not stored yet */
const CLOSE_WAIT_MS = 10_000;
/** the lines waiting for the database beyond which invocations wait before they run (back-pressure) */
export const LOG_BACKLOG_BYTES = 8 << 20;
/** what a waiting line takes besides its text, roughly: its object, its Date, its slot in a list */
const LOG_LINE_OVERHEAD = 128;
/** lines of one stream in one statement at most */
const LOG_BATCH_LINES = 5_000;
/** how long lines wait for others to go with them in one statement (a transaction costs far more than a line) */
const LOG_WINDOW_MS = 20;

/**
 * Lines written by instances, on their way to their function's log stream (they also travel with
 * each invocation's record). One write at a time takes every line waiting for its stream, in one
 * statement: when the database is slower than the instances, the batches grow instead of the
 * writes queueing behind each other. What waits is bounded: past LOG_BACKLOG_BYTES, room() keeps
 * new invocations waiting until the writes catch up (the invocations already running add their
 * lines), so a server that falls behind slows its invocations instead of growing. A database out of
 * reach keeps the lines waiting and is tried again every second; a line is lost only when the
 * database refuses it (its function was deleted: the stream is gone) or a stop can't wait, and
 * either is logged. An instance's output file keeps a line until it is stored (a kill -9 loses none).
 */
export class FunctionLogWriter {
  private pending = new Map<string, RuntimeLogLine[]>();
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private roomWaiters: Array<() => void> = [];
  private stopped = false;
  /** a stop flushes what waits: no more windows */
  private closing = false;

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  add(functionId: string, lines: RuntimeLogLine[]): void {
    const streamId = `fnlog-${functionId}`;
    const list = this.pending.get(streamId);
    if (list) for (const line of lines) list.push(line);
    else this.pending.set(streamId, lines.slice());
    this.pendingBytes += bytesOf(lines);
    // while a write is under way it takes these too; the timer catches a write that was just ending
    this.timer ??= setTimeout(() => void this.flush(), LOG_WINDOW_MS);
  }

  /** Bytes of the lines not stored yet (what room() bounds). */
  get backlogBytes(): number {
    return this.pendingBytes;
  }

  /** Resolves once the lines waiting for the database are under LOG_BACKLOG_BYTES. */
  room(): Promise<void> {
    if (this.stopped || this.pendingBytes < LOG_BACKLOG_BYTES) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Writes every line waiting (and those that come meanwhile); resolves once none waits. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing ??= this.write().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    /** the streams written since the last window */
    const round = new Set<string>();
    while (this.pending.size > 0 && !this.stopped) {
      const [streamId, waiting] = this.pending.entries().next().value!;
      if (round.has(streamId)) {
        round.clear();
        // every stream waiting had its statement: what came meanwhile gathers for a window more rather
        // than going in the next round trip (under load, back to back, a transaction took the lines of
        // a few invocations); a stop doesn't wait, nor a stream whose lines already fill a statement
        if (!this.closing && waiting.length < LOG_BATCH_LINES) {
          await new Promise((r) => setTimeout(r, LOG_WINDOW_MS));
          continue;
        }
      }
      round.add(streamId);
      const lines = waiting.splice(0, LOG_BATCH_LINES);
      if (waiting.length === 0) this.pending.delete(streamId);
      if (!(await this.store(streamId, lines))) {
        // the database is out of reach: the lines go back in front of the stream's later ones
        const later = this.pending.get(streamId) ?? [];
        this.pending.set(streamId, lines.concat(later));
        await new Promise((r) => setTimeout(r, RETRY_STORE_MS));
        continue;
      }
      this.pendingBytes -= bytesOf(lines);
      // an instance's output file keeps a line until it is told (a kill -9 before this leaves it for the next start)
      for (const line of lines) line.stored?.();
      if (this.pendingBytes < LOG_BACKLOG_BYTES) for (const resolve of this.roomWaiters.splice(0)) resolve();
    }
  }

  /** Stores lines; false when the database can't be reached (they wait), true when stored or refused (logged). */
  private async store(streamId: string, lines: RuntimeLogLine[]): Promise<boolean> {
    let transactionId: string | null = null;
    try {
      // like invocation records, log lines don't wait for the WAL flush (see recordInvocation)
      await this.sql.begin(async (tx) => {
        const [, , [current]] = await Promise.all([
          tx`set local synchronous_commit = off`,
          appendLines(tx, streamId, lines),
          tx<{ id: string }[]>`select pg_current_xact_id()::text as id`,
        ]);
        transactionId = current!.id;
        // the instances' output files note the transaction: a kill -9 before `stored` leaves it to the next server
        for (const line of lines) line.committing?.(transactionId);
      });
      return true;
    } catch (err) {
      // the connection went during the COMMIT: whether the lines went in, Postgres knows
      if (transactionId && (await committedTransactions(this.sql, [transactionId])).has(transactionId)) return true;
      if (isTransient(err)) {
        this.log.warn({ err, streamId, lines: lines.length }, 'function log lines not stored yet: retrying');
        return false;
      }
      // a deleted function's stream is gone: its last lines have nowhere to go
      this.log.warn({ err, streamId, lines: lines.length }, 'function log lines refused by the database: not stored');
      return true;
    }
  }

  /** Of the transactions that stored lines, those that committed (an instance output's recovery, output.ts). */
  committedOf = (transactionIds: string[]): Promise<Set<string>> => committedTransactions(this.sql, transactionIds);

  /** Stores what waits; a database out of reach does not hold the stop for ever (what it did not take is logged). */
  async close(): Promise<void> {
    this.closing = true;
    const inTime = await settlesWithin(this.flush(), CLOSE_WAIT_MS);
    this.stopped = true;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
    if (!inTime)
      this.log.error({ bytes: this.pendingBytes }, 'stopping: function log lines the database did not take in time are not stored');
  }
}

/** Whether `done` resolves within `ms` (a stop that must not wait for ever). */
async function settlesWithin(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    done.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return inTime;
}

const bytesOf = (lines: RuntimeLogLine[]) => lines.reduce((sum, line) => sum + line.text.length + LOG_LINE_OVERHEAD, 0);

/** what a dead server's journal (and this server's) calls the invocation records in it */
const JOURNAL = 'invocations';
/** how often the records stored since are made durable, and their journal given back */
const DURABLE_EVERY_MS = 1_000;
/**
 * how long a record waits for others to go with it in one insert: a statement costs the server,
 * the driver and Postgres far more than a row, and nobody waits for it (a read cuts it short).
 * At concurrency 1 (an invocation every ~0.7 ms) a 5 ms window meant an insert per 6 records,
 * whose work on the server's thread lands in the path of the next request: 50 ms took about
 * 0.17 ms of that thread's CPU per invocation and 0.2 ms of an HTTP route's p50 (docs/bench.md,
 * figure 18c). Under load the window hardly matters: records gather while an insert runs. The
 * price: another server sharing the database reads a record up to this much later.
 */
const BATCH_WINDOW_MS = 50;

/**
 * Invocation records that end a call (a sync invocation's, a throttle's, a dry run's): each is in
 * the journal (journal.ts) before its caller hears of it, so a kill -9 of the server loses none,
 * and is stored in Postgres off the caller's path by group commit: the records made within
 * BATCH_WINDOW_MS of the first go in one multi-row insert, and the records that arrive while one
 * runs wait for a window of their own (not the insert's round trip only: under load, inserts back to
 * back were a statement per few records), unless a read waits for them.
 * Reads of invocations wait until the records made before them are stored (stored(), which
 * stores what waits at once). The inserts commit without waiting for the WAL flush
 * (a flush per invocation at c=1 would make the disk, not the records, the cost); once a second a
 * commit that does wait makes every earlier one durable, and only then does the journal let go of
 * them: a crash of Postgres loses none either.
 */
class InvocationRecorder {
  /** records not stored yet, as JSON rows of the table (q.recordJson) */
  private queue: Array<{ json: string; seq: number }> = [];
  private draining = false;
  /** the batch window of the records waiting (see BATCH_WINDOW_MS) */
  private windowTimer: NodeJS.Timeout | null = null;
  private appended = 0;
  private storedUpTo = 0;
  private durableUpTo = 0;
  private durableTimer: NodeJS.Timeout | null = null;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  private readonly journal: RecordJournal;

  constructor(
    private readonly sql: Sql,
    journalRoot: string,
    private readonly log: Logger,
  ) {
    this.journal = new RecordJournal(journalRoot, JOURNAL);
  }

  record(inv: q.NewInvocation): InvocationRow {
    const row: InvocationRow = {
      ...inv,
      traceId: inv.traceId ?? newTraceId(),
      triggerId: inv.triggerId ?? null,
      eventId: inv.eventId ?? null,
      createdAt: inv.createdAt ?? new Date(),
      claimedBy: null,
      claimedUntil: null,
    };
    const json = q.recordJson(row);
    this.appended = this.journal.append(json);
    this.queue.push({ json, seq: this.appended });
    if (!this.draining) this.windowTimer ??= setTimeout(() => void this.drain(), BATCH_WINDOW_MS);
    return row;
  }

  /** Resolves once every record made so far is stored. */
  stored(): Promise<void> {
    const seq = this.appended;
    if (this.storedUpTo >= seq) return Promise.resolve();
    // a reader waits: what waits for its batch window goes now
    if (!this.draining) void this.drain();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  private async drain(): Promise<void> {
    clearTimeout(this.windowTimer ?? undefined);
    this.windowTimer = null;
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, 500);
      if (!(await this.store(batch.map((b) => b.json)))) {
        // the database is out of reach: the records wait (here and in the journal) and go again
        await new Promise((r) => setTimeout(r, RETRY_STORE_MS));
        continue;
      }
      this.queue.splice(0, batch.length);
      this.storedUpTo = batch[batch.length - 1]!.seq;
      const ready = this.waiters.filter((w) => w.seq <= this.storedUpTo);
      this.waiters = this.waiters.filter((w) => w.seq > this.storedUpTo);
      for (const w of ready) w.resolve();
      this.durableTimer ??= setTimeout(() => void this.makeDurable(), DURABLE_EVERY_MS).unref();
      if (this.waiters.length === 0) break;
    }
    this.draining = false;
    if (this.queue.length > 0) this.windowTimer ??= setTimeout(() => void this.drain(), BATCH_WINDOW_MS);
  }

  /** Waits for the WAL flush of every record stored so far; the journal lets go of them. */
  private async makeDurable(): Promise<void> {
    const upTo = this.storedUpTo;
    try {
      if (upTo > this.durableUpTo) await q.walFlushed(this.sql);
      this.durableUpTo = Math.max(this.durableUpTo, upTo);
      this.journal.stored(this.durableUpTo);
    } catch (err) {
      this.log.warn({ err }, 'invocation records not made durable yet: their journal stays');
    } finally {
      this.durableTimer = null;
      if (this.storedUpTo > this.durableUpTo) this.durableTimer = setTimeout(() => void this.makeDurable(), DURABLE_EVERY_MS).unref();
    }
  }

  /**
   * Stores records (again: what is stored already stays as it is); false when the database can't
   * be reached. A record Postgres refuses (a statement error, not a lost connection) is logged and
   * left out, the others stored one by one: one bad record must not hold back every later one.
   */
  private async store(records: string[]): Promise<boolean> {
    try {
      await q.storeInvocations(this.sql, records);
      return true;
    } catch (err) {
      if (!(err instanceof postgres.PostgresError)) {
        this.log.warn({ err, records: records.length }, 'invocation records not stored yet: retrying');
        return false;
      }
      if (records.length === 1) {
        this.log.error({ err, record: records[0]!.slice(0, 200) }, 'invocation record refused by the database: not stored');
        return true;
      }
      for (const record of records) if (!(await this.store([record]))) return false;
      return true;
    }
  }

  /** The records of a dead server's journal (a kill -9 left them): stored, but for functions this database does not know. */
  async replay(deadRoot: string): Promise<number> {
    const rows = recoverJournal(deadRoot, JOURNAL) as Array<{ json: string; record: { function_id: string } }>;
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500);
      // a runtime dir may be shared by servers of other deployments: their records are not this database's
      const known = await q.knownFunctions(
        this.sql,
        batch.map((r) => r.record.function_id),
      );
      const ours = batch.filter((r) => known.has(r.record.function_id)).map((r) => r.json);
      if (ours.length > 0 && !(await this.store(ours)))
        throw new Error("the database is out of reach: a dead server's invocation records are not stored");
    }
    return rows.length;
  }

  /**
   * Stores what is left and removes the journal (a clean stop). A database out of reach does not
   * hold the stop for ever: what it could not take is logged as not stored (its journal goes with
   * the runtime's root).
   */
  async close(): Promise<void> {
    const inTime = await settlesWithin(this.stored(), CLOSE_WAIT_MS);
    if (this.durableTimer) clearTimeout(this.durableTimer);
    if (!inTime) {
      this.log.error({ records: this.queue.length }, 'stopping: invocation records the database did not take in time are not stored');
      return;
    }
    await q.walFlushed(this.sql);
    this.journal.close();
  }
}

export class InvocationService {
  readonly gate: ConcurrencyGate;
  private readonly recorder: InvocationRecorder;

  constructor(
    private readonly sql: Sql,
    private readonly functions: FunctionService,
    private readonly runtime: FunctionRuntime,
    readonly logs: FunctionLogWriter,
    concurrencyLimit: number,
    readonly asyncSettings: AsyncSettings,
    /** where this server's journal of invocation records goes (its runtime root: journal.ts) */
    journalRoot: string,
    log: Logger,
  ) {
    this.gate = new ConcurrencyGate(concurrencyLimit);
    this.recorder = new InvocationRecorder(sql, journalRoot, log);
  }

  /** Stores the invocation records a dead server's journal holds; returns how many it held. */
  replay(deadRoot: string): Promise<number> {
    return this.recorder.replay(deadRoot);
  }

  /** Stores the records not stored yet (a clean stop). */
  close(): Promise<void> {
    return this.recorder.close();
  }

  instanceCounts(functionId: string): { busy: number; total: number } {
    return this.runtime.counts(functionId);
  }

  async get(id: string): Promise<InvocationRow | undefined> {
    await this.recorder.stored();
    return q.invocationById(this.sql, id);
  }

  async list(
    filter: q.InvocationFilter & { functionName?: string | null },
    first: number | null | undefined,
    after: string | null | undefined,
  ) {
    const limit = pageSize(first);
    const before = parseTimeIdCursor(after);
    let functionId = filter.functionId ?? null;
    if (filter.functionName) functionId = (await this.functions.require(filter.functionName, 'filter.functionName')).id;
    await this.recorder.stored();
    const rows = await q.listInvocations(this.sql, { ...filter, functionId }, limit + 1, before);
    return {
      nodes: rows.slice(0, limit),
      hasNextPage: rows.length > limit,
      cursorOf: (r: InvocationRow) => encodeTimeIdCursor(r.createdAt, r.id),
    };
  }

  async metrics(functionName: string, version: string | null, since: Date, until: Date, periodSeconds: number) {
    const fn = await this.functions.require(functionName, 'functionName');
    if (!(until > since)) throw badInput('until', 'must be after since');
    if (!Number.isInteger(periodSeconds) || periodSeconds < 1) throw badInput('periodSeconds', 'must be a positive integer');
    if ((until.getTime() - since.getTime()) / 1000 / periodSeconds > 1_440)
      throw badInput('periodSeconds', 'gives more than 1,440 data points for the range');
    await this.recorder.stored();
    return q.metrics(this.sql, fn.id, version, since, until, periodSeconds);
  }

  private requireRunnable(fn: FunctionRow): void {
    if (fn.state === 'Pending' || fn.state === 'Failed' || fn.state === 'Inactive') {
      const why = fn.state === 'Failed' && fn.stateReason ? ` (${fn.stateReason})` : '';
      throw new AppError(
        'CONFLICT',
        `The operation cannot be performed at this time. The function is currently in the following state: ${fn.state}${why}`,
        'functionName',
      );
    }
  }

  async invoke(input: InvokeInput): Promise<InvokeResult> {
    const type = input.invocationType ?? 'REQUEST_RESPONSE';
    const fn = await this.functions.forInvoke(input.functionName, 'functionName');
    const qualifier = input.qualifier || '$LATEST';
    const resolved = await this.functions.resolve(fn, qualifier);
    this.requireRunnable(fn);
    const payload = Buffer.from(input.payload === undefined || input.payload === null ? '{}' : JSON.stringify(input.payload));
    const limit = type === 'EVENT' ? PayloadLimits.asyncBytes : PayloadLimits.syncBytes;
    if (payload.length > limit) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `${payload.length} byte payload is too large for the ${type === 'EVENT' ? 'Event' : 'RequestResponse'} invocation type (limit ${limit} bytes)`,
        'payload',
      );
    }
    if (input.logType === 'TAIL' && type !== 'REQUEST_RESPONSE') throw badInput('logType', 'TAIL is only for REQUEST_RESPONSE invocations');
    if (input.clientContext != null && Buffer.byteLength(input.clientContext) > 3_583)
      throw badInput('clientContext', 'must be at most 3583 bytes');
    const base = {
      id: crypto.randomUUID(),
      traceId: newTraceId(),
      functionId: fn.id,
      functionName: fn.name,
      qualifier,
      executedVersion: resolved.version,
      invocationType: type,
      payload: input.recordPayload ? payload.toString('utf8') : null,
      response: null,
      functionError: null,
      errorType: null,
      errorMessage: null,
      attempts: 0,
      maxRetryAttempts: 0,
      maxEventAgeSeconds: null,
      nextAttemptAt: null,
      sourceInvocationId: null,
      coldStart: false,
      initDurationMs: null,
      durationMs: null,
      billedDurationMs: null,
      memoryMb: resolved.config.memoryMb,
      maxMemoryUsedMb: null,
      concurrency: null,
      instanceId: null,
      logs: null,
      startedAt: null,
      endedAt: null,
      triggerId: input.trigger?.id ?? null,
      eventId: input.trigger?.eventId ?? null,
    } satisfies Omit<q.NewInvocation, 'status'>;

    if (type === 'DRY_RUN') {
      const invocation = this.recorder.record({ ...base, status: 'DRY_RUN', endedAt: new Date() });
      return {
        invocation,
        statusCode: 204,
        payload: null,
        functionError: null,
        logResult: null,
        executedVersion: resolved.version,
        streamContentType: null,
      };
    }
    if (type === 'EVENT') {
      const invocation = await q.enqueueInvocation(this.sql, {
        ...base,
        status: 'QUEUED',
        payload: payload.toString('utf8'),
        maxRetryAttempts: fn.maxRetryAttempts,
        maxEventAgeSeconds: fn.maxEventAgeSeconds,
        nextAttemptAt: new Date(),
      });
      return {
        invocation,
        statusCode: 202,
        payload: null,
        functionError: null,
        logResult: null,
        executedVersion: resolved.version,
        streamContentType: null,
      };
    }

    // the function log writer is far behind the instances: wait for it (FunctionLogWriter)
    await this.logs.room();
    const slot = this.gate.tryAcquire(fn.id, fn.reservedConcurrency, await this.functions.reservedTotal());
    const throttled = (reason: string, message: string) => {
      this.recorder.record({
        ...base,
        status: 'THROTTLED',
        errorType: 'TooManyRequestsException',
        errorMessage: message,
        endedAt: new Date(),
      });
      return new AppError('THROTTLED', `Rate Exceeded. Reason: ${reason}`, 'functionName', { reason });
    };
    if (!slot.ok) throw throttled(slot.reason, slot.reason);
    let outcome: InvokeOutcome;
    try {
      outcome = await this.run(
        fn,
        resolved,
        { requestId: base.id, traceId: base.traceId },
        payload,
        input.clientContext ?? undefined,
        undefined,
        input.stream,
      );
    } catch (err) {
      // no host has room for a new instance: Lambda's answer when it cannot scale out
      if (err instanceof NoRoomError) throw throttled(`InsufficientCapacity: ${err.message}`, err.message);
      throw err;
    } finally {
      this.gate.release(fn.id, fn.reservedConcurrency);
    }
    const v = verdict(outcome);
    const invocation = this.recorder.record({
      ...base,
      ...this.measures(outcome),
      status: v.status,
      functionError: v.functionError,
      errorType: v.errorType,
      errorMessage: v.errorMessage,
      // a response streamed to its sink went by without being kept (an instance on a joined host keeps it)
      response:
        v.response.length <= PayloadLimits.syncBytes &&
        !(v.status === 'SUCCEEDED' && outcome.streamContentType && input.stream && !outcome.body.length)
          ? v.response
          : null,
      concurrency: slot.concurrency,
      attempts: 1,
    });
    return {
      invocation,
      statusCode: 200,
      payload: parsePayload(v.response),
      functionError: v.functionError,
      logResult: input.logType === 'TAIL' ? logResult(outcome.logs) : null,
      executedVersion: resolved.version,
      streamContentType: outcome.streamContentType ?? null,
    };
  }

  private measures(o: InvokeOutcome) {
    return {
      coldStart: o.coldStart,
      initDurationMs: o.initDurationMs,
      durationMs: o.durationMs,
      billedDurationMs: Math.ceil(o.durationMs + (o.initDurationMs ?? 0)),
      maxMemoryUsedMb: o.maxMemoryUsedMb,
      instanceId: o.instanceId,
      logs: storedLogs(o.logs),
      startedAt: o.startedAt,
      endedAt: o.endedAt,
    };
  }

  private async run(
    fn: FunctionRow,
    resolved: ResolvedVersion,
    ids: { requestId: string; traceId: string | null },
    payload: Buffer,
    clientContext?: string,
    signal?: AbortSignal,
    stream?: ResponseStreamSink,
  ): Promise<InvokeOutcome> {
    return this.runtime.invoke(
      this.functions.specOf(fn, resolved),
      {
        requestId: ids.requestId,
        ...(ids.traceId ? { traceId: ids.traceId } : {}),
        payload,
        clientContext,
        stream,
        invokedFunctionArn: functionArn(fn.name, resolved.version === '$LATEST' ? undefined : resolved.version),
      },
      signal,
    );
  }

  // ---- async (the function invoker) ----

  /**
   * Runs one claimed async invocation and settles it: success, a retry later, or failure; the
   * destination's record is queued in the same transaction as the settlement. Aborting `cut`
   * (the server stops) kills the run's instance and hands the event back to the queue.
   */
  async runClaimed(row: InvocationRow, cut?: AbortSignal): Promise<void> {
    // the row invokes read, cached until the function changes: no statement per event or retry
    const fn = await this.functions.forInvoke(row.functionName, 'functionName').catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    });
    if (!fn || fn.id !== row.functionId) {
      await this.settle(
        row,
        { status: 'FAILED', errorType: 'ResourceNotFoundException', errorMessage: 'the function was deleted', endedAt: new Date() },
        null,
      );
      return;
    }
    const ageSeconds = (Date.now() - row.createdAt.getTime()) / 1000;
    if (row.maxEventAgeSeconds !== null && ageSeconds > row.maxEventAgeSeconds) {
      // this claim invoked nothing: the record counts the attempts made before it
      await this.settle(
        row,
        {
          status: 'FAILED',
          errorType: 'EventAgeExceeded',
          errorMessage: `event older than ${row.maxEventAgeSeconds} s`,
          endedAt: new Date(),
          attempts: row.attempts - 1,
        },
        { fn, condition: 'EventAgeExceeded', outcome: null },
      );
      return;
    }
    let resolved: ResolvedVersion;
    try {
      resolved = await this.functions.resolve(fn, row.executedVersion);
    } catch {
      await this.settle(
        row,
        {
          status: 'FAILED',
          errorType: 'ResourceNotFoundException',
          errorMessage: `version ${row.executedVersion} no longer exists`,
          endedAt: new Date(),
        },
        null,
      );
      return;
    }
    // throttled (or not runnable yet, or no host has room): the event waits, and the wait is no attempt;
    // the longer it has waited, the longer the next wait (half its age: from 1 s up to 5 min, as Lambda's backoff)
    const wait = () =>
      q.releaseClaim(
        this.sql,
        row.id,
        row.claimedBy!,
        new Date(Date.now() + Math.min(300_000, Math.max(1_000, (Date.now() - row.createdAt.getTime()) / 2))),
      );
    const slot = fn.state === 'Active' ? this.gate.tryAcquire(fn.id, fn.reservedConcurrency, await this.functions.reservedTotal()) : null;
    if (!slot?.ok) {
      await wait();
      return;
    }
    let outcome: InvokeOutcome | null = null;
    let noRoom = false;
    try {
      outcome = await this.run(fn, resolved, { requestId: row.id, traceId: row.traceId }, Buffer.from(row.payload ?? '{}'), undefined, cut);
    } catch (err) {
      noRoom = err instanceof NoRoomError;
      if (!noRoom && !cut?.aborted) throw err;
    } finally {
      this.gate.release(fn.id, fn.reservedConcurrency);
    }
    // cut short by this server's shutdown (a run that ended on its own meanwhile still counts):
    // the platform's failure, not the function's, so no attempt is spent (Lambda retries those)
    if (noRoom) {
      await wait();
      return;
    }
    if (!outcome || (cut?.aborted && outcome.kind === 'EXIT')) {
      await q.releaseClaim(this.sql, row.id, row.claimedBy!, new Date());
      return;
    }
    const v = verdict(outcome);
    const m = this.measures(outcome);
    const logs = [...(row.logs ?? []), ...m.logs];
    const patch = {
      ...m,
      logs: logs.slice(-2_000),
      status: v.status,
      functionError: v.functionError,
      errorType: v.errorType,
      errorMessage: v.errorMessage,
      response: v.response,
      concurrency: slot.concurrency,
      claimedBy: null,
      claimedUntil: null,
    } as const;
    if (v.status === 'SUCCEEDED') {
      await this.settle(row, patch, { fn, condition: 'Success', outcome });
    } else if (row.attempts <= row.maxRetryAttempts) {
      await q.updateInvocation(this.sql, row.id, {
        ...patch,
        status: 'QUEUED',
        nextAttemptAt: new Date(Date.now() + this.asyncSettings.retryDelayMs(row.attempts)),
      });
    } else {
      await this.settle(row, patch, { fn, condition: 'RetriesExhausted', outcome });
    }
  }

  private async settle(
    row: InvocationRow,
    patch: Parameters<typeof q.updateInvocation>[2],
    destination: { fn: FunctionRow; condition: 'Success' | 'RetriesExhausted' | 'EventAgeExceeded'; outcome: InvokeOutcome | null } | null,
  ): Promise<void> {
    await this.sql.begin(async (tx) => {
      const settled = await q.updateInvocation(tx, row.id, { ...patch, claimedBy: null, claimedUntil: null });
      if (!destination) return;
      const target = destination.condition === 'Success' ? destination.fn.onSuccess : destination.fn.onFailure;
      if (!target) return;
      const to = await this.functions.get(target);
      if (!to) return;
      const record = {
        version: '1.0',
        timestamp: new Date().toISOString(),
        requestContext: {
          requestId: row.id,
          functionArn: functionArn(row.functionName, row.executedVersion),
          condition: destination.condition,
          approximateInvokeCount: settled.attempts,
        },
        requestPayload: parsePayload(row.payload),
        responseContext: {
          statusCode: 200,
          executedVersion: row.executedVersion,
          ...(settled.functionError ? { functionError: settled.functionError } : {}),
        },
        responsePayload: parsePayload(settled.response),
      };
      await q.enqueueInvocation(tx, {
        id: crypto.randomUUID(),
        functionId: to.id,
        functionName: to.name,
        qualifier: '$LATEST',
        executedVersion: '$LATEST',
        invocationType: 'EVENT',
        status: 'QUEUED',
        payload: JSON.stringify(record),
        response: null,
        functionError: null,
        errorType: null,
        errorMessage: null,
        attempts: 0,
        maxRetryAttempts: to.maxRetryAttempts,
        maxEventAgeSeconds: to.maxEventAgeSeconds,
        nextAttemptAt: new Date(),
        sourceInvocationId: row.id,
        coldStart: false,
        initDurationMs: null,
        durationMs: null,
        billedDurationMs: null,
        memoryMb: to.memoryMb,
        maxMemoryUsedMb: null,
        concurrency: null,
        instanceId: null,
        logs: null,
        startedAt: null,
        endedAt: null,
      });
    });
  }
}
