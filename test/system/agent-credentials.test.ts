// Node credentials are worth nothing elsewhere (docs/agent-protocol.md "Credentials"), tried as an
// attacker would: with what passes on the wire between a real agent and a real server (a relay in
// between records every frame), and with an instance's stored key itself.
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { helloProof } from '../../src/engine/agent/credential.js';
import { CORE, CREATE_CLUSTER, MASTER, TERMINATE_CLUSTERS, waitForClusterState, waitForStepState } from '../support/api.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Sits between agents and the server, keeps every frame, and can lose a frame with its connection. */
class Relay {
  readonly frames: Array<{ from: 'agent' | 'server'; msg: any }> = [];
  target = '';
  /** the instance whose next frame of this type is lost, with the connection: 'welcome' (server to agent) or 'tokenReceived' (agent to server) */
  readonly lose = new Map<string, string>();
  private constructor(readonly wss: WebSocketServer) {
    wss.on('connection', (agent) => {
      const upstream = new WebSocket(this.target);
      const end = () => {
        agent.terminate();
        upstream.terminate();
      };
      const early: string[] = [];
      let instanceId: string | null = null;
      /** records a frame; false when it is the one to lose (the connection is cut instead) */
      const pass = (from: 'agent' | 'server', msg: any): boolean => {
        this.frames.push({ from, msg });
        if (instanceId === null || this.lose.get(msg.type) !== instanceId) return true;
        this.lose.delete(msg.type);
        end();
        return false;
      };
      agent.on('message', (d) => {
        const msg = JSON.parse(String(d));
        if (msg.type === 'hello') instanceId = msg.instanceId;
        if (!pass('agent', msg)) return;
        if (upstream.readyState === upstream.OPEN) upstream.send(String(d));
        else early.push(String(d));
      });
      upstream.on('open', () => {
        for (const d of early.splice(0)) upstream.send(d);
      });
      upstream.on('message', (d) => {
        if (pass('server', JSON.parse(String(d))) && agent.readyState === agent.OPEN) agent.send(String(d));
      });
      agent.on('close', end);
      upstream.on('close', end);
      agent.on('error', () => {});
      upstream.on('error', () => {});
    });
  }

  static async start(): Promise<Relay> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/agent' });
    await once(wss, 'listening');
    return new Relay(wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/agent`;
  }
  hellos(instanceId: string): any[] {
    return this.frames.filter((f) => f.from === 'agent' && f.msg.type === 'hello' && f.msg.instanceId === instanceId).map((f) => f.msg);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise((r) => this.wss.close(r));
  }
}

/** One hello over a fresh connection to the server: what it answers (welcome or error) and the close code. */
async function attempt(
  serverUrl: string,
  hello: (nonce: string) => Record<string, unknown>,
): Promise<{ answers: any[]; closeCode: number }> {
  const ws = new WebSocket(`${serverUrl.replace('http', 'ws')}/agent`);
  const answers: any[] = [];
  let closeCode = 0;
  const closed = new Promise<void>((resolve) =>
    ws.on('close', (code) => {
      closeCode = code;
      resolve();
    }),
  );
  ws.on('message', (d) => {
    const msg = JSON.parse(String(d));
    answers.push(msg);
    if (msg.type === 'challenge') ws.send(JSON.stringify(hello(msg.nonce)));
    if (msg.type === 'welcome') ws.close();
  });
  await closed;
  return { answers, closeCode };
}

let server: TestServer;
let relay: Relay;
let db: postgres.Sql;

beforeAll(async () => {
  relay = await Relay.start();
  server = await startTestServer({ agentUrl: relay.url });
  relay.target = `${server.url.replace('http', 'ws')}/agent`;
  db = postgres(server.databaseUrl, { max: 1, onnotice: () => {}, transform: postgres.camel });
});
afterAll(async () => {
  await server?.close();
  await relay?.close();
  await db?.end();
});

const keysOf = async (instanceId: string) =>
  (
    await db<
      { tokenHash: string; nextTokenHash: string | null }[]
    >`select token_hash, next_token_hash from instances where id = ${instanceId}`
  )[0]!;
const instancesOf = async (clusterId: string) =>
  (await server.data(`query($id: ID!) { cluster(id: $id) { instances { id role state } } }`, { id: clusterId })).cluster.instances as any[];
/** the agent confirmed the key of its last welcome: no older key is valid */
const settled = async (instanceId: string) =>
  waitUntil(async () => (await keysOf(instanceId)).nextTokenHash === null, `${instanceId} to confirm its key`);

describe('node agent credentials', { timeout: 120_000 }, () => {
  it("a captured hello replayed, a key presented for another instance, a lost welcome, and an ended instance's key", async () => {
    const { createCluster } = await server.data(CREATE_CLUSTER, { input: { name: 'creds', instanceGroups: [MASTER, CORE(1)] } });
    const clusterId = createCluster.cluster.id;
    await waitForClusterState(server, clusterId, ['WAITING']);
    const [master, core] = (await instancesOf(clusterId)).sort((a) => (a.role === 'MASTER' ? -1 : 1));
    await settled(master.id);

    // nothing secret on the wire: the hello carries a proof for that connection's challenge only
    const captured = relay.hellos(master.id)[0];
    expect(captured.token).toBeUndefined();
    expect(JSON.stringify(relay.frames)).not.toContain((await keysOf(master.id)).tokenHash);
    const replay = await attempt(server.url, () => captured);
    expect(replay.answers.map((a) => a.type)).toEqual(['challenge', 'error', 'shutdown']);
    expect(replay.closeCode).toBe(4403);

    // the master's own current key, made into a proof for the core instance: refused
    const masterKey = (await keysOf(master.id)).tokenHash;
    const crossed = await attempt(server.url, (nonce) => ({
      type: 'hello',
      instanceId: core.id,
      proof: helloProof(masterKey, nonce, core.id),
      pid: 1,
      host: 'x',
      steps: [],
    }));
    expect(crossed.answers.map((a) => a.type)).toEqual(['challenge', 'error', 'shutdown']);
    // …and a proof over another nonce than the connection's: refused
    const stale = await attempt(server.url, () => ({
      type: 'hello',
      instanceId: master.id,
      proof: helloProof(masterKey, 'not-this-connections-nonce', master.id),
      pid: 1,
      host: 'x',
      steps: [],
    }));
    expect(stale.answers.map((a) => a.type)).toEqual(['challenge', 'error', 'shutdown']);

    // A welcome lost on the way: the server rotated, the agent did not hear of it. The key it used
    // stays valid until it confirms the next one, so it gets back in, and the node keeps working.
    const before = relay.hellos(master.id).length;
    relay.lose.set('welcome', master.id); // the server welcomed (and rotated) but the agent never hears of it
    for (const ws of relay.wss.clients) ws.terminate();
    await waitUntil(() => relay.hellos(master.id).length >= before + 2, 'the master to reconnect twice (the first welcome lost)');
    await settled(master.id);
    const { addSteps } = await server.data(`mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id } } }`, {
      input: { clusterId, steps: [{ name: 'after-lost-welcome', command: { args: ['true'] } }] },
    });
    await waitForStepState(server, addSteps.steps[0].id, ['COMPLETED']);
    expect((await instancesOf(clusterId)).map((i) => i.state)).toEqual(['RUNNING', 'RUNNING']);
    // A tokenReceived lost on the way: the agent holds the new key, the server still has the old
    // one as current and the new one as next. The new one gets it back in; the old one is then void.
    const beforeAck = relay.hellos(master.id).length;
    const keysBeforeAck = await keysOf(master.id);
    relay.lose.set('tokenReceived', master.id); // the agent switched keys but the server never hears of it
    for (const ws of relay.wss.clients) ws.terminate();
    await waitUntil(() => relay.hellos(master.id).length >= beforeAck + 2, 'the master to reconnect twice (the first tokenReceived lost)');
    await settled(master.id);
    const staleKey = keysBeforeAck.tokenHash;
    const afterAck = await attempt(server.url, (nonce) => ({
      type: 'hello',
      instanceId: master.id,
      proof: helloProof(staleKey, nonce, master.id),
      pid: 1,
      host: 'x',
      steps: [],
    }));
    expect(afterAck.answers.map((a) => a.type)).toEqual(['challenge', 'error', 'shutdown']);
    expect((await instancesOf(clusterId)).map((i) => i.state)).toEqual(['RUNNING', 'RUNNING']);

    // every hello so far, replayed now: refused
    for (const hello of relay.hellos(master.id)) {
      expect((await attempt(server.url, () => hello)).answers.map((a) => a.type)).toContain('error');
    }

    // once the instance ended, its last key is void
    const lastKey = (await keysOf(master.id)).tokenHash;
    await server.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
    await waitForClusterState(server, clusterId, ['TERMINATED']);
    expect(await keysOf(master.id)).toEqual({ tokenHash: '', nextTokenHash: null });
    const ended = await attempt(server.url, (nonce) => ({
      type: 'hello',
      instanceId: master.id,
      proof: helloProof(lastKey, nonce, master.id),
      pid: 1,
      host: 'x',
      steps: [],
    }));
    expect(ended.answers.map((a) => a.type)).toEqual(['challenge', 'error', 'shutdown']);
  });

  it("a step gets no credential: nothing of the agent's key, the server's keys or the database in its environment or open files", async () => {
    const { createCluster } = await server.data(CREATE_CLUSTER, {
      input: {
        name: 'dump',
        instanceGroups: [MASTER],
        steps: [
          {
            name: 'dump',
            command: {
              args: [
                'sh',
                '-c',
                'env; for f in /proc/self/fd/*; do echo "fd $f -> $(readlink $f)"; done; cat /proc/$PPID/environ | tr "\\0" "\\n"',
              ],
            },
          },
        ],
      },
    });
    const clusterId = createCluster.cluster.id;
    const step = await waitUntil(async () => {
      const { cluster } = await server.data(
        `query($id: ID!) { cluster(id: $id) { instances { id } steps { edges { node { id state } } } } }`,
        { id: clusterId },
      );
      const s = cluster.steps.edges[0].node;
      return s.state === 'COMPLETED' ? { id: s.id, instanceId: cluster.instances[0].id } : null;
    }, 'the dump step to complete');
    const { step: read } = await server.data(`query($id: ID!) { step(id: $id) { logs(first: 100) { edges { node { text } } } } }`, {
      id: step.id,
    });
    const out = read.logs.edges.map((e: any) => e.node.text).join('\n');
    expect(out).toContain('CLUSTER_STEP_ID=');
    expect(out).toMatch(/fd \/proc\/self\/fd\/1 -> pipe:/);
    const { tokenHash } = await keysOf(step.instanceId);
    const password = new URL(server.databaseUrl).password;
    for (const secret of [tokenHash, server.key, password, server.databaseUrl]) expect(out).not.toContain(secret);
    // (AGENT_TOKEN_FD names a descriptor the agent closed at its start)
    expect(out).not.toMatch(/AGENT_TOKEN=|ADMIN_API_KEY|DATABASE_URL|SECRETS_KEY/);
    // only stdio and the control pipe: beyond them nothing but the directory `for` lists (and whatever the test runner
    // itself was started with, which every process it starts inherits)
    const runnerFds = new Set(
      readdirSync('/proc/self/fd').map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      }),
    );
    const fds = [...out.matchAll(/^fd \/proc\/self\/fd\/(\d+) -> (.*)$/gm)].map((m) => ({ fd: Number(m[1]), target: m[2]! }));
    expect(fds.length).toBeGreaterThanOrEqual(3);
    // the step's control pipe to its agent (CLUSTER_CONTROL_FD: `::progress`/`::result` lines) is no credential
    const control = Number(/^CLUSTER_CONTROL_FD=(\d+)$/m.exec(out)?.[1]);
    expect(fds.find((f) => f.fd === control)?.target).toMatch(/^(socket|pipe):/);
    const extra = fds.filter(
      (f) => f.fd > 2 && f.fd !== control && f.target !== '' && !f.target.startsWith('/proc/') && !runnerFds.has(f.target),
    );
    expect(extra).toEqual([]);
    await server.data(TERMINATE_CLUSTERS, { ids: [clusterId] });
    await waitForClusterState(server, clusterId, ['TERMINATED']);
  });
});
