import { AppError } from '../errors.js';

/**
 * Per-key rates of the fields whose cost lands in the control plane's own process and that no
 * other limit bounds: sqlPreview runs DuckDB in this process (up to SQL_PREVIEW_TIMEOUT_MS and
 * SQL_PREVIEW_MEMORY_MB each). Function invocations have their concurrency limits; log pages are
 * index reads of at most 100 lines. A token bucket per key and field: `burst` calls at once, then
 * `perMinute`. Counted per server process (docs/api.md "Limits").
 */
export type RateLimitedField = 'sqlPreview';
export type FieldRates = Record<RateLimitedField, { burst: number; perMinute: number }>;

interface Bucket {
  tokens: number;
  at: number;
}
const MAX_BUCKETS = 10_000;

export class KeyRateLimiter {
  private buckets = new Map<string, Bucket>();

  constructor(private readonly rates: FieldRates) {}

  /** Takes one call of `field` for `keyId`, or throws THROTTLED with the seconds to wait. */
  take(keyId: string, field: RateLimitedField, now = Date.now()): void {
    const { burst, perMinute } = this.rates[field];
    const id = `${keyId}|${field}`;
    const bucket = this.buckets.get(id) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 60_000) * perMinute);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(id, bucket);
      const retryAfterSeconds = Math.ceil(((1 - bucket.tokens) * 60) / perMinute);
      throw new AppError(
        'THROTTLED',
        `Rate exceeded: ${field} allows ${burst} calls at once, then ${perMinute} a minute per API key`,
        undefined,
        { retryAfterSeconds },
      );
    }
    bucket.tokens -= 1;
    this.buckets.set(id, bucket);
    if (this.buckets.size > MAX_BUCKETS) this.forgetRefilled(now);
  }

  /** A bucket refilled to its burst is the state of a key never seen: the map keeps only recent callers. */
  private forgetRefilled(now: number): void {
    for (const [id, bucket] of this.buckets) {
      const { burst, perMinute } = this.rates[id.slice(id.lastIndexOf('|') + 1) as RateLimitedField];
      if (bucket.tokens + ((now - bucket.at) / 60_000) * perMinute >= burst) this.buckets.delete(id);
    }
  }
}
