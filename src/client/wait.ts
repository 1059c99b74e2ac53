// Waiting for a resource to reach a state, as `aws emr wait` does: ask again until the check gives a
// value. The pace is a polite poll, not a deadline: the caller decides how long it will wait.
const POLL_MS = 1_000;

export async function waitFor<T>(check: () => Promise<T | null>, pollMs = POLL_MS): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
