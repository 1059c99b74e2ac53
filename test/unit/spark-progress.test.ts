import { describe, expect, it } from 'vitest';
import { progressOf } from '../../src/engine/agent/spark-progress.js';

const job = (numTasks: number, numCompletedTasks: number, status: string, numSkippedTasks = 0) => ({ numTasks, numCompletedTasks, status, numSkippedTasks });

describe('Spark progress from the driver status API', () => {
  it('a tiny first job (a CSV header) does not read as nearly done', () => {
    expect(progressOf([job(1, 1, 'SUCCEEDED')])).toBe(0.5);
  });

  it('counts completed over known tasks while a job runs, pending stages included', () => {
    expect(progressOf([job(1, 1, 'SUCCEEDED'), job(200, 50, 'RUNNING')])).toBeCloseTo(51 / 201);
  });

  it('between jobs holds room for another job as large as the largest seen', () => {
    expect(progressOf([job(1, 1, 'SUCCEEDED'), job(200, 200, 'SUCCEEDED')])).toBeCloseTo(201 / 401);
  });

  it('leaves skipped stages out and never says 1 while the app runs', () => {
    expect(progressOf([job(10, 4, 'RUNNING', 6)])).toBe(0.99);
    expect(progressOf([])).toBe(0);
  });
});
