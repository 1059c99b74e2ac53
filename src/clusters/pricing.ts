import { readFileSync } from 'node:fs';
import { INSTANCE_TYPES } from './instance-types.js';

/**
 * EMR's normalization factors by instance size (normalized instance hours = hours × factor):
 * nano 0.25, micro 0.5, small 1, medium 2, large 4, xlarge 8, then ×2 per doubling (2xlarge 16, …).
 */
export function normalizationFactor(instanceType: string): number {
  const size = instanceType.split('.').pop() ?? '';
  const fixed: Record<string, number> = { nano: 0.25, micro: 0.5, small: 1, medium: 2, large: 4, xlarge: 8 };
  if (size in fixed) return fixed[size]!;
  const m = /^(\d+)xlarge$/.exec(size);
  return m ? 8 * Number(m[1]) : 0;
}

/**
 * Built-in prices per instance hour (USD): the us-east-1 on-demand EC2 price plus the EMR uplift
 * of each type, rounded. An estimate only; PRICE_TABLE replaces any of them.
 */
export const DEFAULT_PRICES: Readonly<Record<string, number>> = {
  'm5.large': 0.12,
  'm5.xlarge': 0.24,
  'm5.2xlarge': 0.48,
  'c5.large': 0.106,
  'c5.xlarge': 0.213,
  'r5.large': 0.1575,
  'r5.xlarge': 0.315,
  't3.small': 0.026,
};

export interface PriceTable {
  currency: string;
  prices: ReadonlyMap<string, number>;
}

/**
 * PRICE_TABLE is inline JSON (it starts with `{`) or the path of a JSON file, either
 * `{"m5.large": 0.2, …}` or `{"currency": "EUR", "prices": {"m5.large": 0.2, …}}`. Types it does
 * not name keep their built-in price. A malformed table stops the server at start.
 */
export function loadPriceTable(spec: string | null): PriceTable {
  const prices = new Map(Object.entries(DEFAULT_PRICES));
  if (!spec) return { currency: 'USD', prices };
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec.trimStart().startsWith('{') ? spec : readFileSync(spec, 'utf8'));
  } catch (err) {
    throw new Error(`PRICE_TABLE is neither valid JSON nor a readable JSON file: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('PRICE_TABLE must be a JSON object');
  const obj = parsed as Record<string, unknown>;
  const nested = 'prices' in obj;
  const currency = nested ? (obj.currency ?? 'USD') : 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
    throw new Error('PRICE_TABLE currency must be a 3-letter code such as "USD"');
  const table = nested ? obj.prices : obj;
  if (!table || typeof table !== 'object' || Array.isArray(table))
    throw new Error('PRICE_TABLE prices must be an object of instance type → price per hour');
  const known = new Set(INSTANCE_TYPES.map((t) => t.name));
  for (const [type, price] of Object.entries(table)) {
    if (!known.has(type)) throw new Error(`PRICE_TABLE names an unknown instance type "${type}"`);
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0)
      throw new Error(`PRICE_TABLE price of ${type} must be a non-negative number`);
    prices.set(type, price);
  }
  return { currency, prices };
}
