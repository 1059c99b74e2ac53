// Separate machines on one machine, for tests of hosts that join over the network: a Linux bridge
// with a private /24 (the server's side listens on the bridge's address) and, per machine, a network
// namespace wired to it by a veth pair, with its own mount namespace where a fresh tmpfs covers /tmp
// (the server's data dirs, the suite's Postgres, every test's temp files) and the repository is
// read-only, as on a second machine with the same package installed; its /etc/hosts names it.
// Built from iproute2 (`ip`) and util-linux (`unshare`, `nsenter`); needs root.
//
// Every bridge and namespace carries a marker naming the test process that made it (pid and start
// time): a run killed before its afterAll leaves them behind, and the next network made (or the
// end of the run) removes those whose maker is gone, never one of a test file still running.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStillAlive, processIdentity, run, waitUntil, type Run } from './processes.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every name starts with this: bridges `ep<6 hex>`, veths `ep<6 hex>v<n>`, namespaces `ep<6 hex>-<machine>`. */
const PREFIX = 'ep';
const MARKER = 'emberplane-test owner=';
const NETWORK_ID = /^ep[0-9a-f]{6}$/;

/** Why network namespaces can't be made here (the tests skip with it), or null when they can.
 *  Under CI=true (which runs as root) a reason is an error instead: CI must not skip these tests. */
export function namespacesAvailable(): string | null {
  const reason = namespacesUnavailableBecause();
  if (reason && process.env.CI === 'true') throw new Error(`network namespaces are required under CI=true: ${reason}`);
  return reason;
}

function namespacesUnavailableBecause(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are a Linux feature';
  if (process.getuid?.() !== 0) return 'network namespaces, bridges and mounts need root (the suite runs as a normal user)';
  for (const [tool, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['unshare', ['--version'], 'util-linux'],
    ['nsenter', ['--version'], 'util-linux'],
  ] as const) {
    const probe = spawnSync(tool, args, { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) return `\`${tool}\` is missing (apt-get install ${pkg})`;
  }
  const probe = spawnSync('unshare', ['--net', '--mount', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) return `namespaces can't be made here (unshare --net --mount: ${probe.stderr.trim() || `exit ${probe.status}`})`;
  return null;
}

async function ip(...args: string[]): Promise<string> {
  const result = await run('ip', args, { PATH: process.env.PATH });
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.code}`}`);
  return result.stdout;
}

const ipJson = async <T>(...args: string[]): Promise<T[]> => JSON.parse((await ip('-j', ...args)) || '[]') as T[];

interface LinkInfo {
  ifname: string;
  ifalias?: string;
  operstate: string;
}

/** The marker of this test process: its pid and start time, so that a pid reused later is not taken for it. */
function ownMarker(): string {
  const self = processIdentity(process.pid)!;
  return `${MARKER}${self.pid}:${self.start}`;
}

/** Whether a marker names a process that is gone (not a marker: not ours, never gone). */
function ownerGone(alias: string | undefined): boolean {
  if (!alias?.startsWith(MARKER)) return false;
  const [pid, start] = alias.slice(MARKER.length).split(':');
  return !isStillAlive({ pid: Number(pid), start: start ?? '' });
}

export interface MachineRunOptions {
  /** added to the machine's environment (PATH, LANG, PYENV_*; HOME and TMPDIR are the machine's own) */
  env?: NodeJS.ProcessEnv;
  /** working directory on the machine (default its home) */
  cwd?: string;
  /** fed to stdin */
  input?: string;
}

export interface MachineProcess {
  /** the pid of the process as seen from the test (nsenter execs it, so this is the program itself) */
  readonly pid: number;
  readonly proc: ChildProcess;
  /** stdout and stderr so far, interleaved */
  output(): string;
  /** resolves when the process has exited */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** sends `signal` to the process group, waits for the exit; SIGKILL after `graceMs` */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface Machine {
  /** the name the test gave it */
  readonly name: string;
  /** the network namespace (`ip netns exec <namespace> …`), also the machine's hostname (its own UTS namespace) */
  readonly namespace: string;
  /** its IPv4 address on the network */
  readonly address: string;
  /** the host side of its veth pair, in the test's namespace (cutLink downs it) */
  readonly link: string;
  /** the process holding its mount namespace; every command of the machine enters that one */
  readonly holderPid: number;
  /** its own directories, on its own tmpfs: a data dir for a daemon, and HOME */
  readonly dataDir: string;
  readonly home: string;
  /** a one-shot command on the machine, to its end (2 minutes at most) */
  run(argv: string[], options?: MachineRunOptions): Promise<Run>;
  /** a long-running process on the machine; stopped with everything else of the machine on close */
  spawn(argv: string[], options?: Omit<MachineRunOptions, 'input'>): MachineProcess;
  /** where the test (outside) reads or writes a path of the machine's filesystem */
  pathOf(machinePath: string): string;
}

export interface MachineOptions {
  /** its address in the network's /24 (default the next free one from .2) */
  address?: string;
  /** more dirs to cover with an empty tmpfs besides /tmp, /var/tmp and the test's TMPDIR */
  hide?: string[];
}

export interface Network {
  /** the bridge: ep + 6 hex digits (also the prefix of every other name of this network) */
  readonly name: string;
  /** the /24, e.g. 10.187.42.0/24 */
  readonly subnet: string;
  /** the bridge's address, in the test's own namespace: a server listening on it is reachable from every machine */
  readonly address: string;
  machine(name: string, options?: MachineOptions): Promise<Machine>;
  /** stops every process of every machine, removes the namespaces, veths and the bridge; safe to call twice */
  close(): Promise<void>;
}

/** What close needs of a machine, recorded before anything of it exists. */
interface MachineRecord {
  name: string;
  namespace: string;
  address: string;
  link: string;
}

/** A network of its own for one test file (call close in afterAll). Removes leftovers of dead runs first. */
export async function createNetwork(): Promise<Network> {
  await sweepLeftoverNetworks();
  const name = `${PREFIX}${crypto.randomBytes(3).toString('hex')}`;
  const marker = ownMarker();
  const machines: MachineRecord[] = [];
  let closed: Promise<void> | null = null;
  let bridgeMade = false;

  const close = () =>
    (closed ??= (async () => {
      const failures: unknown[] = [];
      for (const machine of machines) await removeMachine(machine.namespace, machine.link).catch((err) => failures.push(err));
      if (bridgeMade) await ip('link', 'del', name).catch((err) => failures.push(err));
      if (failures.length > 0) throw new AggregateError(failures, `removing network ${name}`);
    })());

  try {
    await ip('link', 'add', 'name', name, 'type', 'bridge', 'forward_delay', '0');
    bridgeMade = true;
    await ip('link', 'set', name, 'alias', marker);
    const prefix = await claimSubnet(name);
    await ip('link', 'set', name, 'up');
    const address = `${prefix}.1`;

    const machine = async (machineName: string, options: MachineOptions = {}): Promise<Machine> => {
      if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(machineName))
        throw new Error(`machine name "${machineName}": lowercase letters, digits and -, at most 20`);
      if (machines.some((m) => m.name === machineName)) throw new Error(`machine "${machineName}" exists already`);
      const taken = new Set([address, ...machines.map((m) => m.address)]);
      const machineAddress = options.address ?? nextFree(prefix, taken);
      const host = machineAddress.startsWith(`${prefix}.`) ? Number(machineAddress.slice(prefix.length + 1)) : Number.NaN;
      if (!Number.isInteger(host) || host < 2 || host > 254 || taken.has(machineAddress))
        throw new Error(`address ${machineAddress} is taken or not a host of ${prefix}.0/24 (.2 to .254)`);
      const namespace = `${name}-${machineName}`;
      const link = `${name}v${machines.length}`;
      const record: MachineRecord = { name: machineName, namespace, address: machineAddress, link };
      machines.push(record); // before the first await: machines made at once get their own names; close removes it whatever fails next
      await ip('netns', 'add', namespace);
      await ip('link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      await ip('-n', namespace, 'link', 'set', 'eth0', 'alias', marker);
      await ip('link', 'set', link, 'master', name, 'up');
      await ip('-n', namespace, 'addr', 'add', `${machineAddress}/24`, 'dev', 'eth0');
      await ip('-n', namespace, 'link', 'set', 'eth0', 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      await ip('-n', namespace, 'route', 'add', 'default', 'via', address);
      await linkUp(record);
      return { ...record, ...(await startMachine(record, options.hide ?? [])) };
    };

    return { name, subnet: `${prefix}.0/24`, address, machine, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/** Picks a random 10.x.y.0/24 no route or address here overlaps, gives the bridge its .1, and checks no
 *  parallel test file took the same one meanwhile (then both move on to another). Returns "10.x.y". */
async function claimSubnet(bridge: string): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const prefix = `10.${128 + crypto.randomInt(127)}.${crypto.randomInt(256)}`;
    if (await subnetInUse(prefix, bridge)) continue;
    await ip('addr', 'add', `${prefix}.1/24`, 'dev', bridge);
    if (!(await subnetInUse(prefix, bridge))) return prefix;
    await ip('addr', 'del', `${prefix}.1/24`, 'dev', bridge);
  }
  throw new Error('no free private /24 found in 20 tries');
}

async function subnetInUse(prefix: string, ownBridge: string): Promise<boolean> {
  const ours = ipv4(`${prefix}.0`);
  const routes = await ipJson<{ dst: string; dev?: string }>('-4', 'route', 'show', 'table', 'all');
  for (const route of routes) {
    if (route.dev === ownBridge || route.dst === 'default') continue;
    const [network, bits = '32'] = route.dst.split('/');
    if (network === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(network)) continue;
    const overlap = Math.min(Number(bits), 24);
    const mask = overlap === 0 ? 0 : (~0 << (32 - overlap)) >>> 0;
    if ((ipv4(network) & mask) >>> 0 === (ours & mask) >>> 0) return true;
  }
  const links = await ipJson<{ ifname: string; addr_info: { local: string }[] }>('-4', 'addr', 'show');
  return links.some((link) => link.ifname !== ownBridge && link.addr_info.some((a) => a.local.startsWith(`${prefix}.`)));
}

const ipv4 = (address: string) => address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);

function nextFree(prefix: string, taken: Set<string>): string {
  for (let host = 2; host < 255; host++) if (!taken.has(`${prefix}.${host}`)) return `${prefix}.${host}`;
  throw new Error(`${prefix}.0/24 is full`);
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Dirs of this machine's filesystem the machine must not see: the tmp dirs (and what a test adds), minus those inside another. */
function hiddenDirs(extra: string[]): string[] {
  const dirs = [...new Set(['/tmp', '/var/tmp', os.tmpdir(), ...extra].map((d) => path.resolve(d)))];
  return dirs.filter((dir) => !dirs.some((other) => other !== dir && dir.startsWith(`${other}/`))).sort();
}

/**
 * The machine's holder: `ip netns exec` (its network) → `unshare --mount --uts --propagation private`
 * (its own mounts, none of which reach the test's namespace, and hostname) → a shell that names it, covers the hidden dirs with a
 * fresh tmpfs, makes the repository read-only, makes the machine's own dirs, says "ready", then
 * sleeps for as long as the machine lives. Commands enter its namespaces with nsenter.
 */
async function startMachine(machine: MachineRecord, hide: string[]): Promise<Omit<Machine, keyof MachineRecord>> {
  const dataDir = '/tmp/emberplane-host';
  const home = '/tmp/home';
  const hidden = hiddenDirs(hide);
  const underHidden = hidden.some((dir) => repoRoot.startsWith(`${dir}/`));
  const script = [
    'set -e',
    `echo ${quote(machine.namespace)} > /proc/sys/kernel/hostname`,
    // a checkout under a hidden dir (CI may clone into /tmp) is set aside first and put back on top
    ...(underHidden ? ['mount -t tmpfs tmpfs /mnt', 'mkdir /mnt/repo', `mount --bind ${quote(repoRoot)} /mnt/repo`] : []),
    ...hidden.map((dir) => `mount -t tmpfs -o mode=1777 tmpfs ${quote(dir)}`),
    ...(underHidden
      ? [`mkdir -p ${quote(repoRoot)}`, `mount --move /mnt/repo ${quote(repoRoot)}`, 'umount /mnt']
      : [`mount --bind ${quote(repoRoot)} ${quote(repoRoot)}`]),
    `mount -o remount,bind,ro ${quote(repoRoot)}`,
    // its own /etc/hosts naming it, as a machine's installer writes one: programs that look up
    // their own hostname (a JVM's InetAddress.getLocalHost) find it without DNS
    'mkdir -p /tmp/.machine',
    `{ cat /etc/hosts; echo ${quote(`${machine.address} ${machine.namespace}`)}; } > /tmp/.machine/hosts`,
    'chmod 644 /tmp/.machine/hosts',
    'mount --bind /tmp/.machine/hosts /etc/hosts',
    `mkdir -p ${quote(dataDir)} ${quote(home)}`,
    'echo ready',
    'exec sleep infinity',
  ].join('\n');
  const holder = spawn(
    'ip',
    ['netns', 'exec', machine.namespace, 'unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', script],
    {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  holder.stdout!.on('data', (d) => (out += d.toString()));
  holder.stderr!.on('data', (d) => (out += d.toString()));
  await waitUntil(
    () => {
      if (holder.exitCode !== null || holder.signalCode !== null) throw new Error(`machine ${machine.name} did not start: ${out.trim()}`);
      return out.includes('ready');
    },
    `machine ${machine.name} to start`,
    30_000,
    20,
  );
  const holderPid = holder.pid!;

  const environment = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = {};
    for (const name of ['PATH', 'LANG', 'PYENV_ROOT', 'PYENV_VERSION']) if (process.env[name]) base[name] = process.env[name];
    return { ...base, ...env, HOME: home, TMPDIR: '/tmp' };
  };
  const enter = (argv: string[], cwd = home) => ['-t', String(holderPid), '--mount', '--uts', '--net', `--wdns=${cwd}`, '--', ...argv];

  return {
    holderPid,
    dataDir,
    home,
    run: (argv: string[], options: MachineRunOptions = {}) =>
      run('nsenter', enter(argv, options.cwd), environment(options.env), options.input),
    spawn(argv: string[], options: Omit<MachineRunOptions, 'input'> = {}): MachineProcess {
      const proc = spawn('nsenter', enter(argv, options.cwd), {
        env: environment(options.env),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      proc.stdout!.on('data', (d) => (output += d.toString()));
      proc.stderr!.on('data', (d) => (output += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        proc.once('exit', (code, signal) => resolve({ code, signal })),
      );
      return {
        pid: proc.pid!,
        proc,
        output: () => output,
        exited,
        async stop(signal = 'SIGTERM', graceMs = 10_000) {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          signalGroup(proc.pid!, signal);
          const timer = setTimeout(() => signalGroup(proc.pid!, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        },
      };
    },
    pathOf: (machinePath: string) => `/proc/${holderPid}/root${path.resolve('/', machinePath)}`,
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // exited meanwhile
  }
}

/** Every process of a namespace: the holder, what ran in it, and what those started (daemons that setsid included). */
async function processesIn(namespace: string): Promise<number[]> {
  const result = await run('ip', ['netns', 'pids', namespace], { PATH: process.env.PATH });
  return result.code === 0 ? result.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

/** The pids running in a machine's network namespace: where a process really runs, whatever an API says. */
export async function processesOn(machine: Pick<Machine, 'namespace'>): Promise<Set<number>> {
  return new Set(await processesIn(machine.namespace));
}

/** Kills every process in the namespace, waits until none is left, then removes its veth and the namespace. */
async function removeMachine(namespace: string, link: string | null): Promise<void> {
  const namespaces = await ipJson<{ name: string }>('netns', 'list');
  if (!namespaces.some((n) => n.name === namespace)) return; // its making failed before `ip netns add`
  await waitUntil(
    async () => {
      const pids = await processesIn(namespace);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      return pids.length === 0;
    },
    `every process of ${namespace} to exit`,
    20_000,
  );
  // deleting one end of a veth pair deletes both at once (a namespace's own links go asynchronously)
  if (link) await ip('link', 'del', link).catch(() => {});
  else await ip('-n', namespace, 'link', 'del', 'eth0').catch(() => {});
  await ip('netns', 'del', namespace);
}

/** Downs the machine's veth on the bridge side: nothing passes either way (its open connections see
 *  silence, as in a network partition, not a reset). */
export async function cutLink(machine: Machine): Promise<void> {
  await ip('link', 'set', machine.link, 'down');
}

/** Brings the machine's veth back up and waits until both ends and the bridge port forward again. */
export async function restoreLink(machine: Machine): Promise<void> {
  await ip('link', 'set', machine.link, 'up');
  await linkUp(machine);
}

async function linkUp(machine: Pick<Machine, 'link' | 'namespace'>): Promise<void> {
  await waitUntil(
    async () => {
      const [outside] = await ipJson<LinkInfo>('link', 'show', machine.link);
      const [inside] = await ipJson<LinkInfo>('-n', machine.namespace, 'link', 'show', 'eth0');
      const port = JSON.parse(
        (await run('bridge', ['-j', 'link', 'show', 'dev', machine.link], { PATH: process.env.PATH })).stdout || '[]',
      ) as {
        state?: string;
      }[];
      return outside?.operstate === 'UP' && inside?.operstate === 'UP' && port[0]?.state === 'forwarding';
    },
    `the link of ${machine.namespace} to come up`,
    10_000,
    20,
  );
}

/**
 * Removes what killed test runs left: bridges whose marker names a process that is gone, with their
 * machines (every process in them killed), and machine namespaces of such an owner whose bridge is gone.
 * Names without our prefix and marker, and networks of live test processes, are never touched.
 */
export async function sweepLeftoverNetworks(): Promise<void> {
  const bridges = (await ipJson<LinkInfo>('-d', 'link', 'show', 'type', 'bridge')).filter((b) => NETWORK_ID.test(b.ifname));
  const namespaces = (await ipJson<{ name: string }>('netns', 'list')).map((n) => n.name).filter((n) => n.startsWith(PREFIX));
  const deadBridges = bridges.filter((b) => ownerGone(b.ifalias)).map((b) => b.ifname);
  const live = new Set(bridges.map((b) => b.ifname));
  for (const namespace of namespaces) {
    const network = namespace.slice(0, namespace.indexOf('-'));
    if (!NETWORK_ID.test(network)) continue;
    if (deadBridges.includes(network)) await removeMachine(namespace, null);
    else if (!live.has(network)) {
      const [eth0] = await ipJson<LinkInfo>('-n', namespace, '-d', 'link', 'show', 'eth0').catch(() => []);
      if (ownerGone(eth0?.ifalias)) await removeMachine(namespace, null);
    }
  }
  for (const bridge of deadBridges) await ip('link', 'del', bridge);
}
