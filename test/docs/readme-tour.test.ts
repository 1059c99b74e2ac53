// The README's "Five-minute walkthrough", run as written: its `sh` blocks, in order, in one bash
// session (they share the `gql` function and the ids they set), against a server of its own whose
// URL and admin key reach the tour through EMBERPLANE_URL and EMBERPLANE_API_KEY, as a reader sets
// them. Each block must succeed, and what the README says it shows must appear.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { isAlive, waitUntil } from '../support/processes.js';
import { fencedBlocks, section } from './markdown.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tour = section(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), 'Five-minute walkthrough');
const blocks = fencedBlocks(tour)
  .filter((b) => b.lang === 'sh')
  .map((b) => b.body);
const MARK = '@@tour-block';

/** What each block prints, by the README's own sample output (ids, pids and times vary). */
const expected: Array<(out: string) => void> = [
  (out) => expect(out).toMatch(/"instanceTypes":\[\{"name":"[a-z0-9.]+","vcpu":\d+,"memoryMb":\d+\}/),
  (out) => expect(out).toMatch(/\{"data":\{"createCluster":\{"cluster":\{"id":"j-[A-Z0-9]+","state":"STARTING"\}\}\}\}/),
  (out) => {
    expect(out).toMatch(/"state":"WAITING","stateChangeReason":\{"message":"Cluster ready to run steps."\}/);
    expect(out.match(/"role":"(MASTER|CORE)","state":"RUNNING","pid":\d+/g)).toHaveLength(3);
  },
  // the cluster is WAITING: the step is claimed for its master as it is added
  (out) => expect(out).toMatch(/\{"data":\{"addSteps":\{"steps":\[\{"id":"s-[A-Z0-9]+","state":"RUNNING"\}\]\}\}\}/),
  (out) => {
    expect(out).toMatch(/STDOUT line 1\n/);
    expect(out).toMatch(/STDOUT line 20\n/);
    expect(out).toMatch(/SYSTEM Step completed \(exit code 0\)/);
    expect(out).toMatch(/# step s-[A-Z0-9]+ ended COMPLETED\nexit code 0/);
  },
  (out) => {
    expect(out).toMatch(/"cancelSteps":\{"results":\[\{"stepId":"s-[A-Z0-9]+","status":"SUBMITTED","reason":null\}\]/);
    expect(out).toMatch(/STDOUT going to sleep/);
    expect(out).toMatch(/SYSTEM Step cancelled/);
    expect(out).toMatch(/# step s-[A-Z0-9]+ ended CANCELLED\nexit code 1/);
  },
  (out) => {
    expect(out).toMatch(/"state":"TERMINATING","stateChangeReason":\{"code":"USER_REQUEST"/);
    expect(out).toMatch(
      /\{"data":\{"cluster":\{"state":"TERMINATED","instances":\[(\{"role":"(MASTER|CORE)","state":"TERMINATED"\},?){3}\]\}\}\}/,
    );
  },
  // the same with the CLI: a profile, a cluster waited for, a step followed to its end, terminated
  (out) => {
    expect(out).toMatch(/saved profile "default" in .*config\n/);
    expect(out).toMatch(/STDOUT line 1\n[\s\S]*STDOUT line 20\n.*SYSTEM Step completed \(exit code 0\)\n/);
    expect(out).toMatch(/^j-[A-Z0-9]+\s+walkthrough\s+TERMINATED$/m);
  },
];

/** The blocks as one script: each followed by a marker line with its exit status; stderr joins stdout in order. */
function tourScript(): string {
  return ['exec 2>&1', `cd ${JSON.stringify(root)}`, ...blocks.flatMap((body, i) => [body, `printf '\\n${MARK} ${i} rc=%s\\n' "$?"`])].join(
    '\n',
  );
}

function outputsByBlock(output: string): Array<{ rc: number; out: string }> {
  const results: Array<{ rc: number; out: string }> = [];
  let rest = output;
  for (;;) {
    const m = new RegExp(`\\n${MARK} (\\d+) rc=(\\d+)\\n`).exec(rest);
    if (!m) return results;
    expect(Number(m[1])).toBe(results.length);
    results.push({ rc: Number(m[2]), out: rest.slice(0, m.index) });
    rest = rest.slice(m.index + m[0].length);
  }
}

describe('README walkthrough', () => {
  let server: TestServer;
  let bash: ChildProcess | null = null;
  // the CLI's profile goes here, not into the home directory of whoever runs the tests
  let configDir: string;

  beforeAll(async () => {
    server = await startTestServer();
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tour-cli-'));
  });

  afterAll(async () => {
    // a tour cut short leaves its bash (and a follow-logs) running: end the whole process group
    if (bash?.pid && bash.exitCode === null && bash.signalCode === null) {
      process.kill(-bash.pid, 'SIGKILL');
      await waitUntil(() => !isAlive(bash!.pid!), 'the tour shell to end');
    }
    await server?.close(); // stops the agents of a cluster the tour did not terminate; fails if any process is left
    if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('has the blocks the test knows', () => {
    expect(blocks).toHaveLength(expected.length);
    expect(blocks[0]).toContain('EMBERPLANE_API_KEY');
    // waits are on states (`until … grep -q …; do sleep 1; done`), never a bare pause for time
    expect(blocks.join('\n')).not.toMatch(/^\s*sleep \d/m);
  });

  it('runs as written and shows what it says', async () => {
    bash = spawn('bash', ['-c', tourScript()], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        EMBERPLANE_URL: server.url,
        EMBERPLANE_API_KEY: server.key,
        EMBERPLANE_CONFIG_FILE: path.join(configDir, 'config'),
      },
    });
    let output = '';
    bash.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      // an error answer means a later `until` would wait forever for a state that can't come
      if (output.includes('"errors"') && bash!.exitCode === null) process.kill(-bash!.pid!, 'SIGKILL');
    });
    const code = await new Promise<number | null>((resolve) => bash!.on('close', (c) => resolve(c)));
    expect(output).not.toContain('"errors"');
    const results = outputsByBlock(output);
    expect(
      results.map((r) => r.rc),
      output,
    ).toEqual(blocks.map(() => 0));
    expect(code, output).toBe(0);
    results.forEach(({ out }, i) => {
      expect(out, `block ${i}`).not.toContain('"errors"');
      expected[i]!(out);
    });
  }, 240_000);
});
