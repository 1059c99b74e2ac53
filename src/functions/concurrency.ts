// Lambda's concurrency rules: a function with reserved concurrency runs at most that many at once;
// the others share what the account limit leaves unreserved. Counted per server process (every
// server enforces the limits for the invocations it runs).

export type ThrottleReason = 'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

export class ConcurrencyGate {
  private readonly perFunction = new Map<string, number>();
  private unreservedInFlight = 0;
  private total = 0;

  constructor(readonly limit: number) {}

  /** Takes a slot, or says why there is none. `reservedTotal` is the sum of all reservations. */
  tryAcquire(
    functionId: string,
    reserved: number | null,
    reservedTotal: number,
  ): { ok: true; concurrency: number } | { ok: false; reason: ThrottleReason } {
    const current = this.perFunction.get(functionId) ?? 0;
    if (reserved !== null) {
      if (current >= reserved) return { ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
    } else if (this.unreservedInFlight >= this.limit - reservedTotal) {
      return { ok: false, reason: 'ConcurrentInvocationLimitExceeded' };
    }
    this.perFunction.set(functionId, current + 1);
    if (reserved === null) this.unreservedInFlight++;
    this.total++;
    return { ok: true, concurrency: current + 1 };
  }

  release(functionId: string, reserved: number | null): void {
    const current = this.perFunction.get(functionId) ?? 0;
    if (current <= 1) this.perFunction.delete(functionId);
    else this.perFunction.set(functionId, current - 1);
    if (reserved === null) this.unreservedInFlight--;
    this.total--;
  }

  inFlight(functionId?: string): number {
    return functionId ? (this.perFunction.get(functionId) ?? 0) : this.total;
  }
}
