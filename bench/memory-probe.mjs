// Loaded into the soak's control plane (node --import): every second it writes the process's
// process.memoryUsage() to the file named by SOAK_MEMORY_FILE, so the soak can tell memory in V8's
// heap from memory outside it (Buffers, native allocations) when the RSS grows, with the time its
// thread has spent in GC pauses so far and how many of those were full (mark-compact) GCs, so the
// soak can tell whether a window's latency went to GC.
import { writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.SOAK_MEMORY_FILE;
if (file) {
  let gcPauseMs = 0;
  let fullGcs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcPauseMs += entry.duration;
      const detail = /** @type {{ kind?: number } | undefined} */ (/** @type {{ detail?: unknown }} */ (entry).detail);
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    try {
      writeFileSync(file, JSON.stringify({ ...process.memoryUsage(), gcPauseMs, fullGcs }));
    } catch {
      // the soak's directory is gone: it is stopping
    }
  }, 1_000).unref();
}
