// The harness for tests of hosts on separate machines (test/support/netns.ts), proven with what the
// server already has: a machine reaches the server only over the bridge, through the S3 endpoint,
// with none of the server's files and a loopback of its own; a cut link is a partition; nothing is
// left behind, not even by a test process killed half-way.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNetwork,
  cutLink,
  namespacesAvailable,
  restoreLink,
  sweepLeftoverNetworks,
  type Machine,
  type Network,
} from '../support/netns.js';
import { isAlive, run, waitUntil } from '../support/processes.js';
import { awsEnv, createS3Key, sdkClient, type S3Key } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unavailable = namespacesAvailable();

/** Network names and namespaces as the system lists them (every link, not only ours). */
async function linksAndNamespaces(): Promise<string[]> {
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show'], { PATH: process.env.PATH })).stdout) as { ifname: string }[];
  const namespaces = JSON.parse((await run('ip', ['-j', 'netns', 'list'], { PATH: process.env.PATH })).stdout || '[]') as {
    name: string;
  }[];
  return [...links.map((l) => l.ifname), ...namespaces.map((n) => n.name)];
}

describe.skipIf(unavailable !== null)(`machines in network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let network: Network;
  let server: TestServer;
  let a: Machine;
  let b: Machine;
  let key: S3Key;
  /** answers on the test's own 127.0.0.1 at the server's port (the server itself listens on the bridge only) */
  let testLoopback: http.Server;

  /** the aws CLI on a machine, against the server's S3 endpoint on the bridge; one attempt, 2 s to connect */
  const awsOn = (machine: Machine, args: string[]) =>
    machine.run(['aws', '--endpoint-url', server.url, '--cli-connect-timeout', '2', '--cli-read-timeout', '5', ...args], {
      env: awsEnv(key, { AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard' }),
    });

  beforeAll(async () => {
    network = await createNetwork();
    testLoopback = http.createServer((_req, res) => res.end('the test loopback'));
    await new Promise<void>((resolve) => testLoopback.listen(0, '127.0.0.1', resolve));
    // the same port on the bridge address: free, as nothing but this file listens there
    const port = (testLoopback.address() as AddressInfo).port;
    server = await startTestServer({ host: network.address, port, objectPathMapping: false });
    [a, b] = await Promise.all([network.machine('a'), network.machine('b')]);
    key = await createS3Key(server, 'netns');
    const made = await awsOn(a, ['s3api', 'create-bucket', '--bucket', 'netns']);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
  });

  afterAll(async () => {
    const name = network?.name;
    try {
      await network?.close();
    } finally {
      await server?.close();
      testLoopback?.close();
    }
    if (name) expect((await linksAndNamespaces()).filter((n) => n.startsWith(name))).toEqual([]);
  });

  it('gives the server the bridge address and each machine its own, in one private /24', async () => {
    expect(network.name).toMatch(/^ep[0-9a-f]{6}$/);
    expect(network.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    const prefix = network.subnet.replace(/\.0\/24$/, '');
    expect(network.address).toBe(`${prefix}.1`);
    expect(server.url).toBe(`http://${network.address}:${server.app.port}`);
    expect([a.address, b.address].sort()).toEqual([`${prefix}.2`, `${prefix}.3`]);
    const inside = await a.run(['ip', '-j', '-4', 'addr', 'show', 'eth0']);
    expect(JSON.parse(inside.stdout)[0].addr_info[0].local).toBe(a.address);
    const route = await a.run(['ip', '-j', 'route', 'show', 'default']);
    expect(JSON.parse(route.stdout)[0].gateway).toBe(network.address);
    expect((await a.run(['hostname'])).stdout.trim()).toBe(a.namespace);
    expect((await b.run(['hostname'])).stdout.trim()).toBe(b.namespace);
  });

  it('lets a machine put an object through the S3 endpoint on the bridge and another get the same bytes', async () => {
    const bytes = crypto.randomBytes(256 * 1024 + 7);
    await fs.writeFile(a.pathOf('/tmp/payload'), bytes);
    const put = await awsOn(a, ['s3', 'cp', '/tmp/payload', 's3://netns/from-a']);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    // machine b has no such file: machines share nothing but the network
    const peek = await b.run(['cat', '/tmp/payload']);
    expect(peek.code).not.toBe(0);
    expect(peek.stderr).toMatch(/No such file/);
    const got = await awsOn(b, ['s3', 'cp', 's3://netns/from-a', '/tmp/got']);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(Buffer.compare(await fs.readFile(b.pathOf('/tmp/got')), bytes)).toBe(0);
    // and the server holds those bytes (read by the test, outside every machine)
    const stored = await sdkClient(server, key).send(new GetObjectCommand({ Bucket: 'netns', Key: 'from-a' }));
    expect(Buffer.compare(Buffer.from(await stored.Body!.transformToByteArray()), bytes)).toBe(0);
  });

  it("hides the server's files from a machine, which has its own dirs and a read-only repository", async () => {
    const known = path.join(server.dataDir, 'only-on-the-server');
    await fs.writeFile(known, 'server side');
    expect((await run('cat', [known], { PATH: process.env.PATH })).stdout).toBe('server side');
    const read = await a.run(['cat', known]);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toMatch(/No such file/);
    // its /tmp is its own: the machine's dirs, not the test run's dir (which holds the server's data dir)
    const tmp = (await a.run(['ls', '-A', '/tmp'])).stdout.split('\n');
    expect(tmp).toEqual(expect.arrayContaining(['emberplane-host', 'home']));
    expect(server.dataDir.startsWith('/tmp/')).toBe(true);
    expect(tmp).not.toContain(server.dataDir.split('/')[2]);
    expect((await a.run(['test', '-d', a.dataDir])).code).toBe(0);
    // the same package as the server's, visible and not writable
    expect((await a.run(['test', '-f', path.join(repoRoot, 'src/main.ts')])).code).toBe(0);
    const write = await a.run(['sh', '-c', `echo x > ${path.join(repoRoot, 'netns-write-probe')}`]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    await expect(fs.access(path.join(repoRoot, 'netns-write-probe'))).rejects.toThrow();
  });

  it("gives a machine a loopback of its own: the test's 127.0.0.1 is out of reach", async () => {
    const local = `http://127.0.0.1:${server.app.port}/`;
    const curl = ['curl', '-sS', '--max-time', '5', local];
    expect((await run(curl[0]!, curl.slice(1), { PATH: process.env.PATH })).stdout).toBe('the test loopback');
    const refused = await a.run(curl);
    expect(refused.code).toBe(7); // curl: failed to connect
    // the server, on the bridge address, is reachable from the machine
    expect((await a.run(['curl', '-sS', '--max-time', '5', `${server.url}/healthz`])).stdout).toContain('"ok"');

    const listener = a.spawn([
      process.execPath,
      '-e',
      `require('http').createServer((q, s) => s.end('machine a')).listen(${server.app.port}, '127.0.0.1', () => console.log('listening'))`,
    ]);
    try {
      await waitUntil(() => listener.output().includes('listening'), 'the listener on machine a', 20_000);
      expect((await a.run(curl)).stdout).toBe('machine a');
      expect((await b.run(curl)).code).toBe(7);
      expect((await run(curl[0]!, curl.slice(1), { PATH: process.env.PATH })).stdout).toBe('the test loopback');
    } finally {
      await listener.stop();
    }
    expect(isAlive(listener.pid)).toBe(false);
  });

  it('cuts a link as a partition: requests from that machine fail by their own timeout, then work again', async () => {
    const head = ['s3api', 'head-object', '--bucket', 'netns', '--key', 'from-a'];
    expect((await awsOn(a, head)).code).toBe(0);
    await cutLink(a);
    try {
      const cut = await awsOn(a, head);
      expect(cut.code).not.toBe(0);
      expect(cut.stderr).toMatch(/Connect timeout|Could not connect/);
      // only that machine is cut off
      const other = await awsOn(b, head);
      expect(other.stderr).toBe('');
      expect(other.code).toBe(0);
    } finally {
      await restoreLink(a);
    }
    // the link back up, the machine's next connection goes through (its neighbour entry may still be
    // failed from the cut: a request may need to be retried once the kernel probes it again)
    const back = await waitUntil(async () => {
      const r = await awsOn(a, head);
      return r.code === 0 ? r : null;
    }, 'a request from the machine to work again');
    expect(back.stderr).toBe('');
  });

  it('removes every namespace, link and process on close, and what a killed test process left on the next sweep', async () => {
    // a network made by a process that is then killed with SIGKILL: no afterAll ran for it
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const m = await import('./test/support/netns.ts');
         const net = await m.createNetwork();
         const x = await net.machine('x');
         const daemon = x.spawn(['sleep', 'infinity']);
         console.log(JSON.stringify({ name: net.name, holder: x.holderPid, daemon: daemon.pid }));`,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d.toString()));
    const left = await waitUntil(() => {
      if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}): ${out}`);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { name: string; holder: number; daemon: number }) : null;
    }, 'the child to make its network');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await linksAndNamespaces()).filter((n) => n.startsWith(left.name)).sort()).toEqual([
      left.name,
      `${left.name}-x`,
      `${left.name}v0`,
    ]);
    expect(isAlive(left.daemon)).toBe(true);

    await sweepLeftoverNetworks();
    expect((await linksAndNamespaces()).filter((n) => n.startsWith(left.name))).toEqual([]);
    expect(isAlive(left.holder)).toBe(false);
    expect(isAlive(left.daemon)).toBe(false);
    // this file's network, whose maker is alive, is untouched
    expect((await linksAndNamespaces()).filter((n) => n.startsWith(network.name)).sort()).toEqual(
      [network.name, `${network.name}-a`, `${network.name}-b`, `${network.name}v0`, `${network.name}v1`].sort(),
    );

    // close, for a network of this process
    const closing = await createNetwork();
    const y = await closing.machine('y');
    // a daemon with a child of its own in a session of its own, which no process-group kill reaches
    y.spawn(['sh', '-c', 'setsid sleep infinity & sleep infinity']);
    const pidsOfY = async () =>
      (await run('ip', ['netns', 'pids', y.namespace], { PATH: process.env.PATH })).stdout.split(/\s+/).filter(Boolean).map(Number);
    const running = await waitUntil(async () => {
      const pids = await pidsOfY();
      return pids.length === 4 ? pids : null; // the holder, sh, and both sleeps
    }, 'the daemon and its child to start');
    await closing.close();
    expect((await linksAndNamespaces()).filter((n) => n.startsWith(closing.name))).toEqual([]);
    expect(running.filter(isAlive)).toEqual([]);
  });
});
