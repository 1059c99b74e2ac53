import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, waitUntil } from './processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildServer {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  output: () => string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * The real server program as its own OS process (for kill -9 and several-replica tests).
 * PORT 0 picks a free port; the address it got (HOST and port) is read from its first line of output. `as`: run it as
 * that user (a server started by a normal user).
 */
export async function startChildServer(env: Record<string, string>, as: { uid: number; gid: number } | null = null): Promise<ChildServer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts')], {
    cwd: root,
    ...(as ?? {}),
    env: { ...process.env, LOG_LEVEL: 'warn', RECONCILE_INTERVAL_MS: '200', AGENT_HEARTBEAT_MS: '500', AGENT_ORPHAN_SECONDS: '60', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d) => {
    out += d.toString();
  });
  const url = await waitUntil(
    () => {
      if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}): ${out}`);
      return /GraphQL API on (http:\/\/[^/\s]+:\d+)\//.exec(out)?.[1] ?? null;
    },
    'the server to listen',
    30_000,
  );
  return {
    proc,
    pid: proc.pid!,
    port: Number(new URL(url).port),
    url,
    output: () => out,
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await waitUntil(() => !isAlive(proc.pid!) || proc.exitCode !== null || proc.signalCode !== null, 'the server to exit', 30_000);
    },
  };
}
