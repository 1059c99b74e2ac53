// The server never talks through a listener it did not start: with its port taken by another
// process (say, one a tenant left behind) it refuses to start, and says why.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const squatter = net.createServer((socket) => socket.destroy());
let dataDir = '';
afterAll(async () => {
  await new Promise((r) => squatter.close(r));
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

it('exits non-zero with a clear message when its port is taken, having accepted nothing', async () => {
  let dialled = 0;
  squatter.on('connection', () => {
    dialled++;
  });
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as net.AddressInfo).port;
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-port-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: await createTestDatabase(),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
  });
  proc.stderr.on('data', (d) => {
    out += d;
  });
  const [code] = await new Promise<[number | null]>((resolve) => proc.on('exit', (c) => resolve([c])));
  expect(code, out).not.toBe(0);
  expect(out).toContain(`emberplane did not start: port ${port} on 127.0.0.1 is already in use by another process: refusing to start`);
  expect(out).not.toContain('GraphQL API on');
  expect(dialled).toBe(0);
});
