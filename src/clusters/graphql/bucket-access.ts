import { authorize, type Principal } from '../../platform/authorization.js';
import type { StepInput } from './inputs.js';

/**
 * Script, Spark and SQL steps and bootstrap actions read objects, and Spark and SQL steps write
 * them: a key that may run steps needs the bucket rights too, or a cluster would launder access.
 */
export function authorizeBucketUse(
  principal: Principal | null,
  steps: readonly StepInput[] | null | undefined,
  bootstrapActions = 0,
): void {
  const list = steps ?? [];
  if (bootstrapActions > 0 || list.some((s) => s.script || s.spark || s.sql)) authorize(principal, 'buckets:GetObject');
  if (list.some((s) => s.spark || s.sql)) authorize(principal, 'buckets:PutObject');
}
