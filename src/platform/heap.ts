import v8 from 'node:v8';

/**
 * How far past what the last full GC left V8 lets the old generation grow before the next one, in
 * percent, in a server process. By default V8 picks the factor from how fast it collects against how
 * fast the program allocates, up to 4x: under the soak's steady load (bench:soak) it let 55 MB of
 * live objects grow to 150–210 MB of old generation between full GCs, and the server's RSS (252–410
 * MB) rose and fell with that sawtooth. At 1.5x the old generation stays under 90 MB and the RSS
 * within a few MB, for about two full GCs where there was one (their pauses added ~1 ms a second).
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Sets V8's old-generation growing factor for this process (main.ts, and the bench's in-process
 * server), unless its command line gives one (`node --heap-growing-percent=N`: V8 does not take it
 * from NODE_OPTIONS). V8 reads the flag at every full GC, so setting it at startup is as good as the
 * command line.
 */
export function limitHeapGrowth(): void {
  if (process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
