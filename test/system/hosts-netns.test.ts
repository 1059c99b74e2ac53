// Hosts on separate machines (issue 15, item 6): two machines in network namespaces of their own
// (test/support/netns.ts: own addresses on a bridge, own mount namespace, none of the server's
// files), each running `emberplane host join`, and a COMMAND cluster whose CORE nodes are spread
// over them; a cut link makes a host LOST and its node is replaced on the other machine, and the
// machine, back on the network, stops the node that was replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE, createCluster, MASTER, waitForCluster, waitForClusterState } from '../support/api.js';
import {
  createNetwork,
  cutLink,
  namespacesAvailable,
  processesOn,
  restoreLink,
  type Machine,
  type MachineProcess,
  type Network,
} from '../support/netns.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unavailable = namespacesAvailable();

const CLI = path.join(repoRoot, 'bin/emberplane.js');
const CREATE_HOST_TOKEN = `mutation($input: CreateHostTokenInput) { createHostToken(input: $input) { token } }`;
const HOSTS = `{ hosts(first: 100) { edges { node { id name state address embedded } } } }`;
const INSTANCES = `query($id: ID!) { cluster(id: $id) { id state instances { id role state pid placedOn { name } } } }`;

interface Host {
  id: string;
  name: string;
  state: string;
  address: string;
}
interface Instance {
  id: string;
  role: string;
  state: string;
  pid: number | null;
  placedOn: { name: string } | null;
}

/** The machine whose namespace holds the node agent of `instance` (null: none of them, e.g. the server's own host). */
async function machineOf(instance: Instance, machines: Machine[]): Promise<Machine | null> {
  for (const machine of machines) if (instance.pid !== null && (await processesOn(machine)).has(instance.pid)) return machine;
  return null;
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
    // on the bridge address: its public, agent and S3 URLs are the ones the machines reach;
    // nodes on other hosts read and write s3:// over the S3 endpoint, not the server's disk
    server = await startTestServer({ host: network.address, objectPathMapping: false, hostLostAfterSeconds: 4 });
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
            // room for two m5.large nodes, whatever this machine has
            '--vcpu',
            '4',
            '--memory-mb',
            '16384',
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

  it('spreads a CORE group pinned by label over both machines, and replaces the node of a host whose link is cut on the other', async () => {
    const id = await createCluster(server, {
      name: 'spread',
      instanceGroups: [
        MASTER,
        {
          ...CORE(2),
          hostLabels: { pool: 'remote' },
        },
      ],
    });
    await waitForClusterState(server, id, ['WAITING'], { timeoutMs: 60_000 });
    const placed: Instance[] = (await server.data(INSTANCES, { id })).cluster.instances.filter((i: Instance) => i.role === 'CORE');
    expect(placed.map((i) => i.state)).toEqual(['RUNNING', 'RUNNING']);
    // the API's placement, and where each agent really runs (its pid in that machine's namespace)
    expect(placed.map((i) => i.placedOn?.name).sort()).toEqual(['host-a', 'host-b']);
    const where = await Promise.all(placed.map((i) => machineOf(i, machines)));
    expect(where.map((m) => m?.name)).toEqual(placed.map((i) => i.placedOn?.name.slice('host-'.length)));

    const [a, b] = machines as [Machine, Machine];
    const lostNode = placed[where.indexOf(a)]!;
    await cutLink(a);
    try {
      await waitForHost(a, 'LOST', 60_000);
      const replaced = await waitForCluster(
        server,
        id,
        (c) => c.instances.filter((i: Instance) => i.role === 'CORE' && i.state === 'RUNNING' && i.id !== lostNode.id).length === 2,
        'a new CORE node in place of the lost one',
        { query: INSTANCES, timeoutMs: 60_000 },
      );
      const running: Instance[] = replaced.instances.filter((i: Instance) => i.role === 'CORE' && i.state === 'RUNNING');
      for (const node of running) {
        expect(node.placedOn?.name, node.id).toBe('host-b');
        expect((await machineOf(node, machines))?.name, node.id).toBe(b.name);
      }
      expect(replaced.instances.find((i: Instance) => i.id === lostNode.id).state).not.toBe('RUNNING');
      expect(replaced.state).toBe('WAITING');
    } finally {
      await restoreLink(a);
    }
    // back on the network, the host is READY again and told to stop the node that was replaced
    await waitForHost(a, 'READY');
    await waitUntil(
      async () => !(await processesOn(a)).has(lostNode.pid!) && !isAlive(lostNode.pid!),
      'the replaced node agent on machine a to stop',
    );
    expect(daemons.get('a')!.proc.exitCode).toBeNull();
  });
});
