// The `emberplane` CLI, run as a user runs it: `bin/emberplane.js` as a subprocess against a real
// server, with a config file of profiles, both output formats, and the exit codes scripts rely on.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fixtures } from '../support/api.js';
import { run, waitUntil } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(repoRoot, 'bin/emberplane.js');

describe('the emberplane CLI', () => {
  let server: TestServer;
  let home: string;
  let configFile: string;
  const fixtures = new Fixtures();

  /** Runs the CLI with only the config file (no endpoint or key in the environment unless given). */
  const cli = (args: string[], env: Record<string, string> = {}, input?: string) =>
    run(process.execPath, [CLI, ...args], { PATH: process.env.PATH, HOME: home, EMBERPLANE_CONFIG_FILE: configFile, ...env }, input);
  /** The CLI as the admin, through the default profile; --output json parsed. */
  const json = async (args: string[]) => {
    const r = await cli(['--output', 'json', ...args]);
    expect(r.stderr, `emberplane ${args.join(' ')}`).not.toMatch(/emberplane: /);
    expect(r.code, `emberplane ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    server = await startTestServer();
    home = mkdtempSync(path.join(os.tmpdir(), 'ep-cli-'));
    configFile = path.join(home, '.emberplane', 'config');
    // nothing configured yet: exit code 4 and what to do
    const none = await cli(['clusters', 'list']);
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/no endpoint for profile "default": run `emberplane configure`/);
    const saved = await cli(['configure', '--endpoint', server.url, '--api-key', '-'], {}, `${server.key}\n`);
    expect(saved.code, saved.stderr).toBe(0);
  });
  afterAll(async () => {
    await fixtures.cleanup(server);
    await server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('configure keeps profiles in a 0600 file (the key read from stdin); flags and the environment override them', async () => {
    // written by beforeAll: `configure --endpoint <url> --api-key -` with the key on stdin
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(configFile, 'utf8')).toBe(`[default]\nendpoint = ${server.url}\napi_key = ${server.key}\n`);
    // a second profile pointing nowhere, with json output by default; the default profile is kept
    expect(
      (await cli(['--profile', 'dead', 'configure', '--endpoint', 'http://127.0.0.1:9', '--api-key', 'ep_x', '--default-output', 'json']))
        .code,
    ).toBe(0);
    expect(readFileSync(configFile, 'utf8')).toMatch(
      /^\[default\]\n[^[]+\n\n\[profile dead\]\nendpoint = http:\/\/127\.0\.0\.1:9\napi_key = ep_x\noutput = json\n$/,
    );

    const table = await cli(['clusters', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE\s+NODES\s+CREATED$/);
    const unreachable = await cli(['--profile', 'dead', 'clusters', 'list']);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:9/);
    // the environment and --endpoint win over the profile
    const viaEnv = await cli(['--profile', 'dead', '--endpoint', server.url, 'clusters', 'list'], { EMBERPLANE_API_KEY: server.key });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toBeInstanceOf(Array); // the dead profile's output = json still applies
    const unknown = await cli(['--profile', 'nope', 'clusters', 'list']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/no profile "nope" in .*config \(create it with: emberplane configure --profile nope\)/);
  });

  it('--help everywhere; a wrong command line is exit code 2 and sends nothing', async () => {
    for (const args of [
      ['--help'],
      ['clusters', '--help'],
      ['steps', 'add', '--help'],
      ['functions', 'invoke', '--help'],
      ['host', 'join', '--help'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: emberplane/);
    }
    // output cut short by a closed pipe (`| head`) ends quietly, with no stack trace
    const piped = await run('bash', ['--norc', '-c', `set -o pipefail; "${process.execPath}" "${CLI}" --help | head -c 5`], {
      PATH: process.env.PATH,
    });
    expect(piped).toEqual({ code: 0, stdout: 'Usage', stderr: '' });
    const before = await json(['clusters', 'list']);
    for (const args of [
      ['clusters', 'create', '--name', 'x', '--core', '-1'],
      ['clusters', 'frobnicate'],
      ['steps', 'add', 'c-1', '--name', 'two', '--sql', 'select 1', '--', 'true'],
      ['--output', 'yaml', 'clusters', 'list'],
    ]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(await json(['clusters', 'list'])).toEqual(before);
  });

  it('creates a cluster and waits for it, lists, describes, resizes it; the API refusing is exit code 3 with code and field', async () => {
    const created = await json(['clusters', 'create', '--name', 'cli-made', '--instance-type', 'm5.large', '--core', '1', '--wait']);
    fixtures.cluster(created.id);
    expect(created).toMatchObject({ name: 'cli-made', state: 'WAITING' });
    expect(
      created.instances
        .filter((i: any) => i.state === 'RUNNING')
        .map((i: any) => i.role)
        .sort(),
    ).toEqual(['CORE', 'MASTER']);

    const listed = await json(['clusters', 'list', '--state', 'WAITING']);
    expect(listed.map((c: any) => c.id)).toContain(created.id);
    const described = await cli(['clusters', 'describe', created.id]);
    expect(described.stdout).toMatch(new RegExp(`^id\\s+${created.id}$`, 'm'));
    expect(described.stdout).toMatch(/^state\s+WAITING$/m);

    const resized = await json(['clusters', 'resize', created.id, '--role', 'CORE', '--count', '2', '--wait']);
    expect(resized).toMatchObject({ role: 'CORE', requestedCount: 2 });
    const after = await json(['clusters', 'describe', created.id]);
    expect(after.instances.filter((i: any) => i.role === 'CORE' && i.state === 'RUNNING')).toHaveLength(2);

    const refused = await cli(['clusters', 'resize', created.id, '--role', 'CORE', '--count', '100000']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^emberplane: BAD_USER_INPUT \(input\.instanceCount\): /);
    const missing = await cli(['clusters', 'describe', 'c-doesnotexist']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    expect((await json(['clusters', 'describe', created.id])).instanceGroups.find((g: any) => g.role === 'CORE').requestedCount).toBe(2);
  });

  it('adds steps: --follow prints the log as it is written and exits 0; a failed step exits 1; list, logs and cancel', async () => {
    const clusterId = (await json(['clusters', 'list', '--state', 'WAITING'])).find((c: any) => c.name === 'cli-made').id;
    const followed = await cli(['steps', 'add', clusterId, '--name', 'hello', '--', 'bash', '-c', 'for i in 1 2 3; do echo line $i; done']);
    expect(followed.code).toBe(0);
    const added = await cli([
      '--output',
      'json',
      'steps',
      'add',
      clusterId,
      '--name',
      'greet',
      '--follow',
      '--',
      'bash',
      '-c',
      'echo hi from $0; echo oops >&2',
      'cli',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const lines = added.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.stream !== 'SYSTEM').map((l) => [l.stream, l.text])).toEqual([
      ['STDOUT', 'hi from cli'],
      ['STDERR', 'oops'],
    ]);
    expect(lines.at(-1)).toMatchObject({ stream: 'SYSTEM', text: 'Step completed (exit code 0)' });

    const failed = await cli(['steps', 'add', clusterId, '--name', 'fails', '--wait', '--', 'bash', '-c', 'exit 7']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/step s-\S+ \(fails\) ended FAILED: .*7/);

    const steps = await json(['steps', 'list', clusterId]);
    expect(steps.map((s: any) => [s.name, s.state])).toEqual(
      expect.arrayContaining([
        ['greet', 'COMPLETED'],
        ['fails', 'FAILED'],
      ]),
    );
    const hello = steps.find((s: any) => s.name === 'hello');
    const log = await cli(['steps', 'logs', hello.id]);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/STDOUT line 1\n.*STDOUT line 2\n.*STDOUT line 3\n/);

    const sleeper = (await json(['steps', 'add', clusterId, '--name', 'sleeper', '--', 'sleep', '600'])).id;
    const cancelled = await json(['steps', 'cancel', clusterId, sleeper]);
    expect(cancelled).toEqual([{ stepId: sleeper, status: 'SUBMITTED', reason: null }]);
    const cancelledLog = await cli(['steps', 'logs', sleeper, '--follow']);
    expect(cancelledLog.code).toBe(1); // followed to its end: CANCELLED
    expect(cancelledLog.stdout).toMatch(/SYSTEM Step cancelled/);
  });

  it('deploys a function from a directory, invokes it (a function error exits 1), shows its log, publishes and aliases', async () => {
    const dir = mkdtempSync(path.join(home, 'fn-'));
    mkdirSync(path.join(dir, 'lib'));
    writeFileSync(path.join(dir, 'lib', 'words.py'), 'def shout(s):\n    return s.upper()\n');
    writeFileSync(
      path.join(dir, 'app.py'),
      'from lib.words import shout\n\ndef handler(event, context):\n    if event.get("fail"):\n        raise ValueError("asked to fail")\n    print("shouting", event["say"])\n    return {"said": shout(event["say"])}\n',
    );
    const deployed = await json([
      'functions',
      'deploy',
      dir,
      '--name',
      'cli-fn',
      '--runtime',
      'PYTHON311',
      '--handler',
      'app.handler',
      '--memory',
      '256',
    ]);
    expect(deployed).toMatchObject({ name: 'cli-fn', state: 'ACTIVE', memoryMb: 256, handler: 'app.handler' });

    const invoked = await cli(['functions', 'invoke', 'cli-fn', '--payload', '{"say":"hello"}', '--log']);
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(JSON.parse(invoked.stdout)).toEqual({ said: 'HELLO' });
    expect(invoked.stderr).toMatch(/shouting hello\n[\s\S]*REPORT RequestId: /);
    writeFileSync(path.join(home, 'event.json'), '{"fail": true}');
    const errored = await cli(['functions', 'invoke', 'cli-fn', '--payload', `@${path.join(home, 'event.json')}`]);
    expect(errored.code).toBe(1);
    expect(JSON.parse(errored.stdout)).toMatchObject({ errorType: 'ValueError', errorMessage: 'asked to fail' });
    expect((await cli(['functions', 'invoke', 'cli-fn', '--payload', '{not json'])).code).toBe(2);

    const logs = await cli(['functions', 'logs', 'cli-fn', '--tail', '50']);
    expect(logs.stdout).toMatch(/STDOUT shouting hello/);
    // --follow: the stored tail, then lines as they are written, until stopped
    const follower = spawn(process.execPath, [CLI, 'functions', 'logs', 'cli-fn', '--follow', '--tail', '1'], {
      env: { PATH: process.env.PATH, HOME: home, EMBERPLANE_CONFIG_FILE: configFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follower.stdout!.on('data', (chunk: Buffer) => {
      followed += chunk.toString();
    });
    try {
      await waitUntil(() => (followed.includes('\n') ? true : null), 'the stored tail line', 60_000);
      expect((await cli(['functions', 'invoke', 'cli-fn', '--payload', '{"say":"live"}'])).code).toBe(0);
      await waitUntil(() => (/STDOUT shouting live\n/.test(followed) ? true : null), 'the live line followed', 60_000);
    } finally {
      follower.kill('SIGINT');
      await new Promise((resolve) => (follower.exitCode === null ? follower.once('exit', resolve) : resolve(null)));
    }

    // new code through deploy again: a version of each, an alias splitting between them
    writeFileSync(path.join(dir, 'lib', 'words.py'), 'def shout(s):\n    return s.upper() + "!"\n');
    expect((await json(['functions', 'publish', 'cli-fn'])).version).toBe('1');
    await json(['functions', 'deploy', dir, '--name', 'cli-fn']);
    expect((await json(['functions', 'publish', 'cli-fn'])).version).toBe('2');
    const alias = await json(['functions', 'alias', 'cli-fn', 'live', '--function-version', '1', '--weight', '2=0.25']);
    expect(alias).toMatchObject({
      name: 'live',
      functionVersion: '1',
      routing: { additionalVersionWeights: [{ version: '2', weight: 0.25 }] },
    });
    const moved = await json(['functions', 'alias', 'cli-fn', 'live', '--function-version', '2']);
    expect(moved).toMatchObject({ functionVersion: '2', routing: null });
    expect(JSON.parse((await cli(['functions', 'invoke', 'cli-fn', '--qualifier', 'live', '--payload', '{"say":"v2"}'])).stdout)).toEqual({
      said: 'V2!',
    });
  });

  it('copies files to and from a bucket (with a progress bar), lists by prefix, removes; sends and receives queue messages', async () => {
    await json(['buckets', 'mb', 's3://cli-bucket']);
    const file = path.join(home, 'blob.bin');
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(file, bytes);
    const up = await cli(['buckets', 'cp', file, 's3://cli-bucket/data/', '--progress']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/upload .*blob\.bin \[#{30}\] 100% 3\.0 MiB\/3\.0 MiB\n$/);
    const top = await json(['buckets', 'ls', 's3://cli-bucket']);
    expect(top).toEqual([{ key: 'data/', size: null, lastModified: 'PRE' }]);
    const under = await json(['buckets', 'ls', 's3://cli-bucket/data/']);
    expect(under).toMatchObject([{ key: 'data/blob.bin', size: bytes.length }]);
    const back = path.join(home, 'back.bin');
    const down = await cli(['buckets', 'cp', 's3://cli-bucket/data/blob.bin', back]);
    expect(down.code, down.stderr).toBe(0);
    expect(readFileSync(back).equals(bytes)).toBe(true);
    const missing = await cli(['buckets', 'cp', 's3://cli-bucket/nope', path.join(home, 'nope')]);
    expect(missing.code).toBe(3);
    expect(() => statSync(path.join(home, 'nope'))).toThrow(); // nothing written, not even a partial file
    expect((await cli(['buckets', 'rm', 's3://cli-bucket/data/blob.bin'])).code).toBe(0);
    expect(await json(['buckets', 'ls', 's3://cli-bucket', '--recursive'])).toEqual([]);

    await server.data(`mutation { createQueue(input: { name: "cli-q" }) { queue { name } } }`);
    const sent = await json(['queues', 'send', 'cli-q', '--body', 'hello queue']);
    const received = await json(['queues', 'receive', 'cli-q', '--max', '10', '--delete']);
    expect(received.map((m: any) => [m.messageId, m.body])).toEqual([[sent.messageId, 'hello queue']]);
    expect(await json(['queues', 'receive', 'cli-q', '--wait-seconds', '0'])).toEqual([]);
  });

  it('a key made by the CLI reaches only its actions, and stops working when revoked', async () => {
    const made = await json(['keys', 'create', '--name', 'reader', '--action', 'clusters:Describe*', '--action', 'clusters:List*']);
    expect(made.key).toMatch(/^ep_/);
    const asReader = (args: string[]) => cli(args, { EMBERPLANE_API_KEY: made.key });
    expect((await asReader(['clusters', 'list'])).code).toBe(0);
    const forbidden = await asReader(['clusters', 'create', '--name', 'nope']);
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toMatch(/FORBIDDEN/);
    expect((await json(['clusters', 'list'])).some((c: any) => c.name === 'nope')).toBe(false);
    expect((await json(['keys', 'list'])).find((k: any) => k.id === made.id)).not.toHaveProperty('key');
    const revokedAt = Date.parse((await json(['keys', 'revoke', made.id])).revokedAt);
    expect(Math.abs(Date.now() - revokedAt)).toBeLessThan(10 * 60_000); // a real timestamp, of now
    const revoked = await asReader(['clusters', 'list']);
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/UNAUTHENTICATED/);
  });
});

// a config file that is not INI is reported with its line, not a stack trace
describe('the CLI config file', () => {
  it('names the bad line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ep-cli-bad-'));
    const file = path.join(dir, 'config');
    writeFileSync(file, '[default]\nendpoint http://x\n');
    chmodSync(file, 0o600);
    const r = await run(process.execPath, [CLI, 'clusters', 'list'], { PATH: process.env.PATH, EMBERPLANE_CONFIG_FILE: file });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toMatch(/config:2: expected "\[section\]" or "key = value", got "endpoint http:\/\/x"/);
    expect(r.code).toBe(4);
  });
});
