import { DataSource } from 'typeorm';

/** When an online run waits before its next page. */
export interface ThrottleLimits {
  maxReplicationLagSeconds: number;
  maxBlockedSessions: number;
  pauseMs: number;
  maxThrottleSeconds: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = { maxReplicationLagSeconds: 10, maxBlockedSessions: 1, pauseMs: 0, maxThrottleSeconds: 300 };

/** The run was throttled longer than --max-throttle in all. */
export class ThrottleExceededError extends Error {}

/** PostgreSQL's own signals that the run should wait, read through the pool (never on a page's connection). */
export class ThrottleProbe {
  constructor(private readonly dataSource: DataSource) {}

  /** The largest replay lag of the standbys, in seconds; null without standbys. */
  async replicationLagSeconds(): Promise<number | null> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS standbys, COALESCE(max(EXTRACT(epoch FROM replay_lag)), 0)::float8 AS lag FROM pg_stat_replication`,
    );
    return row.standbys === 0 ? null : row.lag;
  }

  /** Sessions waiting on a lock held by any of these backends. */
  async blockedSessions(pids: number[]): Promise<number> {
    const [row] = await this.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pg_blocking_pids(pid) && $1::int[]`, [pids]);
    return row.n;
  }
}

const POLL_MS = 500;
const BLOCKED_BACKOFF_MS = 1000;

/** Holds an online run before each page while the database says so; the waits add up against --max-throttle. */
export class Throttle {
  private blocked = 0;
  private waited = 0;

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly probe: ThrottleProbe,
    private readonly print: (line: string) => void,
  ) {}

  /** Sessions that waited on the last page's locks (measured before its commit). */
  recordBlocked(count: number): void {
    this.blocked = count;
  }

  get waitedMs(): number {
    return this.waited;
  }

  async beforePage(checkpoint: () => void): Promise<void> {
    if (this.limits.pauseMs > 0) await sleep(this.limits.pauseMs);
    checkpoint();
    if (this.blocked > this.limits.maxBlockedSessions) {
      this.print(`Throttled: ${this.blocked} sessions blocked by the run > ${this.limits.maxBlockedSessions}; waiting`);
      await this.wait(BLOCKED_BACKOFF_MS, `${this.blocked} sessions blocked by the run > ${this.limits.maxBlockedSessions}`);
      this.blocked = 0;
    }
    let printed = false;
    for (;;) {
      checkpoint();
      const lag = await this.probe.replicationLagSeconds();
      if (lag === null || lag <= this.limits.maxReplicationLagSeconds) return;
      const why = `replica lag ${lag.toFixed(1)} s > ${this.limits.maxReplicationLagSeconds} s`;
      if (!printed) this.print(`Throttled: ${why}; waiting`);
      printed = true;
      await this.wait(POLL_MS, why);
    }
  }

  private async wait(ms: number, why: string): Promise<void> {
    if (this.waited + ms > this.limits.maxThrottleSeconds * 1000) {
      throw new ThrottleExceededError(`Throttled for more than ${this.limits.maxThrottleSeconds} s (--max-throttle ${this.limits.maxThrottleSeconds}): ${why}`);
    }
    await sleep(ms);
    this.waited += ms;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
