// An instance's output file and the transaction that stores its lines: a server killed after the
// commit but before it noted the lines stored (.ack) must not have them stored again by the next
// server, and one killed before the commit must not lose them. The "kill" is not calling `stored`:
// what the server does in that window is exactly nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InstanceOutput, outputDirOf, recoverOutput } from '../../src/engine/functions/output.js';
import type { RuntimeLogLine } from '../../src/engine/functions/types.js';
import { committedTransactions } from '../../src/logs/queries.js';
import { createTestDatabase } from '../support/db.js';

let sql: postgres.Sql;
let root: string;
beforeAll(async () => {
  sql = postgres(await createTestDatabase(), { max: 2, onnotice: () => {} });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'emberplane-output-'));
});
afterEach(() => fs.rmSync(outputDirOf(root), { recursive: true, force: true }));
afterAll(async () => {
  await sql?.end();
  fs.rmSync(root, { recursive: true, force: true });
});

/** An instance's output with `lines` written to its stdout and read by the server (not stored yet). */
function outputWith(name: string, texts: string[]): { read: RuntimeLogLine[] } {
  fs.mkdirSync(outputDirOf(root), { recursive: true, mode: 0o700 });
  const output = new InstanceOutput(outputDirOf(root), name);
  const { out, err } = output.create();
  output.belongsTo('fn-1');
  const read: RuntimeLogLine[] = [];
  output.follow((lines) => read.push(...lines));
  fs.writeSync(out, texts.map((t) => `${t}\n`).join(''));
  fs.closeSync(out);
  fs.closeSync(err);
  output.drain();
  return { read };
}

/** Runs a transaction that notes itself to the lines (as FunctionLogWriter's does) and commits or rolls back. */
async function store(lines: RuntimeLogLine[], outcome: 'commit' | 'rollback'): Promise<void> {
  await sql
    .begin(async (tx) => {
      const [row] = await tx<{ id: string }[]>`select pg_current_xact_id()::text as id`;
      for (const line of lines) line.committing?.(row!.id);
      if (outcome === 'rollback') throw new Error('rolled back');
    })
    .catch((err) => {
      if (outcome === 'commit') throw err;
    });
}

const recovered = async () =>
  (await recoverOutput(root, (ids) => committedTransactions(sql, ids))).flatMap((r) => r.lines.map((l) => l.text));

describe('recovering an instance output after a kill -9', () => {
  it('skips the lines whose transaction committed before the kill, even though the server never noted them stored', async () => {
    const output = outputWith('i-1', ['b1', 'b2', 'b3']);
    expect(output.read.map((l) => l.text)).toEqual(['b1', 'b2', 'b3']);
    await store(output.read, 'commit');
    // killed here: `stored` is never told
    expect(await recovered()).toEqual([]);
  });

  it('recovers the lines whose transaction rolled back, from where the last committed batch ended', async () => {
    const output = outputWith('i-2', ['c1', 'c2']);
    await store(output.read, 'commit');
    for (const line of output.read) line.stored?.();
    const more = outputWith('i-2b', ['d1']);
    await store(more.read, 'rollback');
    expect((await recovered()).sort()).toEqual(['d1']);
  });

  it('recovers the lines of a batch retried in a second transaction that did not commit, after a first that rolled back', async () => {
    const output = outputWith('i-3', ['e1', 'e2']);
    await store(output.read, 'rollback');
    await store(output.read, 'rollback');
    expect(await recovered()).toEqual(['e1', 'e2']);
    await store(output.read, 'commit');
    expect(await recovered()).toEqual([]);
  });
});
