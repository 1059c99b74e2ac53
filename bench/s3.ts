// Bench section 14: the S3 endpoint with the clients users run, in the same run as their baselines.
//   14a/b  a 200 MB file up and down with the aws CLI (`aws s3 cp`, multipart and ranged GETs as it
//          chooses) and boto3 (upload_file / download_file, default TransferConfig), beside `cp` of the
//          same file on the same disk; every copy ends with its file synced, runs interleaved
//          and beside the same clients against an S3 sink (bench/s3-sink.ts: checks and stores
//          nothing), the ceiling the clients themselves allow on this machine
//   14c    1 KiB objects PUT then GET by the AWS SDK for JavaScript v3 at concurrency 16, from a
//          process of its own, beside the same client against a bare node:http server (no auth, no
//          storage): the protocol's floor on this machine
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Api, fsyncFile, median } from './lib.js';
import { startS3Sink } from './s3-sink.js';

const run = promisify(execFile);
// runs a client command and prints the CPU seconds (user + system) it and its children used: whether
// the client itself is what bounds a transfer on this machine
const CPU_OF = `import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime)`;
const FILE_MB = 200;
const RUNS = 3;
const SMALL = { concurrency: 16, objects: 4000, size: 1024 };
const WORKER = fileURLToPath(new URL('./s3-worker.mjs', import.meta.url));

type Verdict = 'PASS' | 'MISS' | 'INFO';
export interface S3BenchContext {
  api: Api;
  tmp: string;
  startBareServer: (body: string) => Promise<{ url: string; close: () => Promise<void> }>;
  record: (row: { figure: string; value: string; baseline: string; target: string; verdict: Verdict }) => void;
  say: (line?: string) => void;
  results: Record<string, unknown>;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function benchS3({ api, tmp, startBareServer, record, say, results }: S3BenchContext): Promise<void> {
  const bucket = `bench-s3-${Date.now().toString(36)}`;
  await api.data('mutation($name: String!) { createBucket(input: { name: $name }) { bucket { name } } }', { name: bucket });
  const { createApiKey } = await api.data(
    'mutation { createApiKey(input: { name: "bench-s3", actions: ["buckets:*"], s3Credentials: true }) { s3AccessKeyId s3SecretAccessKey } }',
  );
  const creds = { accessKeyId: createApiKey.s3AccessKeyId as string, secretAccessKey: createApiKey.s3SecretAccessKey as string };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : {}),
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const src = path.join(tmp, 's3-source.bin');
  const handle = await fs.open(src, 'w');
  for (let i = 0; i < FILE_MB; i++) await handle.write(crypto.randomBytes(1024 * 1024));
  await handle.close();
  const bytes = (await fs.stat(src)).size;
  const mbps = (millis: number) => FILE_MB / (millis / 1000);
  const clientCpu: Record<string, number[]> = {};
  const client = async (name: string, argv: string[]) => {
    const { stdout } = await run('python3', ['-c', CPU_OF, ...argv], { env, maxBuffer: 1 << 20 });
    (clientCpu[name] ??= []).push(Number(stdout.trim().split('\n').pop()) * 1000);
  };
  const down = path.join(tmp, 's3-down.bin');
  const checkDown = async () => {
    const size = (await fs.stat(down)).size;
    if (size !== bytes) throw new Error(`downloaded ${size} bytes, expected ${bytes}`);
    await fs.rm(down);
  };
  // one round of the four transfers against `endpoint`, each timed into runs[<prefix><name>]
  const runs: Record<string, number[]> = { cp: [] };
  const transfers = async (endpoint: string, prefix: string) => {
    const timedInto = async (name: string, fn: () => Promise<unknown>) => {
      (runs[prefix + name] ??= []).push(await timed(fn));
    };
    const aws = (name: string, from: string, to: string) =>
      client(prefix + name, ['aws', '--endpoint-url', endpoint, 's3', 'cp', '--only-show-errors', from, to]);
    const boto3 = (name: string, code: string) =>
      client(prefix + name, [
        'python3',
        '-c',
        `import boto3, sys; s3 = boto3.client("s3", endpoint_url=sys.argv[1]); ${code}`,
        endpoint,
        bucket,
        src,
      ]);
    await timedInto('awsUp', () => aws('awsUp', src, `s3://${bucket}/aws.bin`));
    await timedInto('awsDown', async () => {
      await aws('awsDown', `s3://${bucket}/aws.bin`, down);
      await fsyncFile(down);
    });
    await checkDown();
    await timedInto('boto3Up', () => boto3('boto3Up', 's3.upload_file(sys.argv[3], sys.argv[2], "boto3.bin")'));
    await timedInto('boto3Down', async () => {
      await boto3('boto3Down', `s3.download_file(sys.argv[2], "boto3.bin", ${JSON.stringify(down)})`);
      await fsyncFile(down);
    });
    await checkDown();
  };

  const sink = await startS3Sink(bytes);
  try {
    for (let i = 0; i < RUNS; i++) {
      runs.cp!.push(
        await timed(async () => {
          await run('cp', [src, down]);
          await fsyncFile(down);
        }),
      );
      await checkDown();
      await transfers(api.url, '');
      await transfers(sink.url, 'sink:');
      // the fixed cost of each client before its first byte (interpreter, imports, credentials)
      (runs['start:aws'] ??= []).push(await timed(() => run('aws', ['--version'], { env })));
      (runs['start:boto3'] ??= []).push(
        await timed(() => run('python3', ['-c', 'import boto3; boto3.client("s3", endpoint_url="http://127.0.0.1:1")'], { env })),
      );
    }
    const med = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, mbps(median(v))])) as Record<string, number>;
    for (const [k, v] of Object.entries(runs)) {
      if (k.startsWith('start:')) {
        say(`  ${k.padEnd(15)} ${v.map((m) => `${m.toFixed(0)} ms`).join(', ')} (the client's start-up, no transfer)`);
        continue;
      }
      const cpu = clientCpu[k];
      const busy = cpu ? `; the client's own CPU: ${((100 * median(cpu)) / median(v)).toFixed(0)}% of a core for the whole transfer` : '';
      say(`  ${k.padEnd(15)} ${v.map((m) => `${mbps(m).toFixed(0)} MB/s`).join(', ')} (median ${med[k]!.toFixed(0)} MB/s${busy})`);
    }
    for (const [label, up, dl] of [
      ['aws CLI', 'awsUp', 'awsDown'],
      ['boto3', 'boto3Up', 'boto3Down'],
    ] as const) {
      for (const [dir, k] of [
        ['upload', up],
        ['download', dl],
      ] as const) {
        record({
          figure: `14. S3 ${dir}, ${label} (${FILE_MB} MB)`,
          value: `${med[k]!.toFixed(0)} MB/s (${(med[k]! / med.cp!).toFixed(2)}× cp, ${(med[k]! / med[`sink:${k}`]!).toFixed(2)}× sink)`,
          baseline: `cp + sync ${med.cp!.toFixed(0)} MB/s; same client to a sink ${med[`sink:${k}`]!.toFixed(0)} MB/s (${(med[`sink:${k}`]! / med.cp!).toFixed(2)}× cp)`,
          target: '≥ 0.5× cp',
          verdict: med[k]! >= 0.5 * med.cp! ? 'PASS' : 'MISS',
        });
      }
    }

    // small objects: the endpoint, then the bare server, with the same client and settings
    const worker = async (endpoint: string, target: string) => {
      const { stdout } = await run(process.execPath, [WORKER, JSON.stringify({ endpoint, ...creds, bucket: target, ...SMALL })], {
        maxBuffer: 1 << 20,
      });
      return JSON.parse(stdout) as Record<'put' | 'get', { rate: number; p50: number; p99: number; n: number }>;
    };
    const ours = await worker(api.url, bucket);
    const bare = await startBareServer('x'.repeat(SMALL.size));
    let floor: Awaited<ReturnType<typeof worker>>;
    try {
      floor = await worker(bare.url.replace(/\/graphql$/, ''), bucket);
    } finally {
      await bare.close();
    }
    for (const op of ['put', 'get'] as const) {
      say(
        `  ${op.toUpperCase()} 1 KiB c=${SMALL.concurrency}: endpoint ${ours[op].rate.toFixed(0)}/s p50 ${ours[op].p50.toFixed(2)} ms p99 ${ours[op].p99.toFixed(2)} ms; bare ${floor[op].rate.toFixed(0)}/s p50 ${floor[op].p50.toFixed(2)} ms`,
      );
      record({
        figure: `14. S3 small ${op.toUpperCase()} (1 KiB, c=${SMALL.concurrency}, SDK v3)`,
        value: `${ours[op].rate.toFixed(0)}/s, p50 ${ours[op].p50.toFixed(2)} ms, p99 ${ours[op].p99.toFixed(2)} ms`,
        baseline: `bare node:http ${floor[op].rate.toFixed(0)}/s (${(ours[op].rate / floor[op].rate).toFixed(2)}×)`,
        target: '(reported)',
        verdict: 'INFO',
      });
    }
    results.s3 = { fileMB: FILE_MB, runsMs: runs, clientCpuMs: clientCpu, medianMBps: med, small: { ours, floor, ...SMALL } };
  } finally {
    await sink.close();
    await fs.rm(src, { force: true });
    await fs.rm(down, { force: true });
    await api.data('mutation($name: String!) { deleteBucket(input: { name: $name, force: true }) { deletedObjects } }', { name: bucket });
  }
}
