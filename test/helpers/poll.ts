export interface PollOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between probes; default 50 ms. */
  intervalMs?: number;
  /**
   * What is awaited, for waits with nothing to assert on afterwards: on timeout the poll then throws
   * `timed out waiting for <what>` instead of returning the last value.
   */
  what?: string;
}

/**
 * Polls `probe` until `done` accepts its value, and returns that value (no fixed sleeps in tests). On timeout it
 * returns the last value anyway, so that the caller's assertion on it fails with what was actually seen; or, given
 * `what`, throws naming it.
 */
export async function pollUntil<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, options: PollOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, what } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() >= deadline) {
      if (what !== undefined) throw new Error(`timed out waiting for ${what}`);
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
