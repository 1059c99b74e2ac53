// Function instances on separate machines (issue 15): three machines in network namespaces of their
// own (test/support/netns.ts: own addresses on a bridge, own mount namespace and /tmp, none of the
// server's files), each running `emberplane host join`; the server is a pure control plane
// (EMBEDDED_HOST=off). A function that answers with its machine's address is invoked 1,000 times,
// 12 at a time: every answer is right and every machine took some. Mid-way one machine's link is
// cut: once it is LOST, the rest of the invocations all succeed on the other two. Instances reach
// the S3 endpoint they are given (the server's address on the network).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, INVOKE } from '../support/functions.js';
import {
  createNetwork,
  cutLink,
  namespacesAvailable,
  restoreLink,
  type Machine,
  type MachineProcess,
  type Network,
} from '../support/netns.js';
import { hostJoinArgv, repoRoot, waitForHostNamed } from '../support/hosts.js';
import { startTestServer, type TestServer } from '../support/server.js';

const unavailable = namespacesAvailable();
const CREATE_HOST_TOKEN = `mutation { createHostToken(input: { expiresInSeconds: 600, singleUse: false }) { token } }`;
const HOSTS = `{ hosts(first: 100) { edges { node { name state connected functionInstances { instanceId } } } } }`;
const TOTAL = 1_000;
const CUT_AFTER = 600;
const PARALLEL = 12;

// the instance shares its machine's network: its first IPv4 address names the machine
const WHERE = {
  runtime: 'NODEJS20',
  handler: 'index.handler',
  memoryMb: 128,
  code: {
    files: [
      {
        path: 'index.js',
        content: `const os = require('node:os');
const address = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? null;
// the S3 endpoint the instance was given, reached once per instance (an anonymous request: any HTTP answer will do)
let s3 = null;
exports.handler = async (event) => {
  s3 ??= await fetch(process.env.AWS_ENDPOINT_URL_S3).then((r) => r.status, (e) => String(e.cause ?? e));
  return { address, double: event.n * 2, s3, endpoint: process.env.AWS_ENDPOINT_URL_S3 };
};`,
      },
    ],
  },
};

interface HostView {
  name: string;
  state: string;
  connected: boolean;
  functionInstances: Array<{ instanceId: string }>;
}

describe.skipIf(unavailable !== null)(`functions on separate machines${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let network: Network;
  let server: TestServer;
  let machines: Machine[];
  const daemons: MachineProcess[] = [];

  const waitForHost = (machine: Machine, pred: (h: HostView) => boolean, what: string) =>
    waitForHostNamed(server, HOSTS, `fn-${machine.name}`, pred, what, 60_000);

  beforeAll(async () => {
    network = await createNetwork();
    // a pure control plane on the bridge address: every instance runs on a machine
    server = await startTestServer({ host: network.address, embeddedHost: false, hostLostAfterSeconds: 4 });
    machines = await Promise.all(['a', 'b', 'c'].map((name) => network.machine(name)));
    const { token } = (await server.data(CREATE_HOST_TOKEN)).createHostToken;
    for (const machine of machines) {
      daemons.push(
        machine.spawn(
          hostJoinArgv({ server: server.url, token, dataDir: machine.dataDir, name: `fn-${machine.name}` }, [
            '--address',
            machine.address,
            '--memory-mb',
            '2048',
          ]),
          { cwd: repoRoot, env: { LOG_LEVEL: 'warn', FUNCTION_SPARE_SANDBOXES: '0' } },
        ),
      );
    }
    for (const machine of machines) await waitForHost(machine, (h) => h.state === 'READY' && h.connected, 'READY');
    await deploy(server, { name: 'where', ...WHERE });
  });

  afterAll(async () => {
    try {
      await network?.close(); // every daemon and instance on the machines with it
    } finally {
      await server?.close();
    }
  });

  /** Invokes `where` for n in [from, to), PARALLEL at a time; the address each answer came from, by n. */
  async function invokeRange(from: number, to: number): Promise<Map<number, string>> {
    const answers = new Map<number, string>();
    let next = from;
    const worker = async () => {
      while (next < to) {
        const n = next++;
        const res = await server.gql(INVOKE, { input: { functionName: 'where', payload: { n } } });
        expect(res.errors, `invocation ${n}`).toBeUndefined();
        const out = res.data!.invokeFunction;
        expect(out.functionError, `invocation ${n}: ${JSON.stringify(out.payload)}`).toBeNull();
        expect(out.payload.double).toBe(n * 2);
        // the server's address on the network, not loopback, and it answers there
        expect(out.payload.endpoint).toBe(server.url);
        expect(out.payload.s3).toBe(403);
        answers.set(n, out.payload.address);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return answers;
  }

  const countBy = (answers: Map<number, string>) => {
    const counts = new Map<string, number>();
    for (const address of answers.values()) counts.set(address, (counts.get(address) ?? 0) + 1);
    return counts;
  };

  it('spreads 1,000 invocations over the machines, and after a cut link the rest go to the others', async () => {
    const [a, b, c] = machines as [Machine, Machine, Machine];
    const started = Date.now();
    const before = await invokeRange(0, CUT_AFTER);
    const spread = countBy(before);
    for (const m of machines) expect(spread.get(m.address) ?? 0, `${m.name} took some of ${[...spread]}`).toBeGreaterThan(0);
    expect([...spread.keys()].sort()).toEqual(machines.map((m) => m.address).sort());

    await cutLink(a);
    try {
      await waitForHost(a, (h) => h.state === 'LOST', 'LOST');
      const after = await invokeRange(CUT_AFTER, TOTAL);
      const rest = countBy(after);
      expect(rest.get(a.address) ?? 0).toBe(0);
      expect(rest.get(b.address) ?? 0).toBeGreaterThan(0);
      expect(rest.get(c.address) ?? 0).toBeGreaterThan(0);
      expect(before.size + after.size).toBe(TOTAL);
      console.log(
        `1,000 invocations over 3 machines (${PARALLEL} at a time) in ${Date.now() - started} ms (LOST wait included): before the cut ${JSON.stringify([...spread])}, after ${JSON.stringify([...rest])}`,
      );
    } finally {
      await restoreLink(a);
    }
    // back, the machine is READY and stops the instances of the session that ended
    await waitForHost(a, (h) => h.state === 'READY' && h.connected && h.functionInstances.length === 0, 'READY with no instance');
  });
});
