// @ts-check
// How far a Spark application is, from its driver's status API (used by spark-step.js).

// (1 is said only once spark-submit has ended well)
export const MAX_RUNNING_PROGRESS = 0.99;

/**
 * @typedef {{ jobId?: unknown, status?: unknown, numTasks?: unknown, numCompletedTasks?: unknown,
 *   numSkippedTasks?: unknown }} SparkJob one entry of the driver's /applications/<id>/jobs
 */

/** A job's known tasks (all its stages, pending ones included, skipped ones left out) and done ones. @param {SparkJob} j */
function countsOf(j) {
  const tasks = Math.max(0, (Number(j.numTasks) || 0) - (Number(j.numSkippedTasks) || 0));
  const done = Math.min(tasks, Math.max(0, Number(j.numCompletedTasks) || 0));
  // (a job whose tasks are all done is over, whether or not its status says so yet)
  return { tasks, done, running: j.status === 'RUNNING' && done < tasks };
}

/**
 * The application's progress over the jobs seen so far. An app's jobs come one after another and
 * none says how many will follow, so the rule keeps room for more work and spends what is left of
 * the range on the work as it appears:
 * - the jobs still running when new ones appear (with the new ones) form a *segment*, which moves
 *   progress from where it was (its floor) towards 1: floor + (1 − floor) × done / (known + room),
 *   counted in the segment's tasks (each job's counts cover all its stages, pending ones included);
 * - room is for a next job as large as the largest seen (running or over): nothing says the
 *   current job is the last.
 * So a tiny first job (a CSV header, schema inference) reads 0.5, and the big job after it moves
 * progress on from there (to 0.75) instead of leaving it there until it has done half; n equal
 * jobs read 1 − 2^−n after the n-th; one big job reads 0.5 at its end (then 1 when spark-submit
 * ends well). Never falls, at most 0.99 while the app runs.
 */
export class SparkProgress {
  constructor() {
    this.value = 0;
    this.floor = 0;
    /** @type {Set<string>} job ids seen */
    this.seen = new Set();
    /** @type {Map<string, number>} the segment's jobs → tasks done when it began */
    this.segment = new Map();
  }

  /** @param {SparkJob[]} jobs @returns {number} */
  update(jobs) {
    const byId = new Map(jobs.map((j, i) => [String(j.jobId ?? `#${i}`), countsOf(j)]));
    const fresh = [...byId.keys()].filter((id) => !this.seen.has(id));
    if (fresh.length > 0) {
      this.floor = this.value;
      this.segment = new Map();
      for (const [id, c] of byId) if (fresh.includes(id) || c.running) this.segment.set(id, fresh.includes(id) ? 0 : c.done);
      for (const id of fresh) this.seen.add(id);
    }
    let known = 0;
    let done = 0;
    for (const [id, base] of this.segment) {
      const c = byId.get(id);
      if (!c) continue;
      known += c.tasks - base;
      done += c.done - base;
    }
    const largest = Math.max(0, ...[...byId.values()].map((c) => c.tasks));
    const total = known + largest;
    if (total > 0) this.value = Math.min(MAX_RUNNING_PROGRESS, Math.max(this.value, this.floor + (1 - this.floor) * (done / total)));
    return this.value;
  }
}
