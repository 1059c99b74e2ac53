// @ts-check
// How far a Spark application is, from its driver's status API (used by spark-step.js).

// (1 is said only once spark-submit has ended well)
const MAX_RUNNING_PROGRESS = 0.99;

/**
 * The application's progress from its jobs (each job's counts cover all its stages, pending ones
 * included, skipped ones left out): completed tasks over known tasks while a job runs. Between jobs
 * (none running) more work is likely to come, at least as large as the largest job seen: the
 * fraction is then done / (known + largest), so a tiny first job (a CSV header, a schema) does not
 * read as nearly done. The caller keeps it monotonic.
 * @param {any[]} jobs
 */
export function progressOf(jobs) {
  let known = 0;
  let done = 0;
  let largest = 0;
  let running = false;
  for (const j of jobs) {
    const tasks = Math.max(0, (Number(j.numTasks) || 0) - (Number(j.numSkippedTasks) || 0));
    known += tasks;
    done += Math.min(tasks, Number(j.numCompletedTasks) || 0);
    largest = Math.max(largest, tasks);
    if (j.status === 'RUNNING') running = true;
  }
  const total = running ? known : known + largest;
  return total > 0 ? Math.min(MAX_RUNNING_PROGRESS, done / total) : 0;
}
