// The node agent as a real process, launched by LocalDriver, against a minimal control plane.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { credentialKey, helloProof, nextCredentialKey, welcomeProof } from '../../src/engine/agent/credential.js';
import { LocalDriver } from '../../src/engine/local/local-driver.js';
import { descendantsOf, isPidAlive, processesWithEnv } from '../../src/engine/local/processes.js';
import type { AgentLogLine, AgentMessage, ControlMessage, InstanceHandle, NodeConfig } from '../../src/engine/types.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-test-'));
// the agent's protocol, with its steps unconfined (their sandbox is tested through the API: node-sandbox.test.ts)
const driver = new LocalDriver({ dataDir, heartbeatMs: 100, sandbox: false });
const TOKEN = 'secret-token-for-agent-tests';

type Msg<T extends AgentMessage['type']> = Extract<AgentMessage, { type: T }>;

class Conn {
  readonly messages: AgentMessage[] = [];
  readonly nonce = randomBytes(32).toString('base64url');
  /** the key the agent proved in this connection's hello */
  key = '';
  instanceId = '';
  constructor(readonly ws: WebSocket) {}

  send(msg: ControlMessage | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  of<T extends AgentMessage['type']>(type: T, stepId?: string): Msg<T>[] {
    return this.messages.filter(
      (m): m is Msg<T> => m.type === type && (stepId === undefined || (m as { stepId?: string }).stepId === stepId),
    );
  }

  lines(stepId: string): AgentLogLine[] {
    return this.of('log', stepId).flatMap((m) => m.lines);
  }
}

interface ControlPlaneOptions {
  welcome?: (connIndex: number) => boolean;
  /** the node configuration the welcome carries (none unless given) */
  node?: NodeConfig;
  /** answer the hello with a welcome whose proof is wrong, then a runStep */
  forgeWelcome?: (connIndex: number) => boolean;
  ackLogs?: boolean;
  ackExit?: boolean;
}

class ControlPlane {
  readonly conns: Conn[] = [];
  /** each agent's current key, as the control plane keeps it (rotated at tokenReceived) */
  private readonly keys = new Map<string, string>();
  private constructor(
    readonly wss: WebSocketServer,
    private readonly options: ControlPlaneOptions,
  ) {
    wss.on('connection', (ws) => {
      const conn = new Conn(ws);
      const index = this.conns.push(conn) - 1;
      conn.send({ type: 'challenge', nonce: conn.nonce });
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as AgentMessage;
        conn.messages.push(msg);
        if (msg.type === 'hello') {
          conn.key = this.keys.get(msg.instanceId) ?? credentialKey(TOKEN);
          conn.instanceId = msg.instanceId;
          if (this.options.forgeWelcome?.(index)) {
            // a listener that doesn't know the key, trying to command the agent
            conn.send({ type: 'welcome', proof: 'f'.repeat(64) });
            conn.send({ type: 'runStep', stepId: 's-forged', args: ['sh', '-c', 'echo forged'], env: {} });
          } else if (this.options.welcome?.(index) ?? true)
            conn.send({ type: 'welcome', node: this.options.node, proof: welcomeProof(conn.key, conn.nonce, msg.instanceId) });
          else {
            conn.send({ type: 'error', message: 'not now' });
            ws.close();
          }
        }
        if (msg.type === 'tokenReceived') this.keys.set(conn.instanceId, nextCredentialKey(conn.key, conn.nonce));
        if (msg.type === 'log' && this.options.ackLogs) {
          conn.send({ type: 'ackLogs', stepId: msg.stepId, seq: msg.lines[msg.lines.length - 1].seq });
        }
        if (msg.type === 'stepExited' && this.options.ackExit) conn.send({ type: 'ackExit', stepId: msg.stepId });
      });
    });
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/agent' });
    await once(wss, 'listening');
    const cp = new ControlPlane(wss, options);
    servers.push(cp);
    return cp;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/agent`;
  }

  conn(i: number): Conn | undefined {
    return this.conns[i];
  }

  get last(): Conn {
    return this.conns[this.conns.length - 1];
  }

  /** Lines of a step over all connections, de-duplicated by seq as a control plane would. */
  union(stepId: string): AgentLogLine[] {
    const bySeq = new Map<number, AgentLogLine>();
    for (const c of this.conns) for (const l of c.lines(stepId)) bySeq.set(l.seq, l);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise((r) => this.wss.close(r));
  }
}

interface Launched extends InstanceHandle {
  pid: number;
  workdir: string;
  driver: LocalDriver;
}

const servers: ControlPlane[] = [];
const launched: Launched[] = [];
let instanceCounter = 0;
// Bumped after each test so a poll left running by a failed test stops instead of spinning on.
let generation = 0;

async function launchAgent(urls: string[], d: LocalDriver = driver): Promise<Launched> {
  const instanceId = `i-agenttest-${process.pid}-${++instanceCounter}`;
  const li = await d.launch({
    instanceId,
    clusterId: 'c-agenttest',
    role: 'CORE',
    vcpu: 1,
    memoryMb: 512,
    token: TOKEN,
    controlPlaneUrls: urls,
  });
  const handle = { instanceId, pid: li.pid, host: li.host, workdir: li.workdir, driver: d };
  launched.push(handle);
  return handle;
}

/** Polls until `probe` yields a value; the test timeout bounds it. */
async function until<T>(probe: () => T | undefined | null | false): Promise<T> {
  const gen = generation;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (gen !== generation) throw new Error('test ended while waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Connects, runs one step and returns its exit report with the connection it came on. */
async function startAgent(options: ControlPlaneOptions = {}) {
  const cp = await ControlPlane.start(options);
  const agent = await launchAgent([cp.url]);
  await until(() => cp.conn(0)?.of('ready')[0]);
  return { cp, agent, conn: cp.conn(0)! };
}

async function runToExit(conn: Conn, stepId: string, args: string[], env: Record<string, string> = {}) {
  conn.send({ type: 'runStep', stepId, args, env });
  return until(() => conn.of('stepExited', stepId)[0]);
}

function agentLog(agent: Launched): Array<Record<string, unknown>> {
  return readFileSync(path.join(agent.workdir, 'agent.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const sleepTree = ['sh', '-c', 'sleep 100 & sleep 100 & wait'];

/** A running step's pid and the pids below it, once both background sleeps exist. */
async function runningTree(conn: Conn, stepId: string): Promise<number[]> {
  const started = await until(() => conn.of('stepStarted', stepId)[0]);
  const below = await until(() => {
    const d = descendantsOf(started.pid);
    return d.length >= 2 ? d : undefined;
  });
  return [started.pid, ...below];
}

afterEach(async () => {
  generation++;
  for (const a of launched.splice(0)) {
    await a.driver.stop(a, 2000);
    expect(isPidAlive(a.pid)).toBe(false);
    expect(processesWithEnv('AGENT_INSTANCE_ID', a.instanceId)).toEqual([]);
  }
  for (const cp of servers.splice(0)) await cp.close();
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('node agent', () => {
  it('says hello, is welcomed, reports ready and sends heartbeats', async () => {
    const cp = await ControlPlane.start();
    const agent = await launchAgent([cp.url]);
    const conn = await until(() => cp.conn(0));
    await until(() => conn.of('heartbeat').length >= 2 && conn.of('ready').length === 1);

    expect(conn.messages[0]).toEqual({
      type: 'hello',
      instanceId: agent.instanceId,
      proof: helloProof(credentialKey(TOKEN), conn.nonce, agent.instanceId),
      pid: agent.pid,
      host: os.hostname(),
      steps: [],
    });
    // the key is rotated at the welcome, and the agent says it holds the new one
    expect(conn.messages[1]).toEqual({ type: 'tokenReceived' });
    expect(typeof conn.of('heartbeat')[0].at).toBe('number');
    expect(driver.isAlive(agent)).toBe(true);
    expect(driver.isAlive({ ...agent, host: 'some-other-host' })).toBeUndefined();
    expect(driver.isAlive({ ...agent, pid: null })).toBe(false);
    // The token reaches the agent through its environment only.
    expect(readFileSync(path.join(agent.workdir, 'agent.log'), 'utf8')).not.toContain(TOKEN);
  });

  it("proves its key over each connection's challenge and rotates the key at every welcome, not at a refusal", async () => {
    const cp = await ControlPlane.start({ welcome: (i) => i !== 1 });
    const agent = await launchAgent([cp.url]);
    const first = await until(() => cp.conn(0)?.of('tokenReceived')[0] && cp.conn(0));
    first.ws.terminate();
    const refused = await until(() => cp.conn(1)?.of('hello')[0] && cp.conn(1));
    const third = await until(() => cp.conn(2)?.of('hello')[0] && cp.conn(2));
    const rotated = nextCredentialKey(credentialKey(TOKEN), first.nonce);
    expect(refused.of('hello')[0].proof).toBe(helloProof(rotated, refused.nonce, agent.instanceId));
    expect(third.of('hello')[0].proof).toBe(helloProof(rotated, third.nonce, agent.instanceId));
    expect(refused.of('tokenReceived')).toHaveLength(0);
  });

  it('obeys no welcome that does not prove the key: a listener posing as the control plane commands nothing', async () => {
    const cp = await ControlPlane.start({ forgeWelcome: (i) => i === 0 });
    const agent = await launchAgent([cp.url]);
    const real = await until(() => cp.conn(1)?.of('tokenReceived')[0] && cp.conn(1));
    const forged = cp.conn(0)!;
    expect(forged.of('tokenReceived')).toHaveLength(0);
    expect(forged.of('stepStarted')).toHaveLength(0);
    expect(cp.conns.flatMap((c) => c.of('stepStarted'))).toHaveLength(0);
    // its key did not move either: the next hello proves the launch key
    expect(real.of('hello')[0].proof).toBe(helloProof(credentialKey(TOKEN), real.nonce, agent.instanceId));
    expect(readFileSync(path.join(agent.workdir, 'agent.log'), 'utf8')).toContain('a welcome without a valid proof');
  });

  it('tries the control plane URLs in turn and retries after a refusal', async () => {
    const dead = await ControlPlane.start();
    const deadUrl = dead.url;
    await dead.close();
    servers.splice(servers.indexOf(dead), 1);
    const cp = await ControlPlane.start({ welcome: (i) => i > 0 });
    await launchAgent([deadUrl, cp.url]);
    await until(() => cp.conn(1)?.of('ready')[0]);
    expect(cp.conn(0)!.of('hello')).toHaveLength(1);
    expect(cp.conn(0)!.of('ready')).toHaveLength(0);
  });

  it('runs a step: ordered lines per stream, progress, exit code and lastSeq', async () => {
    const { conn } = await startAgent();
    const exited = await runToExit(conn, 's-echo', ['sh', '-c', 'echo a; echo b >&2; echo "::progress 0.5"; echo c']);

    const lines = conn.lines('s-echo');
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(lines.filter((l) => l.stream === 'STDOUT').map((l) => l.text)).toEqual(['a', 'c']);
    expect(lines.filter((l) => l.stream === 'STDERR').map((l) => l.text)).toEqual(['b']);
    expect(exited).toMatchObject({ exitCode: 0, signal: null, lastSeq: 3 });
    expect(conn.of('progress', 's-echo').at(-1)?.value).toBe(0.5);

    const started = conn.of('stepStarted', 's-echo');
    expect(started).toHaveLength(1);
    expect(started[0].pid).toBeGreaterThan(0);
    const order = conn.messages.filter((m) => 'stepId' in m && m.stepId === 's-echo').map((m) => m.type);
    expect(order[0]).toBe('stepStarted');
    expect(order.at(-1)).toBe('stepExited');
    expect(order.indexOf('progress')).toBeGreaterThan(0);
  });

  it('takes ::progress and ::result from the control pipe on CLUSTER_CONTROL_FD, apart from stdout', async () => {
    const { conn } = await startAgent();
    const exited = await runToExit(conn, 's-ctl', [
      'sh',
      '-c',
      'echo out; echo "::progress 0.25" >&"$CLUSTER_CONTROL_FD"; echo \'::result {"n":1}\' >&"$CLUSTER_CONTROL_FD"; echo after',
    ]);
    expect(conn.lines('s-ctl').map((l) => l.text)).toEqual(['out', 'after']);
    expect(conn.of('progress', 's-ctl').at(-1)?.value).toBe(0.25);
    expect(exited).toMatchObject({ exitCode: 0, result: { n: 1 }, lostLines: 0 });
  });

  it('holds a step that writes faster than its lines are stored instead of dropping them', async () => {
    const { agent, conn } = await startAgent();
    const total = 150_000;
    conn.send({ type: 'runStep', stepId: 's-flood', args: ['sh', '-c', `seq 1 ${total}`], env: {} });
    // nothing acknowledged: the agent stops reading before its queue (100,000) would overflow
    await until(() => agentLog(agent).some((l) => l.msg === 'step output paused until its lines are stored'));
    expect(conn.of('stepExited', 's-flood')).toEqual([]);
    const exited = await until(() => {
      const seen = conn.lines('s-flood');
      if (seen.length > 0) conn.send({ type: 'ackLogs', stepId: 's-flood', seq: seen[seen.length - 1].seq });
      return conn.of('stepExited', 's-flood')[0];
    });
    expect(exited).toMatchObject({ exitCode: 0, lastSeq: total, lostLines: 0 });
    const texts = conn.lines('s-flood').map((l) => l.text);
    expect(texts).toEqual(Array.from({ length: total }, (_, i) => String(i + 1)));
  });

  it('parses progress directives and logs malformed ones', async () => {
    const { conn } = await startAgent();
    await runToExit(conn, 's-p1', ['sh', '-c', 'echo "::progress 1.7"; echo "::progress nope"; echo "::progress 42%"']);
    await runToExit(conn, 's-p2', ['sh', '-c', 'echo "::progress 250%"']);
    await runToExit(conn, 's-p3', ['sh', '-c', 'echo "::progress -0.3"']);
    expect(conn.of('progress', 's-p1').at(-1)?.value).toBe(0.42);
    expect(conn.lines('s-p1').map((l) => l.text)).toEqual(['::progress nope']);
    expect(conn.of('progress', 's-p2').at(-1)?.value).toBe(1);
    expect(conn.of('progress', 's-p3').at(-1)?.value).toBe(0);
    expect(conn.lines('s-p2')).toEqual([]);
  });

  it('gives the step its directory and environment, without the agent token', async () => {
    const { conn, agent } = await startAgent();
    await runToExit(conn, 's-env', ['sh', '-c', 'pwd; echo "$CLUSTER_STEP_ID $CLUSTER_INSTANCE_ID $EXTRA ${AGENT_TOKEN:-no-token}"'], {
      EXTRA: 'extra-value',
    });
    expect(conn.lines('s-env').map((l) => l.text)).toEqual([
      path.join(agent.workdir, 'node', 'steps', 's-env'),
      `s-env ${agent.instanceId} extra-value no-token`,
    ]);
  });

  it('reports exit codes and signals of failing commands', async () => {
    const { conn } = await startAgent();
    expect(await runToExit(conn, 's-fail', ['sh', '-c', 'echo failing >&2; exit 3'])).toMatchObject({
      exitCode: 3,
      signal: null,
      lastSeq: 1,
    });
    expect(await runToExit(conn, 's-sig', ['sh', '-c', 'kill -KILL $$'])).toMatchObject({
      exitCode: null,
      signal: 'SIGKILL',
      lastSeq: 0,
    });
  });

  it('reports a command that cannot be started as exit 127 with a SYSTEM line', async () => {
    const { conn } = await startAgent();
    const exited = await runToExit(conn, 's-enoent', ['no-such-command-for-agent-tests', 'x']);
    expect(exited).toMatchObject({ exitCode: 127, signal: null, lastSeq: 1 });
    const [line] = conn.lines('s-enoent');
    expect(line.stream).toBe('SYSTEM');
    expect(line.text).toContain('ENOENT');
    expect(conn.of('stepStarted', 's-enoent')).toHaveLength(0);
    // The agent is still serving.
    expect(await runToExit(conn, 's-after', ['true'])).toMatchObject({ exitCode: 0 });
  });

  it('runs {{node}}, {{python}} and {{engine}}/… as its own node, python and engine files, and refuses an engine path that leaves the directory', async () => {
    const { conn } = await startAgent();
    const exited = await runToExit(conn, 's-own', [
      '{{node}}',
      '-e',
      'console.log(process.execPath); console.log(process.argv[1]); console.log(require("fs").existsSync(process.argv[1]))',
      '{{engine}}/agent/step-args.js',
    ]);
    expect(exited).toMatchObject({ exitCode: 0 });
    expect(conn.lines('s-own').map((l) => l.text)).toEqual([process.execPath, path.resolve('src/engine/agent/step-args.js'), 'true']);
    // a node told no python (no welcome config here) runs python3 from PATH
    expect(await runToExit(conn, 's-python', ['{{python}}', '-c', 'print("python here")'])).toMatchObject({ exitCode: 0 });
    expect(conn.lines('s-python').map((l) => l.text)).toEqual(['python here']);
    for (const [i, hostile] of ['{{engine}}/../../package.json', '{{engine}}/', '{{engine}}/agent/../../../etc/passwd'].entries()) {
      const refused = await runToExit(conn, `s-escape-${i}`, ['{{node}}', hostile]);
      expect(refused).toMatchObject({ exitCode: 127, signal: null });
      expect(conn.lines(`s-escape-${i}`)).toEqual([
        expect.objectContaining({ stream: 'SYSTEM', text: expect.stringContaining('is not a file inside the engine directory') }),
      ]);
      expect(conn.of('stepStarted', `s-escape-${i}`)).toHaveLength(0);
    }
  });

  it('refuses objects to fetch outside the step directory or not s3://, and fails a fetch without a credential, starting nothing', async () => {
    const { conn } = await startAgent();
    const cases: Array<[unknown, string]> = [
      [[{ uri: 's3://b/k.sh', path: '../k.sh' }], "must stay inside the step's directory"],
      [[{ uri: 's3://b/k.sh', path: '/etc/cron.d/k' }], "must stay inside the step's directory"],
      [[{ uri: 's3://b/k.sh', path: 'a/./b' }], "must stay inside the step's directory"],
      [[{ uri: 's3://b/k.sh', path: '' }], 'must be a non-empty relative path'],
      [[{ uri: 'file:///etc/passwd', path: 'p' }], 'is not an s3://bucket/key URI of an object'],
      [[{ uri: 's3://b/prefix/', path: 'p' }], 'is not an s3://bucket/key URI of an object'],
      [{ uri: 's3://b/k.sh', path: 'k.sh' }, 'expected an array'],
    ];
    for (const [i, [fetch, message]] of cases.entries()) {
      conn.send(JSON.stringify({ type: 'runStep', stepId: `s-fetch-${i}`, args: ['touch', 'ran'], env: {}, fetch }));
      const exited = await until(() => conn.of('stepExited', `s-fetch-${i}`)[0]);
      expect(exited, JSON.stringify(fetch)).toMatchObject({ exitCode: 127 });
      const [line] = conn.lines(`s-fetch-${i}`);
      expect(line).toMatchObject({ stream: 'SYSTEM', text: expect.stringContaining('invalid fetch') });
      expect(line.text).toContain(message);
      expect(conn.of('stepStarted', `s-fetch-${i}`)).toHaveLength(0);
    }
    // well-formed, but this node was given no S3 credential (no node configuration at all)
    conn.send({ type: 'runStep', stepId: 's-nocred', args: ['touch', 'ran'], env: {}, fetch: [{ uri: 's3://b/k.sh', path: 'k.sh' }] });
    expect(await until(() => conn.of('stepExited', 's-nocred')[0])).toMatchObject({ exitCode: 127 });
    expect(conn.lines('s-nocred')[0]).toMatchObject({
      stream: 'SYSTEM',
      text: 'cannot fetch s3://b/k.sh: the node has no S3 credential to fetch it with',
    });
  });

  it('fails a fetch whose body breaks off short of its Content-Length, and ends a step cancelled while its fetch hangs', async () => {
    // an endpoint that answers GetObject badly: 10 of 100 promised bytes, or nothing at all
    const hanging: http.ServerResponse[] = [];
    const endpoint = http.createServer((req, res) => {
      if (req.url!.endsWith('/short.sh')) {
        res.writeHead(200, { 'content-length': '100' });
        res.end('echo hi\n#\n');
        res.socket?.destroy();
      } else hanging.push(res);
    });
    endpoint.listen(0, '127.0.0.1');
    await once(endpoint, 'listening');
    try {
      const node: NodeConfig = {
        role: 'MASTER',
        applications: [],
        vcpu: 1,
        memoryMb: 512,
        python: null,
        bootstrapActions: [],
        spark: null,
        metricsMs: 60_000,
        s3: {
          endpoint: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`,
          region: 'us-east-1',
          accessKeyId: 'EMWX',
          secretAccessKey: 'y',
        },
      };
      const cp = await ControlPlane.start({ node });
      await launchAgent([cp.url]);
      const conn = await until(() => cp.conn(0)?.of('ready')[0] && cp.conn(0));
      conn.send({ type: 'runStep', stepId: 's-short', args: ['true'], env: {}, fetch: [{ uri: 's3://b/short.sh', path: 'short.sh' }] });
      expect(await until(() => conn.of('stepExited', 's-short')[0])).toMatchObject({ exitCode: 127 });
      expect(conn.lines('s-short')[0]).toMatchObject({
        stream: 'SYSTEM',
        text: expect.stringMatching(/^cannot fetch s3:\/\/b\/short\.sh: .*(broke off|received) .*of 100 bytes/),
      });
      expect(conn.of('stepStarted', 's-short')).toHaveLength(0);

      conn.send({ type: 'runStep', stepId: 's-hang', args: ['true'], env: {}, fetch: [{ uri: 's3://b/hang.sh', path: 'hang.sh' }] });
      await until(() => hanging.length === 1);
      conn.send({ type: 'cancelStep', stepId: 's-hang', graceMs: 1000 });
      expect(await until(() => conn.of('stepExited', 's-hang')[0])).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
      expect(conn.of('stepStarted', 's-hang')).toHaveLength(0);
      // the fetch answering after all starts nothing
      hanging[0]!.writeHead(200, { 'content-length': '3' }).end('ok\n');
      expect(await runToExit(conn, 's-after-hang', ['true'])).toMatchObject({ exitCode: 0 });
      expect(conn.of('stepStarted', 's-hang')).toHaveLength(0);
    } finally {
      for (const res of hanging) res.destroy();
      endpoint.close();
    }
  });

  it('starts a step only once per stepId', async () => {
    const { conn } = await startAgent();
    const run: ControlMessage = { type: 'runStep', stepId: 's-once', args: ['sh', '-c', 'echo once'], env: {} };
    conn.send(run);
    conn.send(run);
    await until(() => conn.of('stepExited', 's-once')[0]);
    conn.send(run);
    // Messages are handled in order, so once this later step has exited the repeat was seen too.
    await runToExit(conn, 's-barrier', ['true']);
    expect(conn.of('stepStarted', 's-once')).toHaveLength(1);
    expect(conn.of('stepExited', 's-once')).toHaveLength(1);
    expect(conn.lines('s-once').map((l) => l.text)).toEqual(['once']);
  });

  it('cuts long lines at 16 KiB with a marker and drops the rest of the line', async () => {
    const { conn } = await startAgent();
    const script = [
      "head -c 20000 /dev/zero | tr '\\0' x; echo",
      "head -c 16384 /dev/zero | tr '\\0' y; echo",
      'echo after',
      // 1 + 2*9000 bytes: the 16 KiB cut falls inside a two-byte character.
      'printf x; i=0; while [ $i -lt 9000 ]; do printf "\\303\\251"; i=$((i+1)); done; echo',
      "head -c 20000 /dev/zero | tr '\\0' z",
    ].join('\n');
    const exited = await runToExit(conn, 's-long', ['sh', '-c', script]);
    const texts = conn.lines('s-long').map((l) => l.text);
    expect(texts).toEqual([
      `${'x'.repeat(16384)} …[truncated 3616 bytes]`,
      'y'.repeat(16384),
      'after',
      `x${'é'.repeat(8191)} …[truncated 1618 bytes]`,
      `${'z'.repeat(16384)} …[truncated 3616 bytes]`,
    ]);
    expect(exited.lastSeq).toBe(5);
  });

  it('turns binary output into valid strings', async () => {
    const { conn } = await startAgent();
    const exited = await runToExit(conn, 's-bin', [
      'sh',
      '-c',
      "head -c 3000 /dev/urandom; echo; printf 'bad \\377\\376 nul \\000 bell \\007 tab\\tend\\r\\n'; echo done",
    ]);
    expect(exited.exitCode).toBe(0);
    const lines = conn.lines('s-bin');
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    for (const l of lines) {
      expect(typeof l.text).toBe('string');
      // eslint-disable-next-line no-control-regex
      expect(l.text).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
      // Lone surrogates would not survive a UTF-8 round trip.
      expect(Buffer.from(l.text, 'utf8').toString('utf8')).toBe(l.text);
    }
    expect(lines.at(-2)?.text).toBe('bad \uFFFD\uFFFD nul \uFFFD bell \uFFFD tab\tend');
    expect(lines.at(-1)?.text).toBe('done');
  });

  it('sends large output in batches of at most 500 lines', async () => {
    const { conn } = await startAgent();
    const exited = await runToExit(conn, 's-many', ['seq', '1', '2000']);
    expect(exited.lastSeq).toBe(2000);
    const lines = conn.lines('s-many');
    expect(lines.map((l) => l.text)).toEqual(Array.from({ length: 2000 }, (_, i) => String(i + 1)));
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    for (const m of conn.of('log', 's-many')) expect(m.lines.length).toBeLessThanOrEqual(500);
  });

  it('ends a step when its main process exits, stopping what it left running', async () => {
    const { conn, agent } = await startAgent();
    // the background sleep inherits stdout: without the straggler rule the exit would never be reported
    conn.send({ type: 'runStep', stepId: 's-bg', args: ['sh', '-c', 'sleep 300 & echo $! > bg.pid; echo bye'], env: {} });
    const exited = await until(() => conn.of('stepExited', 's-bg')[0]);
    expect(exited).toMatchObject({ exitCode: 0, signal: null });
    expect(conn.lines('s-bg').map((l) => l.text)).toEqual(['bye']);
    const started = conn.of('stepStarted', 's-bg')[0]!;
    const bgPid = Number(readFileSync(path.join(agent.workdir, 'node', 'steps', 's-bg', 'bg.pid'), 'utf8'));
    expect(bgPid).toBeGreaterThan(0);
    await until(() => !isPidAlive(bgPid) && !isPidAlive(started.pid));
  });

  it('cancelStep terminates the whole process tree', async () => {
    const { conn } = await startAgent();
    conn.send({ type: 'runStep', stepId: 's-cancel', args: sleepTree, env: {} });
    const tree = await runningTree(conn, 's-cancel');
    conn.send({ type: 'cancelStep', stepId: 's-cancel', graceMs: 30_000 });
    const exited = await until(() => conn.of('stepExited', 's-cancel')[0]);
    expect(exited).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    await until(() => tree.every((p) => !isPidAlive(p)));
  });

  it('cancelStep kills a tree that ignores SIGTERM after the grace period', async () => {
    const { conn } = await startAgent();
    conn.send({
      type: 'runStep',
      stepId: 's-stubborn',
      args: ['sh', '-c', 'trap "" TERM; sleep 100 & sleep 100 & wait'],
      env: {},
    });
    const tree = await runningTree(conn, 's-stubborn');
    conn.send({ type: 'cancelStep', stepId: 's-stubborn', graceMs: 200 });
    const exited = await until(() => conn.of('stepExited', 's-stubborn')[0]);
    expect(exited).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    await until(() => tree.every((p) => !isPidAlive(p)));
  });

  it('resends unacknowledged lines and exits after a reconnect', async () => {
    const { cp, agent, conn } = await startAgent();
    const stepDir = path.join(agent.workdir, 'node', 'steps', 's-resend');
    conn.send({
      type: 'runStep',
      stepId: 's-resend',
      args: ['sh', '-c', 'i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo line$i; done; while [ ! -e go ]; do sleep 0.02; done; echo after'],
      env: {},
    });
    const started = await until(() => conn.of('stepStarted', 's-resend')[0]);
    await until(() => conn.lines('s-resend').length >= 20);
    conn.ws.terminate();

    const conn1 = await until(() => cp.conn(1));
    const hello1 = await until(() => conn1.of('hello')[0]);
    expect(hello1.steps).toEqual([{ stepId: 's-resend', pid: started.pid, state: 'running', lastSeq: 20 }]);
    await until(() => conn1.lines('s-resend').length >= 20);
    expect(conn1.lines('s-resend').map((l) => l.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    writeFileSync(path.join(stepDir, 'go'), '');
    const exited = await until(() => conn1.of('stepExited', 's-resend')[0]);
    expect(exited).toMatchObject({ exitCode: 0, lastSeq: 21 });
    expect(cp.union('s-resend').map((l) => [l.seq, l.text])).toEqual([
      ...Array.from({ length: 20 }, (_, i) => [i + 1, `line${i + 1}`]),
      [21, 'after'],
    ]);

    // Exited but not acknowledged: listed in hello, lines first, then the exit again.
    conn1.ws.close();
    const conn2 = await until(() => cp.conn(2));
    const hello2 = await until(() => conn2.of('hello')[0]);
    expect(hello2.steps).toEqual([{ stepId: 's-resend', pid: started.pid, state: 'exited', lastSeq: 21, exitCode: 0, signal: null }]);
    await until(() => conn2.of('stepExited', 's-resend')[0]);
    expect(conn2.lines('s-resend').map((l) => l.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const types = conn2.messages.filter((m) => m.type === 'log' || m.type === 'stepExited').map((m) => m.type);
    expect(types.at(-1)).toBe('stepExited');
    expect(types.filter((t) => t === 'stepExited')).toHaveLength(1);
  });

  it('sends nothing twice to a control plane that acknowledges', async () => {
    const { cp, agent, conn } = await startAgent({ ackLogs: true, ackExit: true });
    const stepDir = path.join(agent.workdir, 'node', 'steps', 's-acked');
    conn.send({
      type: 'runStep',
      stepId: 's-acked',
      args: ['sh', '-c', 'i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo line$i; done; while [ ! -e go ]; do sleep 0.02; done; echo after'],
      env: {},
    });
    await until(() => conn.lines('s-acked').length >= 20);
    // A clean close delivers the acks sent before it.
    conn.ws.close();
    const conn1 = await until(() => cp.conn(1));
    const hello1 = await until(() => conn1.of('hello')[0]);
    expect(hello1.steps).toMatchObject([{ stepId: 's-acked', state: 'running', lastSeq: 20 }]);
    await until(() => conn1.of('ready')[0]);

    writeFileSync(path.join(stepDir, 'go'), '');
    await until(() => conn1.of('stepExited', 's-acked')[0]);
    expect(conn1.lines('s-acked').map((l) => [l.seq, l.text])).toEqual([[21, 'after']]);
    const seqs = cp.conns.flatMap((c) => c.lines('s-acked').map((l) => l.seq));
    expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));

    conn1.ws.close();
    const hello2 = await until(() => cp.conn(2)?.of('hello')[0]);
    expect(hello2.steps).toEqual([]);
  });

  it('parses large, fragmented server messages with pings in between', async () => {
    const { conn } = await startAgent();
    const big = 'b'.repeat(70_000);
    const mid = 'm'.repeat(1_000);
    const json = JSON.stringify({
      type: 'runStep',
      stepId: 's-frames',
      args: ['sh', '-c', 'echo ${#BIG} ${#MID}'],
      env: { BIG: big, MID: mid },
    } satisfies ControlMessage);
    const pongs: number[] = [];
    conn.ws.on('pong', () => pongs.push(1));
    const cut1 = 100;
    const cut2 = 40_000;
    conn.ws.send(json.slice(0, cut1), { fin: false });
    conn.ws.ping();
    conn.ws.send(json.slice(cut1, cut2), { fin: false });
    conn.ws.ping();
    conn.ws.send(json.slice(cut2), { fin: true });
    await until(() => conn.of('stepExited', 's-frames')[0]);
    expect(conn.lines('s-frames').map((l) => l.text)).toEqual(['70000 1000']);
    await until(() => pongs.length >= 2);
  });

  it('shutdown stops the steps, reports them and exits 0', async () => {
    const { conn, agent } = await startAgent();
    conn.send({ type: 'runStep', stepId: 's-shut', args: sleepTree, env: {} });
    const tree = await runningTree(conn, 's-shut');
    conn.send({ type: 'shutdown', graceMs: 30_000 });
    await until(() => !isPidAlive(agent.pid));
    await until(() => tree.every((p) => !isPidAlive(p)));
    expect(conn.of('stepExited', 's-shut')[0]).toMatchObject({ signal: 'SIGTERM' });
    expect(agentLog(agent).find((l) => l.msg === 'exiting')).toMatchObject({ code: 0 });
  });

  it('exits with 3 and kills its steps when orphaned', async () => {
    const orphaning = new LocalDriver({ dataDir, heartbeatMs: 100, orphanSeconds: 1 });
    const cp = await ControlPlane.start();
    const agent = await launchAgent([cp.url], orphaning);
    const conn = await until(() => cp.conn(0));
    await until(() => conn.of('ready')[0]);
    conn.send({ type: 'runStep', stepId: 's-orphan', args: sleepTree, env: {} });
    const tree = await runningTree(conn, 's-orphan');
    await cp.close();
    servers.splice(servers.indexOf(cp), 1);
    await until(() => !isPidAlive(agent.pid));
    await until(() => tree.every((p) => !isPidAlive(p)));
    expect(agentLog(agent).find((l) => l.msg === 'exiting')).toMatchObject({ code: 3 });
  });

  it('driver.stop stops the agent gracefully and leaves nothing behind', async () => {
    const { conn, agent } = await startAgent();
    conn.send({ type: 'runStep', stepId: 's-stop', args: sleepTree, env: {} });
    const tree = await runningTree(conn, 's-stop');
    await driver.stop(agent, 30_000);
    expect([agent.pid, ...tree].filter(isPidAlive)).toEqual([]);
    expect(driver.isAlive(agent)).toBe(false);
    expect(agentLog(agent).find((l) => l.msg === 'exiting')).toMatchObject({ code: 0 });
  });

  it('driver.stop kills an agent that does not react to SIGTERM, and its steps', async () => {
    const { conn, agent } = await startAgent();
    conn.send({ type: 'runStep', stepId: 's-stuck', args: sleepTree, env: {} });
    const tree = await runningTree(conn, 's-stuck');
    process.kill(agent.pid, 'SIGSTOP');
    await driver.stop(agent, 100);
    expect([agent.pid, ...tree].filter(isPidAlive)).toEqual([]);
    expect(processesWithEnv('AGENT_INSTANCE_ID', agent.instanceId)).toEqual([]);
  });
});
