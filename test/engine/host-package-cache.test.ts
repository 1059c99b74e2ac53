// A joined host's code package cache (src/engine/host/package-cache.ts) on a real directory, fetching
// from a real HTTP server standing in for the control plane's GET /host/code/<hash>: packages unused
// for the grace are removed (and fetched again, by hash, when next used), those handed out lately,
// held by work under way or being fetched stay, and temporary files of fetches cut short go.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PackageCache } from '../../src/engine/host/package-cache.js';
import { waitUntil } from '../support/processes.js';

const GRACE_MS = 3_600_000;

/** what the control plane serves, by hash; `wrong` serves other bytes under a hash */
const served = new Map<string, Buffer>();
const wrong = new Map<string, Buffer>();
/** requests per hash */
const requests = new Map<string, number>();
/** a hash whose response waits until the test lets it go */
const gated = new Map<string, Promise<void>>();
let server: http.Server;
let base = '';
let dir = '';
let caches: PackageCache[] = [];

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    const hash = /^\/host\/code\/([0-9a-f]{64})$/.exec(req.url ?? '')?.[1] ?? '';
    requests.set(hash, (requests.get(hash) ?? 0) + 1);
    await gated.get(hash);
    const body = wrong.get(hash) ?? served.get(hash);
    if (!body) {
      res.writeHead(404).end('no such package');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/zip' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emberplane-pkgcache-'));
});

afterEach(() => {
  for (const c of caches) c.stop();
  caches = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function newCache(o: { dir?: string; log?: (line: string) => void } = {}): PackageCache {
  const cache = new PackageCache({
    dir: o.dir ?? path.join(dir, 'code'),
    graceMs: GRACE_MS,
    download: async (hash) => {
      const res = await fetch(`${base}/host/code/${hash}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    log: o.log ?? (() => {}),
  });
  caches.push(cache);
  return cache;
}

/** a package the control plane serves: its hash */
function publish(): string {
  const body = crypto.randomBytes(256);
  const hash = crypto.createHash('sha256').update(body).digest('hex');
  served.set(hash, body);
  return hash;
}

const fileOf = (hash: string) => path.join(dir, 'code', `${hash}.zip`);
/** a package handed out (its file on disk, as an instance would be given it) */
const use = (cache: PackageCache, hash: string) => cache.holding([hash], async (pathOf) => pathOf(hash));
/** sets a file's last use `ms` ago */
const age = (file: string, ms: number) => {
  const at = (Date.now() - ms) / 1_000;
  fs.utimesSync(file, at, at);
};
const exists = (file: string) => fs.existsSync(file);

describe('the host package cache', () => {
  it('fetches a package once, checks its hash, and hands out the same file after', async () => {
    const cache = newCache();
    const hash = publish();
    const [a, b] = await Promise.all([use(cache, hash), use(cache, hash)]);
    expect(a).toBe(fileOf(hash));
    expect(b).toBe(a);
    expect(fs.readFileSync(a).equals(served.get(hash)!)).toBe(true);
    expect(await use(cache, hash)).toBe(a);
    expect(requests.get(hash)).toBe(1);

    const forged = publish();
    wrong.set(forged, crypto.randomBytes(256));
    await expect(use(cache, forged)).rejects.toThrow(/has hash [0-9a-f]{64}: refused/);
    expect(fs.readdirSync(path.join(dir, 'code'))).toEqual([`${hash}.zip`]);
    await expect(cache.holding(['../host.json'], async () => null)).rejects.toThrow(/not a code hash/);
  });

  it('removes a package unused for the grace, keeps a fresh one, and fetches a removed one again when used', async () => {
    const cache = newCache();
    const [old, fresh] = [publish(), publish()];
    await use(cache, old);
    await use(cache, fresh);
    age(fileOf(old), GRACE_MS + 60_000);
    age(fileOf(fresh), GRACE_MS - 60_000);
    expect(await cache.sweep()).toEqual({ files: 1, bytes: 256 });
    expect(exists(fileOf(old))).toBe(false);
    expect(exists(fileOf(fresh))).toBe(true);

    expect(fs.readFileSync(await use(cache, old)).equals(served.get(old)!)).toBe(true);
    expect(requests.get(old)).toBe(2);
  });

  it('counts handing a package out as a use, touching its file only when the last use is older than a tenth of the grace', async () => {
    const cache = newCache();
    const [stale, recent] = [publish(), publish()];
    await use(cache, stale);
    await use(cache, recent);
    age(fileOf(stale), GRACE_MS + 60_000);
    age(fileOf(recent), GRACE_MS / 20);
    const [staleMtime, recentMtime] = [fs.statSync(fileOf(stale)).mtimeMs, fs.statSync(fileOf(recent)).mtimeMs];
    await use(cache, stale);
    await use(cache, recent);
    expect(fs.statSync(fileOf(stale)).mtimeMs).toBeGreaterThan(staleMtime + GRACE_MS);
    expect(fs.statSync(fileOf(recent)).mtimeMs).toBe(recentMtime);
    expect(await cache.sweep()).toEqual({ files: 0, bytes: 0 });
    expect(exists(fileOf(stale))).toBe(true);
    expect(requests.get(stale)).toBe(1);
  });

  it('never removes a package held by work under way or being fetched', async () => {
    const cache = newCache();
    const held = publish();
    await cache.holding([held], async (pathOf) => {
      // unused for longer than the grace as far as the file says, but an instance is starting with it
      age(pathOf(held), GRACE_MS + 60_000);
      expect(await cache.sweep()).toEqual({ files: 0, bytes: 0 });
      expect(exists(pathOf(held))).toBe(true);
    });
    // released, it is an old unused package like any other
    expect(await cache.sweep()).toEqual({ files: 1, bytes: 256 });

    const fetching = publish();
    let letGo = () => {};
    gated.set(fetching, new Promise<void>((r) => (letGo = r)));
    const handedOut = use(cache, fetching);
    await waitUntil(() => requests.get(fetching) === 1, 'the fetch under way');
    // what an earlier fetch of the same package left, as old as can be: the fetch under way owns the name now
    const leftover = `${fileOf(fetching)}.${process.pid}.0badc0de.tmp`;
    fs.writeFileSync(leftover, 'cut short');
    age(leftover, GRACE_MS + 60_000);
    expect(await cache.sweep()).toEqual({ files: 0, bytes: 0 });
    expect(exists(leftover)).toBe(true);
    letGo();
    expect(fs.readFileSync(await handedOut).equals(served.get(fetching)!)).toBe(true);
    expect(await cache.sweep()).toEqual({ files: 1, bytes: 'cut short'.length });
    expect(exists(leftover)).toBe(false);
    expect(exists(fileOf(fetching))).toBe(true);
  });

  it('removes the temporary files of fetches cut short once older than the grace, and nothing it did not write', async () => {
    const cache = newCache();
    const hash = publish();
    await use(cache, hash);
    const stale = `${fileOf(hash)}.4242.0badc0de.tmp`;
    const recent = `${fileOf(hash)}.4242.c0ffee00.tmp`;
    const foreign = path.join(dir, 'code', 'notes.txt');
    for (const f of [stale, recent, foreign]) fs.writeFileSync(f, 'x');
    age(stale, GRACE_MS + 60_000);
    age(recent, GRACE_MS / 2);
    age(foreign, GRACE_MS * 10);
    expect(await cache.sweep()).toEqual({ files: 1, bytes: 1 });
    expect([stale, recent, foreign, fileOf(hash)].map(exists)).toEqual([false, true, true, true]);
  });

  it('sweeps on its timer until stopped, and a failed sweep is logged and tried again', async () => {
    const cache = newCache();
    const hash = publish();
    await use(cache, hash);
    age(fileOf(hash), GRACE_MS + 60_000);
    cache.start(10);
    await waitUntil(() => !exists(fileOf(hash)), 'the old package swept by the timer');
    cache.stop();

    const lines: string[] = [];
    const notADir = path.join(dir, 'file');
    fs.writeFileSync(notADir, '');
    const broken = newCache({ dir: notADir, log: (line) => lines.push(line) });
    broken.start(10);
    await waitUntil(() => lines.length >= 2, 'two failed sweeps logged');
    expect(lines[0]).toMatch(/^sweeping the code package cache failed \(the next sweep tries again\): ENOTDIR/);
  });
});
