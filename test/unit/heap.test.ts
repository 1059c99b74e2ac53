// limitHeapGrowth (src/platform/heap.ts), as a server process calls it at startup: V8 then collects
// the old generation once it has grown to 1.5x what the last full GC left, so a program that keeps
// moving objects into the old generation peaks there at a fraction of what the 4x of
// `--heap-growing-percent=300` on the command line lets it reach (which limitHeapGrowth leaves).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// a million objects that stay, then 8 million through a ring of 200,000: each outlives two young
// collections, so the old generation fills with garbage that only a full GC takes back
const PROGRAM = `
import v8 from 'node:v8';
import { limitHeapGrowth } from './src/platform/heap.ts';
limitHeapGrowth();
const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
const live = Array.from({ length: 1_000_000 }, (_, i) => ({ i, s: 'live ' + i }));
const ring = new Array(200_000);
let peak = 0;
for (let n = 0; n < 8_000_000; n++) {
  ring[n % ring.length] = { n, s: 'item ' + n };
  if (n % 10_000 === 0) peak = Math.max(peak, oldSpace());
}
console.log(JSON.stringify({ peak, kept: live.length + ring.length }));
`;

/** The old generation's largest size (bytes) while the program runs with these node flags. */
async function oldGenerationPeak(nodeFlags: string[]): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', PROGRAM], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return (JSON.parse(stdout) as { peak: number }).peak;
}

describe('limitHeapGrowth', () => {
  it('keeps the old generation near its live size: under 60% of the peak a 4x growing factor given on the command line reaches', async () => {
    const limited = await oldGenerationPeak([]);
    const given = await oldGenerationPeak(['--heap-growing-percent=300']);
    expect(limited).toBeLessThan(0.6 * given);
  }, 120_000);
});
