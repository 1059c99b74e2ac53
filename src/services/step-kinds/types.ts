import type { Secrets } from '../secrets.js';
import type { StorageService } from '../storage.js';

/** What a step kind needs to know to turn a user's step into a process on the master node. */
export interface StepKindContext {
  /** the cluster's applications (SPARK, DUCKDB) */
  applications: readonly string[];
  bucketsDir: string;
  storage: StorageService;
  /** the absolute python3 of this host (for .py scripts), if any */
  python: string | null;
  secrets: Secrets;
}

/**
 * A step ready to run: the argv and env the master node's agent starts, fixed when the step is
 * added (so a resend after a reconnect runs exactly the same thing), plus what the user asked for.
 */
export interface PreparedStep {
  args: string[];
  env: Record<string, string>;
  /** the kind's own input, as the API shows it back (script, spark, sql) */
  source?: Record<string, unknown>;
  /** s3:// locations the step writes: registered as objects when it completes */
  outputs?: string[];
}

export interface StepKind {
  /** throws AppError (BAD_USER_INPUT/NOT_FOUND with `field`) for input the kind can't run */
  prepare(input: unknown, field: string, ctx: StepKindContext): Promise<PreparedStep>;
}
