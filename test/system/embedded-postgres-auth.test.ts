// The embedded Postgres takes passwords only through SCRAM (never cleartext, MD5 or trust), keeps
// its credentials file to the server's user, and a data dir made by an older version (cleartext
// `password` rules) is brought up to that at its next start.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/platform/db/embedded-postgres.js';

const log = pino({ level: 'silent' });
let dataDir = '';
let running: EmbeddedDatabase | null = null;
afterAll(async () => {
  await running?.stop();
  if (dataDir) await fs.rm(path.dirname(dataDir), { recursive: true, force: true });
});

async function check(url: string): Promise<void> {
  const db = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rules = await db<
      { type: string; authMethod: string; error: string | null }[]
    >`select type, auth_method as "authMethod", error from pg_hba_file_rules`;
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) expect(r).toMatchObject({ authMethod: 'scram-sha-256', error: null });
    expect((await db`show password_encryption`)[0]!.password_encryption).toBe('scram-sha-256');
    const [verifier] = await db<{ rolpassword: string }[]>`select rolpassword from pg_authid where rolname = 'postgres'`;
    expect(verifier!.rolpassword).toMatch(/^SCRAM-SHA-256\$/);
  } finally {
    await db.end();
  }
  const wrong = new URL(url);
  wrong.password = 'not-the-password';
  const intruder = postgres(wrong.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  await expect(intruder`select 1`).rejects.toMatchObject({ code: '28P01' });
  await intruder.end();
}

it('uses scram-sha-256 only, refuses a wrong password, keeps its files to itself, and upgrades an older data dir', {
  timeout: 120_000,
}, async () => {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'emberplane-pgauth-'));
  await fs.chmod(parent, 0o711); // as root Postgres runs as "postgres", which must pass through
  dataDir = path.join(parent, 'data');
  running = await startEmbeddedPostgres(dataDir, log);
  await check(running.url);
  expect((await fs.stat(path.join(dataDir, 'postgres-credentials.json'))).mode & 0o777).toBe(0o600);
  expect((await fs.stat(dataDir)).mode & 0o044).toBe(0);
  await running.stop();
  running = null;

  // as an older version left it: cleartext password rules, a readable credentials file and data dir
  const hba = path.join(dataDir, 'postgres', 'pg_hba.conf');
  await fs.writeFile(hba, (await fs.readFile(hba, 'utf8')).replace(/scram-sha-256/g, 'password'));
  expect(await fs.readFile(hba, 'utf8')).toMatch(/^host\s+all\s+all\s+127\.0\.0\.1\/32\s+password/m);
  await fs.chmod(path.join(dataDir, 'postgres-credentials.json'), 0o644);
  await fs.chmod(dataDir, 0o755);
  running = await startEmbeddedPostgres(dataDir, log);
  await check(running.url);
  expect(await fs.readFile(hba, 'utf8')).not.toMatch(/^\s*host\S*\s+.*\spassword\b/m);
  expect((await fs.stat(path.join(dataDir, 'postgres-credentials.json'))).mode & 0o777).toBe(0o600);
  expect((await fs.stat(dataDir)).mode & 0o044).toBe(0);
});
