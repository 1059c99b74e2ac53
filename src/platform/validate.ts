import { badInput } from './errors.js';

// Limits on user input: bound what one request can make the system store or do.
export const Limits = {
  nameLength: 256,
  argCount: 1_000,
  argLength: 16_384,
  envEntries: 256,
  envBytes: 65_536,
  stepsPerRequest: 256,
  activeStepsPerCluster: 256,
  instancesPerGroup: 64,
  instancesPerCluster: 128,
  idsPerRequest: 256,
  pageSize: 100,
  clientTokenLength: 64,
} as const;

export function requireName(value: string, field: string, max: number = Limits.nameLength): string {
  const trimmed = value.trim();
  if (!trimmed) throw badInput(field, 'must not be empty');
  if (value.length > max) throw badInput(field, `must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw badInput(field, 'must not contain control characters');
  return trimmed;
}

/** An AWS-style resource name: 1 to `max` letters, digits, hyphens or underscores. */
export function requireIdentifier(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw badInput(field, `must be 1 to ${max} letters, digits, hyphens or underscores`);
  }
  return value;
}

export function requireIntInRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badInput(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function requireList<T>(value: readonly T[], field: string, min: number, max: number): readonly T[] {
  if (value.length < min) throw badInput(field, min === 1 ? 'must not be empty' : `needs at least ${min} items`);
  if (value.length > max) throw badInput(field, `must have at most ${max} items`);
  return value;
}

export function requireEnv(value: unknown, field: string): Record<string, string> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be an object of string values');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > Limits.envEntries) throw badInput(field, `must have at most ${Limits.envEntries} variables`);
  let bytes = 0;
  const env: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw badInput(`${field}.${k}`, 'is not a valid environment variable name');
    if (typeof v !== 'string') throw badInput(`${field}.${k}`, 'must be a string');
    if (v.includes('\0')) throw badInput(`${field}.${k}`, 'must not contain NUL');
    bytes += k.length + v.length;
    env[k] = v;
  }
  if (bytes > Limits.envBytes) throw badInput(field, `must be at most ${Limits.envBytes} bytes in total`);
  return env;
}
