// Helpers for tests of joined hosts: the CLI that joins them, and waiting on a host by name.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataApi } from './api.js';
import { waitUntil } from './processes.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** `node <this> host join …` starts a host daemon */
export const HOST_CLI = path.join(repoRoot, 'bin/emberplane.js');

/** The host named `name` once `pred` holds of it, as `query` (a `hosts` listing) shows it. */
export function waitForHostNamed<H extends { name: string }>(
  server: DataApi,
  query: string,
  name: string,
  pred: (h: H) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<H> {
  return waitUntil(
    async () => {
      const h = ((await server.data(query)).hosts.edges as Array<{ node: H }>).map((e) => e.node).find((x) => x.name === name);
      return h && pred(h) ? h : null;
    },
    `host ${name}: ${what}`,
    timeoutMs,
  );
}

/** The command line of `emberplane host join` with a token, a data dir and a name, then `more` options. */
export function hostJoinArgv(o: { server: string; token: string; dataDir: string; name: string }, more: string[] = []): string[] {
  return [
    process.execPath,
    HOST_CLI,
    'host',
    'join',
    '--server',
    o.server,
    '--token',
    o.token,
    '--data-dir',
    o.dataDir,
    '--name',
    o.name,
    ...more,
  ];
}
