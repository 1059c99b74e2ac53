// The platform's lines in a function's log (Lambda's system logs): START / END / REPORT text lines,
// or with loggingConfig JSON the platform events as Lambda writes them to CloudWatch
// (`{time, type: "platform.start" | "platform.runtimeDone" | "platform.report", record}`), those
// below the system log level left out.
import crypto from 'node:crypto';
import type { LoggingSpec, OutcomeKind, SystemLogLevel } from './types.js';

// randomUUID draws from a pooled buffer: no syscall per invocation
const randomHex = (digits: number) => crypto.randomUUID().replace(/-/g, '').slice(0, digits);

/** An X-Ray trace id: version 1, the epoch seconds in hex, 24 random hex digits. */
export function newTraceId(): string {
  return `1-${Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0')}-${randomHex(24)}`;
}

/** The trace header a runtime gets for an invocation (Lambda-Runtime-Trace-Id): its trace, a new parent segment, not sampled. */
export function traceHeader(traceId: string): string {
  return `Root=${traceId};Parent=${randomHex(16)};Sampled=0`;
}

const SYSTEM_LEVELS: SystemLogLevel[] = ['DEBUG', 'INFO', 'WARN'];
const fmt = (ms: number) => ms.toFixed(2);
const round = (ms: number) => Math.round(ms * 100) / 100;

export interface InvocationReport {
  requestId: string;
  durationMs: number;
  billedDurationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  initDurationMs: number | null;
  kind: OutcomeKind;
  errorType: string | null;
  /** the response's size (JSON's runtimeDone metrics) */
  producedBytes: number;
}

/** Lambda's status of an invocation in its platform events. */
function statusOf(kind: OutcomeKind): 'success' | 'error' | 'timeout' | 'failure' {
  if (kind === 'RESPONSE') return 'success';
  if (kind === 'FUNCTION_ERROR') return 'error';
  if (kind === 'TIMEOUT') return 'timeout';
  return 'failure';
}

export class PlatformLog {
  constructor(private readonly logging: LoggingSpec) {}

  private get json(): boolean {
    return this.logging.format === 'JSON';
  }

  private event(level: SystemLogLevel, type: string, record: Record<string, unknown>): string[] {
    if (SYSTEM_LEVELS.indexOf(level) < SYSTEM_LEVELS.indexOf(this.logging.systemLogLevel)) return [];
    return [JSON.stringify({ time: new Date().toISOString(), type, record })];
  }

  start(requestId: string, version: string, traceId: string): string[] {
    if (!this.json) return [`START RequestId: ${requestId} Version: ${version}`];
    return this.event('INFO', 'platform.start', { requestId, version, tracing: { type: 'X-Amzn-Trace-Id', value: traceId } });
  }

  /** The platform's own line for an invocation the runtime did not answer (e.g. "Task timed out after 3.00 seconds"); text only. */
  failure(requestId: string, message: string): string[] {
    return this.json ? [] : [`${new Date().toISOString()} ${requestId} ${message}`];
  }

  /** END and REPORT (text), platform.runtimeDone and platform.report (JSON; a failed invocation's at WARN). */
  end(r: InvocationReport): string[] {
    if (!this.json) {
      return [
        `END RequestId: ${r.requestId}`,
        `REPORT RequestId: ${r.requestId}\tDuration: ${fmt(r.durationMs)} ms\tBilled Duration: ${r.billedDurationMs} ms\t` +
          `Memory Size: ${r.memorySizeMb} MB\tMax Memory Used: ${r.maxMemoryUsedMb} MB` +
          (r.initDurationMs !== null ? `\tInit Duration: ${fmt(r.initDurationMs)} ms` : ''),
      ];
    }
    const status = statusOf(r.kind);
    const failed = status === 'success' ? {} : { errorType: r.errorType ?? 'Runtime.Unknown' };
    const level = status === 'success' ? 'INFO' : 'WARN';
    return [
      ...this.event(level, 'platform.runtimeDone', {
        requestId: r.requestId,
        status,
        ...failed,
        metrics: { durationMs: round(r.durationMs), producedBytes: r.producedBytes },
      }),
      ...this.event(level, 'platform.report', {
        requestId: r.requestId,
        metrics: {
          durationMs: round(r.durationMs),
          billedDurationMs: r.billedDurationMs,
          memorySizeMB: r.memorySizeMb,
          maxMemoryUsedMB: r.maxMemoryUsedMb,
          ...(r.initDurationMs !== null ? { initDurationMs: round(r.initDurationMs) } : {}),
        },
        status,
        ...failed,
      }),
    ];
  }
}
