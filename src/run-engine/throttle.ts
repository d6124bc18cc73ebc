// PLACEHOLDER until helper-b's throttle.ts is merged (interface only).
import { DataSource } from 'typeorm';
export interface ThrottleLimits { maxReplicationLagSeconds: number; maxBlockedSessions: number; pauseMs: number; maxThrottleSeconds: number }
export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = { maxReplicationLagSeconds: 10, maxBlockedSessions: 1, pauseMs: 0, maxThrottleSeconds: 300 };
export class ThrottleExceededError extends Error {}
export class ThrottleProbe {
  constructor(private readonly dataSource: DataSource) {}
  async replicationLagSeconds(): Promise<number | null> { return null; }
  async blockedSessions(pids: number[]): Promise<number> {
    const [row] = await this.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pg_blocking_pids(pid) && $1::int[]`, [pids]);
    return row.n;
  }
}
export class Throttle {
  private blocked = 0;
  constructor(private readonly limits: ThrottleLimits, private readonly probe: ThrottleProbe, private readonly print: (line: string) => void) {}
  recordBlocked(count: number): void { this.blocked = count; }
  async beforePage(checkpoint: () => void): Promise<void> {
    checkpoint();
    if (this.limits.pauseMs > 0) await new Promise((r) => setTimeout(r, this.limits.pauseMs));
  }
  get waitedMs(): number { return 0; }
}
