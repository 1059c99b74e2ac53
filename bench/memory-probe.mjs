// Loaded into the soak's control plane (node --import): every second it writes the process's
// process.memoryUsage() to the file named by SOAK_MEMORY_FILE, so the soak can tell memory in V8's
// heap from memory outside it (Buffers, native allocations) when the RSS grows.
import { writeFileSync } from 'node:fs';

const file = process.env.SOAK_MEMORY_FILE;
if (file) {
  setInterval(() => {
    try {
      writeFileSync(file, JSON.stringify(process.memoryUsage()));
    } catch {
      // the soak's directory is gone: it is stopping
    }
  }, 1_000).unref();
}
