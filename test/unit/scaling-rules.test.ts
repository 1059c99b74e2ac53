// The arithmetic of scaling decisions (src/clusters/scaling/rules.ts), branch by branch. The
// Spark-driven growth is also covered end to end in test/spark/managed-scaling.test.ts.
import { describe, expect, it } from 'vitest';
import { adjustedCapacity, compare, managedDecision, type ManagedInputs } from '../../src/clusters/scaling/rules.js';

describe('rule arithmetic', () => {
  it('comparison operators', () => {
    expect([
      compare(1, 'GREATER_THAN_OR_EQUAL', 1),
      compare(1, 'GREATER_THAN', 1),
      compare(1, 'LESS_THAN', 1),
      compare(1, 'LESS_THAN_OR_EQUAL', 1),
    ]).toEqual([true, false, false, true]);
  });

  it('adjustments stay within the constraints; percentages move by at least one instance', () => {
    expect(adjustedCapacity(2, { adjustmentType: 'CHANGE_IN_CAPACITY', scalingAdjustment: 3 }, 0, 4)).toBe(4);
    expect(adjustedCapacity(2, { adjustmentType: 'CHANGE_IN_CAPACITY', scalingAdjustment: -5 }, 1, 4)).toBe(1);
    expect(adjustedCapacity(4, { adjustmentType: 'PERCENT_CHANGE_IN_CAPACITY', scalingAdjustment: 50 }, 0, 10)).toBe(6);
    expect(adjustedCapacity(3, { adjustmentType: 'PERCENT_CHANGE_IN_CAPACITY', scalingAdjustment: 10 }, 0, 10)).toBe(4);
    expect(adjustedCapacity(0, { adjustmentType: 'PERCENT_CHANGE_IN_CAPACITY', scalingAdjustment: 10 }, 0, 10)).toBe(1);
    expect(adjustedCapacity(3, { adjustmentType: 'PERCENT_CHANGE_IN_CAPACITY', scalingAdjustment: -10 }, 0, 10)).toBe(2);
    expect(adjustedCapacity(3, { adjustmentType: 'EXACT_CAPACITY', scalingAdjustment: 7 }, 0, 5)).toBe(5);
  });
});

describe('managed scaling decisions', () => {
  const base: ManagedInputs = {
    limits: { minimumCapacityUnits: 1, maximumCapacityUnits: 6, maximumCoreCapacityUnits: null },
    coreRequested: 1,
    taskRequested: 0,
    spark: null,
    idle: false,
    idlePeriods: 3,
    cooledDown: true,
    settling: false,
  };
  const spark = (appsRunning: number, appsPending: number, coresFree: number) => ({ appsRunning, appsPending, coresFree });

  it('limits first, cooldown or not, settled or not', () => {
    expect(managedDecision({ ...base, limits: { ...base.limits, minimumCapacityUnits: 4 }, settling: true })).toMatchObject({
      role: 'TASK',
      to: 3,
    });
    expect(
      managedDecision({ ...base, coreRequested: 3, limits: { ...base.limits, maximumCoreCapacityUnits: 2 }, cooledDown: false }),
    ).toMatchObject({ role: 'CORE', to: 2 });
    expect(managedDecision({ ...base, coreRequested: 2, taskRequested: 6, cooledDown: false })).toMatchObject({ role: 'TASK', to: 4 });
    expect(managedDecision({ ...base, limits: { ...base.limits, minimumCapacityUnits: 4 }, cooledDown: false })).toMatchObject({
      role: 'TASK',
      to: 3,
    });
  });

  it('grows TASK by the waiting applications (at least one) up to the maximum, after the cooldown', () => {
    expect(managedDecision({ ...base, spark: spark(1, 2, 0) })).toEqual({
      role: 'TASK',
      to: 2,
      reason: '2 Spark application(s) waiting for cores',
    });
    expect(managedDecision({ ...base, spark: spark(2, 0, 0) })).toEqual({
      role: 'TASK',
      to: 1,
      reason: 'all cores busy with 2 running Spark application(s)',
    });
    expect(managedDecision({ ...base, taskRequested: 4, spark: spark(1, 9, 0) })).toMatchObject({ to: 5 });
    expect(managedDecision({ ...base, taskRequested: 5, spark: spark(1, 9, 0) })).toBeNull();
    expect(managedDecision({ ...base, spark: spark(1, 2, 0), cooledDown: false })).toBeNull();
    // not before the nodes of the previous decision are up
    expect(managedDecision({ ...base, spark: spark(1, 2, 0), settling: true })).toBeNull();
    // running applications with free cores are not waiting
    expect(managedDecision({ ...base, taskRequested: 2, spark: spark(1, 0, 3) })).toBeNull();
  });

  it('shrinks TASK to the floor only when idle', () => {
    expect(managedDecision({ ...base, taskRequested: 3, idle: true })).toEqual({
      role: 'TASK',
      to: 0,
      reason: 'idle for 3 evaluation periods',
    });
    expect(managedDecision({ ...base, taskRequested: 3, idle: true, limits: { ...base.limits, minimumCapacityUnits: 3 } })).toMatchObject({
      to: 2,
    });
    expect(managedDecision({ ...base, taskRequested: 3, idle: false })).toBeNull();
    expect(managedDecision({ ...base, taskRequested: 3, idle: true, cooledDown: false })).toBeNull();
    expect(managedDecision({ ...base, taskRequested: 3, idle: true, settling: true })).toBeNull();
  });
});
