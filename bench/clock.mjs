// A wall clock (epoch milliseconds, sub-microsecond resolution) that can be compared across
// processes on this machine. Date.now() has 1 ms resolution and performance.now() has no epoch, so
// performance.now() is anchored to the instant Date.now() ticks over to a new millisecond
// (Date.now() floors the real time, so at that instant the real time is the new value + ~0).
// Anchoring error is the duration of one loop iteration (well under 1 µs); re-anchor per measurement
// run so that a drift between the monotonic and the real-time clock does not accumulate.

/** @returns {() => number} epoch time in milliseconds (fractional) */
export function realtimeClock() {
  const start = Date.now();
  let p = performance.now();
  let d = Date.now();
  while (d === start) {
    p = performance.now();
    d = Date.now();
  }
  const offset = d - p;
  return () => offset + performance.now();
}

/** @param {number} epochMs @returns {string} the same instant in integer epoch nanoseconds */
export function toNs(epochMs) {
  return (BigInt(Math.round(epochMs * 1000)) * 1000n).toString();
}

/** @param {string} ns integer epoch nanoseconds (as `date +%s%N` prints) @returns {number} epoch ms */
export function nsToMs(ns) {
  return Number(BigInt(ns) / 1000n) / 1000;
}
