// Hosts on separate machines (issue 15, item 6): two machines in network namespaces of their own
// (test/support/netns.ts: own addresses on a bridge, own mount namespace, none of the server's
// files), each running `emberplane host join` with one token, are READY hosts at their own
// addresses. What runs on such machines (a SPARK cluster spread over them, a cut link, a drain) is
// test/system/spark-hosts-netns.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetwork, namespacesAvailable, type Machine, type MachineProcess, type Network } from '../support/netns.js';
import { waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unavailable = namespacesAvailable();

const CLI = path.join(repoRoot, 'bin/emberplane.js');
const CREATE_HOST_TOKEN = `mutation($input: CreateHostTokenInput) { createHostToken(input: $input) { token } }`;
const HOSTS = `{ hosts(first: 100) { edges { node { id name state address embedded } } } }`;

interface Host {
  id: string;
  name: string;
  state: string;
  address: string;
}

describe.skipIf(unavailable !== null)(`hosts on separate machines${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let network: Network;
  let server: TestServer;
  let machines: Machine[];
  const daemons = new Map<string, MachineProcess>();

  const hosts = async (): Promise<Host[]> => (await server.data(HOSTS)).hosts.edges.map((e: { node: Host }) => e.node);
  const hostOf = async (machine: Machine) => (await hosts()).find((h) => h.name === `host-${machine.name}`);
  const waitForHost = (machine: Machine, state: string, timeoutMs = 30_000) =>
    waitUntil(
      async () => {
        const host = await hostOf(machine);
        return host?.state === state ? host : null;
      },
      `host-${machine.name} to be ${state}`,
      timeoutMs,
    );

  beforeAll(async () => {
    network = await createNetwork();
    // on the bridge address: its public, agent and S3 URLs are the ones the machines reach
    server = await startTestServer({ host: network.address, objectPathMapping: false });
    machines = await Promise.all([network.machine('a'), network.machine('b')]);
    // one token for both machines: what an operator hands to a fleet
    const { token } = (await server.data(CREATE_HOST_TOKEN, { input: { expiresInSeconds: 600, singleUse: false } })).createHostToken;
    for (const machine of machines) {
      daemons.set(
        machine.name,
        machine.spawn(
          [
            process.execPath,
            CLI,
            'host',
            'join',
            '--server',
            server.url,
            '--token',
            token,
            '--data-dir',
            machine.dataDir,
            '--name',
            `host-${machine.name}`,
            '--label',
            'pool=remote',
            '--label',
            `zone=${machine.name}`,
            '--address',
            machine.address,
          ],
          { cwd: repoRoot, env: { LOG_LEVEL: 'warn' } },
        ),
      );
    }
    for (const machine of machines) await waitForHost(machine, 'READY');
  });

  afterAll(async () => {
    try {
      await network?.close(); // every daemon and node agent on the machines with it
    } finally {
      await server?.close();
    }
  });

  it('lists each joined machine as a READY host at its own address', async () => {
    const listed = await hosts();
    for (const machine of machines) {
      expect(
        listed.find((h) => h.name === `host-${machine.name}`),
        daemons.get(machine.name)!.output(),
      ).toMatchObject({
        state: 'READY',
        address: machine.address,
      });
    }
  });
});
