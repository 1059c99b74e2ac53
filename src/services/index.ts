import type { Logger } from 'pino';
import type { Sql } from '../db/client.js';
import { WorkHints } from '../events/hints.js';
import { AuthService } from './auth.js';
import { ClusterService } from './clusters.js';
import { EventService } from './events.js';
import { FunctionCodeStore } from './function-code.js';
import { FunctionService } from './functions.js';
import { InvocationService } from './invocations.js';
import { ProvisionedConcurrencyService } from './provisioned-concurrency.js';
import { InstanceService } from './instances.js';
import { LogService } from './logs.js';
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
  functions: FunctionService;
  invocations: InvocationService;
  provisioned: ProvisionedConcurrencyService;
}

/** What the function services need from the configuration. */
export interface FunctionSettings {
  dataDir: string;
  bucketsDir: string;
  concurrencyLimit: number;
  retryDelayMs: number;
}

export function createServices(sql: Sql, log: Logger, fns: FunctionSettings): Services {
  const hints = new WorkHints();
  const steps = new StepService(sql, hints);
  const functions = new FunctionService(sql, new FunctionCodeStore(fns.dataDir, fns.bucketsDir), fns.concurrencyLimit);
  return {
    sql,
    auth: new AuthService(sql, log),
    clusters: new ClusterService(sql),
    steps,
    instances: new InstanceService(sql, steps),
    logs: new LogService(sql, log),
    events: new EventService(sql, log),
    hints,
    functions,
    provisioned: new ProvisionedConcurrencyService(sql, functions, fns.concurrencyLimit),
    invocations: new InvocationService(sql, functions, fns.concurrencyLimit, { retryDelayMs: (attempt) => fns.retryDelayMs * attempt }, log),
  };
}
