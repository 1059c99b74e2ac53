// The log-latency step: waits until <goFile> exists, then prints <count> lines
// "L <index> <epoch ns>" <intervalMs> apart (on a fixed schedule, so a late tick does not shift the
// rest), each stamped just before it is written. Exits 2 if the go file never appears.
// Usage: node emit-lines.mjs <goFile> <count> <intervalMs>
import { existsSync } from 'node:fs';
import { writeSync } from 'node:fs';
import { realtimeClock, toNs } from './clock.mjs';

const [goFile = '', countArg = '200', intervalArg = '5'] = process.argv.slice(2);
const count = Number(countArg);
const interval = Number(intervalArg);
const WAIT_LIMIT_MS = 180_000;

/** @param {number} millis */
const sleep = (millis) => new Promise((r) => setTimeout(r, Math.max(0, millis)));

const waitStart = Date.now();
while (!existsSync(goFile)) {
  if (Date.now() - waitStart > WAIT_LIMIT_MS) process.exit(2);
  await sleep(1);
}
const now = realtimeClock();
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  await sleep(t0 + i * interval - performance.now());
  // writeSync: the line reaches the pipe now, not at some later tick of a stream buffer
  writeSync(1, `L ${i} ${toNs(now())}\n`);
}
