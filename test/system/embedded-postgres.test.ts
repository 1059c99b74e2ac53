// The default way to run the product: no DATABASE_URL, no ADMIN_API_KEY; the server starts its own
// Postgres in DATA_DIR and prints a generated admin key once.
import { afterEach, describe, expect, it } from 'vitest';
import { expectError } from '../support/api.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { processesOf } from '../support/server.js';
import {
  addSteps,
  api,
  command,
  createCluster,
  getCluster,
  masterGroup,
  postgresProcessesOf,
  stdoutOf,
  SystemTest,
  waitClusterState,
  waitStep,
} from './harness.js';

let t: SystemTest;
// a cleanup that terminates clusters and stops servers can take a while on a busy machine
afterEach(async () => {
  await t?.cleanup();
}, 90_000);

const KEY_LINE = /Admin API key: (\S+)/g;

describe('embedded Postgres (no DATABASE_URL)', { timeout: 120_000 }, () => {
  it('first start prints a key; a kill -9 leaves Postgres behind, the next start handles it and keeps the data; SIGTERM stops everything', async () => {
    t = await new SystemTest().init('emberplane-embedded-');
    const first = await t.start({ PORT: '0' });
    const keys = [...first.output().matchAll(KEY_LINE)].map((m) => m[1]!);
    expect(keys).toHaveLength(1);
    const key = keys[0]!;
    t.useKey(key);
    const a = api(first, key);

    const unauthenticated = await api(first, 'ep_not_the_key').gql('query { clusters(first: 1) { edges { node { id } } } }');
    expectError(unauthenticated, 'UNAUTHENTICATED');

    const clusterId = await createCluster(a, { name: 'embedded', instanceGroups: [masterGroup()] });
    const [step] = await addSteps(a, clusterId, [command('hello', 'echo hello from embedded')]);
    const done = await waitStep(a, step!.id, (s) => s.state === 'COMPLETED' || s.state === 'FAILED', 'ended');
    expect(done.state).toBe('COMPLETED');
    expect(stdoutOf(done.logs.edges.map((e: any) => e.node))).toEqual(['hello from embedded']);
    const ready = await waitClusterState(a, clusterId, ['WAITING']);
    const agentPid: number = ready.instances[0].pid;

    // one postmaster (a backend being forked carries the postmaster's argv for a moment)
    const postgresBefore = await waitUntil(() => {
      const pids = postgresProcessesOf(t.dataDir);
      return pids.length === 1 ? pids : null;
    }, 'a single postmaster for the data dir');
    await first.kill('SIGKILL');
    // nothing stops a child Postgres when its server dies without a chance to clean up
    expect(postgresProcessesOf(t.dataDir)).toEqual(postgresBefore);
    expect(isAlive(agentPid)).toBe(true);

    // same port: the agent of the existing cluster dials it
    const second = await t.start({ PORT: String(first.port), STOP_AGENTS_ON_EXIT: 'true' });
    expect(second.output()).not.toMatch(/Admin API key/);
    const b = api(second, key);
    const again = await getCluster(b, clusterId);
    expect(again).toMatchObject({ id: clusterId, name: 'embedded', state: 'WAITING' });
    expect(again.steps.edges.map((e: any) => [e.node.id, e.node.state])).toEqual([[step!.id, 'COMPLETED']]);
    // whether the leftover was stopped or reused, one Postgres serves the data dir
    expect(postgresProcessesOf(t.dataDir)).toHaveLength(1);

    const [next] = await addSteps(b, clusterId, [command('after-restart', 'echo still works')]);
    expect((await waitStep(b, next!.id, (s) => s.state === 'COMPLETED' || s.state === 'FAILED', 'ended')).state).toBe('COMPLETED');
    await waitClusterState(b, clusterId, ['WAITING']);
    expect((await getCluster(b, clusterId)).instances[0]).toMatchObject({ state: 'RUNNING', pid: agentPid });

    second.proc.kill('SIGTERM');
    const code = await waitUntil(
      () =>
        (second.proc.exitCode ?? (second.proc.signalCode ? -1 : null)) !== null
          ? { code: second.proc.exitCode, signal: second.proc.signalCode }
          : null,
      'the server to exit',
      30_000,
    );
    expect(code).toEqual({ code: 0, signal: null });
    await waitUntil(() => postgresProcessesOf(t.dataDir).length === 0, 'no Postgres left for the data dir', 10_000);
    await waitUntil(() => processesOf(t.dataDir).length === 0, 'no agent left', 10_000);
    expect(isAlive(agentPid)).toBe(false);
  });
});
