import { describe, expect, it } from 'vitest';
import { MAX_RUNNING_PROGRESS, SparkProgress } from '../../src/engine/agent/spark-progress.js';

interface Job {
  jobId: number;
  numTasks: number;
  numCompletedTasks: number;
  status: string;
  numSkippedTasks: number;
}
const job = (
  jobId: number,
  numTasks: number,
  numCompletedTasks: number,
  status = numCompletedTasks < numTasks ? 'RUNNING' : 'SUCCEEDED',
  numSkippedTasks = 0,
): Job => ({ jobId, numTasks, numCompletedTasks, status, numSkippedTasks });

/** The values a fresh rule reports over the samples. */
const run = (samples: Job[][]) => {
  const p = new SparkProgress();
  return samples.map((jobs) => p.update(jobs));
};
/** `steps` samples of job `id` (`tasks` tasks) going from none done to all done, after `before`. */
const through = (before: Job[], id: number, tasks: number, steps: number) =>
  Array.from({ length: steps + 1 }, (_, i) => [...before, job(id, tasks, Math.round((tasks * i) / steps))]);
const rising = (values: number[]) => values.every((v, i) => i === 0 || v >= values[i - 1]!);

describe('Spark progress from the driver status API', () => {
  it('a tiny first job (a CSV header, schema inference) then a big one: 0.5 after the tiny job, then rising with the big job, never stuck', () => {
    const tiny = [[job(0, 1, 0)], [job(0, 1, 1)]];
    const big = through([job(0, 1, 1)], 1, 200, 10);
    const values = run([...tiny, ...big]);
    expect(values[1]).toBe(0.5);
    expect(rising(values)).toBe(true);
    // every tenth of the big job moves progress on (not held at 0.5 until it is half done)
    const during = values.slice(2);
    for (let i = 1; i < during.length; i++) expect(during[i]).toBeGreaterThan(during[i - 1]!);
    // the big job spends half of what was left after the tiny one (the other half is room for a next job)
    expect(during[5]).toBeCloseTo(0.5 + 0.5 * (100 / 400));
    expect(values.at(-1)).toBeCloseTo(0.75);
  });

  it('one big job rises with its tasks to 0.5, room being kept for a job as large after it', () => {
    const values = run(through([], 0, 400, 8));
    expect(values[0]).toBe(0);
    expect(values[4]).toBeCloseTo(0.25);
    expect(values.at(-1)).toBeCloseTo(0.5);
  });

  it('never says 1 while the app runs', () => {
    const p = new SparkProgress();
    let value = 0;
    for (let id = 0; id < 100; id++) value = p.update([job(id, 1, 1)]);
    expect(value).toBe(MAX_RUNNING_PROGRESS);
  });

  it('many equal jobs: each spends half of what is left (1 − 2^−n after the n-th)', () => {
    const samples: Job[][] = [];
    const finished: Job[] = [];
    for (let id = 0; id < 10; id++) {
      samples.push(...through(finished, id, 8, 4));
      finished.push(job(id, 8, 8));
    }
    const values = run(samples);
    expect(rising(values)).toBe(true);
    const afterJob = (n: number) => values[n * 5 - 1]!;
    expect(afterJob(1)).toBeCloseTo(0.5);
    expect(afterJob(2)).toBeCloseTo(0.75);
    expect(afterJob(3)).toBeCloseTo(0.875);
    expect(afterJob(6)).toBeCloseTo(1 - 2 ** -6);
    expect(afterJob(10)).toBe(MAX_RUNNING_PROGRESS);
  });

  it("counts pending stages (a job's tasks include them) and leaves skipped stages out", () => {
    // a 2-stage job of 10 + 10 tasks: 10 done is half of it (with room for as much again: 10 / 40)
    expect(run([[job(0, 20, 10)]])[0]).toBeCloseTo(10 / 40);
    // 6 of its 16 tasks skipped (a cached shuffle): the 10 others done are all of it
    expect(run([[job(0, 16, 10, 'RUNNING', 6)]])[0]).toBeCloseTo(10 / 20);
  });

  it('jobs appearing together share one segment; a job still running when another appears carries on in the new one', () => {
    const together = run([
      [job(0, 10, 0), job(1, 10, 0)],
      [job(0, 10, 10), job(1, 10, 5)],
      [job(0, 10, 10), job(1, 10, 10)],
    ]);
    expect(together).toEqual([0, 15 / 30, 20 / 30]);
    // job 0 at 5 of 10 (0.25) when job 1 appears: the rest of job 0 and job 1 spend the remaining 0.75
    const overlapping = run([[job(0, 10, 5)], [job(0, 10, 5), job(1, 10, 0)], [job(0, 10, 10), job(1, 10, 10)]]);
    expect(overlapping[0]).toBeCloseTo(0.25);
    expect(overlapping[1]).toBeCloseTo(0.25);
    expect(overlapping[2]).toBeCloseTo(0.25 + 0.75 * (15 / 25));
  });

  it('says 0 until a job has tasks, and never falls when a sample is odd', () => {
    const p = new SparkProgress();
    expect(p.update([])).toBe(0);
    expect(p.update([job(0, 0, 0, 'RUNNING')])).toBe(0);
    expect(p.update([job(0, 10, 6)])).toBeCloseTo(0.3);
    // (a garbled sample: counts gone) the value stays
    expect(p.update([{ jobId: 0, status: 'RUNNING' } as unknown as Job])).toBeCloseTo(0.3);
  });
});
