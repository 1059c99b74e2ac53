import 'reflect-metadata';
import { startApp } from './app.js';
import { loadConfig } from './platform/config.js';
import { limitHeapGrowth } from './platform/heap.js';
import { createLogger } from './platform/logger.js';
import { StartupError } from './platform/sandbox-check.js';

limitHeapGrowth();
const config = loadConfig();
const log = createLogger(config.logLevel);
// a stray rejection is a bug to log, not a reason to drop every cluster's control plane
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));

try {
  const app = await startApp(config, log);
  if (app.generatedAdminKey) {
    // printed once, on the first start with an empty database; only its hash is stored
    process.stdout.write(`Admin API key: ${app.generatedAdminKey}\n`);
  }
  process.stdout.write(`GraphQL API on ${app.url}/graphql (WebSocket ${app.url.replace(/^http/, 'ws')}/graphql)\n`);
  if (config.console) process.stdout.write(`Web console on ${app.url}/\n`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // the async invocations' grace comes first: their hand-back to the queue must get to run
    const hardStop = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.functionShutdownGraceMs + 20_000);
    hardStop.unref();
    app
      .close({ stopAgents: config.stopAgentsOnExit })
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  if (err instanceof StartupError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  log.fatal({ err }, 'failed to start');
  // the reason in plain words too, for whoever started it by hand
  process.stderr.write(`emberplane did not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
