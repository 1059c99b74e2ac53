import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import { WorkHints } from '../events/hints.js';
import { createSqlEngine } from '../engine/sql/duckdb.js';
import { AuthService } from './auth.js';
import { ClusterService } from './clusters.js';
import { EventService } from './events.js';
import { InstanceService } from './instances.js';
import { LogService } from './logs.js';
import { SqlService } from './sql.js';
import { StepService } from './steps.js';

/** The services bag shared by resolvers, controllers and the agent gateway. */
export interface Services {
  sql: Sql;
  auth: AuthService;
  clusters: ClusterService;
  steps: StepService;
  instances: InstanceService;
  logs: LogService;
  events: EventService;
  hints: WorkHints;
  sqlQueries: SqlService;
}

export function createServices(sql: Sql, log: Logger, config: Config): Services {
  const hints = new WorkHints();
  const steps = new StepService(sql, hints, config.bucketsDir);
  return {
    sql,
    auth: new AuthService(sql, log),
    clusters: new ClusterService(sql, steps),
    steps,
    instances: new InstanceService(sql, steps),
    logs: new LogService(sql, log),
    events: new EventService(sql, log),
    hints,
    sqlQueries: new SqlService(sql, createSqlEngine({
      bucketsDir: config.bucketsDir, memoryLimitMb: config.sqlPreviewMemoryMb, threads: Math.min(4, os.availableParallelism()),
    }), config.bucketsDir, config.sqlPreviewTimeoutMs),
  };
}
