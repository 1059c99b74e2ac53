// `emberplane host join` offers this machine to a control plane as a host (docs/hosts.md).
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { defaultAddress, HostDaemon, HostRefused, machineCapacity } from '../engine/host/daemon.js';
import { EMBERPLANE_VERSION } from '../engine/host/version.js';
import { functionPackageSettings } from '../platform/config.js';
import { DEFAULT_SPARK_JARS_DIR, detectSpark, findS3aJars } from '../engine/spark-runtime.js';

const HOST_JOIN_HELP = `Usage: emberplane host join --server <url> [--token <t>] [options]

Offers this machine to an emberplane control plane as a host: it runs the cluster nodes placed on it.
The first start needs a host token (createHostToken); the host then keeps its own key in the data dir.

  --server <url>      the control plane (http://host:port); repeat for several servers
  --token <t>         a host token (first start only)
  --data-dir <dir>    where the host keeps its key and its nodes' files (default ./.host-data)
  --name <name>       the host's name (default: this machine's hostname)
  --label <k=v>       a label (repeatable): instance groups with hostLabels go only on hosts carrying them
  --vcpu <n>          vCPUs offered (default: this machine's)
  --memory-mb <n>     memory offered in MiB (default: this machine's)
  --disk-mb <n>       disk offered in MiB (default: the data dir's file system)
  --address <a>       the address other hosts' nodes reach this one at (default: its first IPv4 address)
  --help              this text

Environment: SANDBOX=off runs tenant code unconfined (development only); PYTHON, SPARK_HOME, JAVA_HOME
and SPARK_JARS_DIR say where this machine's Spark is (as for the server; \`npm run spark:install\`);
FUNCTION_PACKAGE_GRACE_SECONDS (3600): a code package fetched into the data dir is removed once unused
this long; FUNCTION_PACKAGE_SWEEP_MS (600000): how often such packages are looked for.`;

const USAGE = `Usage: emberplane host join --server <url> [--token <t>] [options]   (--help for the options)`;

function fail(message: string): never {
  process.stderr.write(`emberplane: ${message}\n`);
  process.exit(2);
}

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`${flag} must be a whole number, got "${value}"`);
  return n;
}

export async function hostJoin(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string', multiple: true },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
      name: { type: 'string' },
      label: { type: 'string', multiple: true },
      vcpu: { type: 'string' },
      'memory-mb': { type: 'string' },
      'disk-mb': { type: 'string' },
      address: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HOST_JOIN_HELP}\n`);
    return;
  }
  if (!values.server?.length) fail(`--server is required\n${USAGE}`);
  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const at = l.indexOf('=');
    if (at <= 0) fail(`--label must be key=value, got "${l}"`);
    labels[l.slice(0, at)] = l.slice(at + 1);
  }
  const dataDir = path.resolve(values['data-dir'] ?? '.host-data');
  const sandbox = process.env.SANDBOX !== 'off';
  const spark = detectSpark({
    python: process.env.PYTHON,
    sparkHome: process.env.SPARK_HOME,
    javaHome: process.env.JAVA_HOME,
    forOthers: sandbox && process.getuid?.() === 0,
  });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const own = machineCapacity(dataDir);
  const daemon = new HostDaemon({
    servers: values.server,
    token: values.token ?? null,
    dataDir,
    sandbox,
    // function instances run as on a server: the same interpreter, SDK and spare sandboxes settings
    functions: {
      pythonCommand: process.env.FUNCTION_PYTHON || 'python3',
      pythonSdkDir: process.env.FUNCTION_PYTHON_SDK_DIR || '/usr/local/share/emberplane/python-sdk',
      nodeSdkDir: process.env.FUNCTION_NODE_SDK_DIR || '/usr/local/share/emberplane/node-sdk',
      spares: Number(process.env.FUNCTION_SPARE_SANDBOXES ?? 2) || 0,
    },
    // the code packages fetched for them are a cache, swept with a server's settings for its own packages
    codePackages: functionPackageSettings(process.env),
    log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
    description: {
      name: values.name ?? os.hostname(),
      labels,
      address: values.address ?? defaultAddress(),
      capacity: {
        vcpu: count(values.vcpu, '--vcpu', own.vcpu),
        memoryMb: count(values['memory-mb'], '--memory-mb', own.memoryMb),
        diskMb: count(values['disk-mb'], '--disk-mb', own.diskMb),
      },
      installation: {
        version: EMBERPLANE_VERSION,
        sparkHome: spark.available ? spark.sparkHome : null,
        python: spark.python,
        s3aJars: findS3aJars(process.env.SPARK_JARS_DIR || DEFAULT_SPARK_JARS_DIR),
      },
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => daemon.stop());
  try {
    await daemon.run();
  } catch (err) {
    if (err instanceof HostRefused) {
      process.stderr.write(`emberplane: the control plane refused this host (${err.code}): ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
