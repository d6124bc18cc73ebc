/** What holds an online run between pages (issue 13: --max-replication-lag, --max-blocked-sessions, --pause, --max-throttle). */
export interface ThrottleLimits {
  maxReplicationLagSeconds: number;
  maxBlockedSessions: number;
  pauseMs: number;
  maxThrottleSeconds: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  maxReplicationLagSeconds: 10,
  maxBlockedSessions: 1,
  pauseMs: 0,
  maxThrottleSeconds: 300,
};

/** The run was held longer than --max-throttle in total; the runner ends it as stopped part-way (exit 4). */
export class ThrottleExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThrottleExceededError';
  }
}

/** pg_stat_replication lists standbys but hides their positions from this role: the lag cannot be measured. */
export class ReplicationLagHiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicationLagHiddenError';
  }
}

// ---- PostgreSQL's signals (the only SQL of throttling) ----

// One row per standby (walsenders of pg_basebackup, state 'backup', are not standbys), or one row of NULLs beside the
// primary's current WAL position when there is none. Positions as byte offsets (numeric text) to compare exactly.
const STANDBYS_SQL = `
  SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS current_pos,
         r.pid, r.state,
         pg_wal_lsn_diff(r.replay_lsn, '0/0')::text AS replay_pos,
         extract(epoch FROM r.replay_lag)::float8 AS replay_lag_seconds
    FROM (SELECT 1) AS one
    LEFT JOIN pg_stat_replication AS r ON r.state IS DISTINCT FROM 'backup'`;

// pg_locks rather than pg_stat_activity: it shows other roles' waiting sessions to any role. Transitive, because a
// second session queued on the same row waits on the first waiter's tuple lock, not on the run (pg_blocking_pids).
const BLOCKED_SESSIONS_SQL = `
  WITH RECURSIVE waiting AS (
         SELECT DISTINCT pid, pg_blocking_pids(pid) AS blockers FROM pg_locks WHERE NOT granted AND pid <> ALL($1::int[])
       ),
       blocked AS (
         SELECT pid FROM waiting WHERE blockers && $1::int[]
          UNION
         SELECT waiting.pid FROM waiting JOIN blocked ON blocked.pid = ANY (waiting.blockers)
       )
  SELECT count(*)::int AS blocked FROM blocked`;

interface StandbyRow {
  current_pos: string;
  pid: number | null;
  state: string | null;
  replay_pos: string | null;
  replay_lag_seconds: number | null;
}

interface WalSample {
  at: number;
  pos: bigint;
}

const MAX_SAMPLES = 1000;

/** Where the probe's statements run: the DataSource's pool, or one connection (an online run's lock's). */
export interface ProbeConnection {
  query(sql: string, parameters?: unknown[]): Promise<any>;
}

/** Reads the throttle's signals, never on the connection of the page in flight. */
export class ThrottleProbe {
  // When (by this probe's clock) the primary's WAL was first seen to reach each position: the lower bound below.
  private samples: WalSample[] = [];

  constructor(
    private readonly connection: ProbeConnection,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The largest replay lag of the standbys, in seconds; null when there are none.
   *
   * Why not replay_lag alone (measured on PostgreSQL 15 and 18, a standby paused by pg_wal_replay_pause()): the column is
   * computed only when the standby sends a status message, which it does on receiving WAL or every
   * wal_receiver_status_interval (10 s). A paused standby on a quiet primary (the run itself waiting) therefore shows a
   * frozen replay_lag (0.0002 s, or NULL, while 15 s behind), growing in 10 s steps at best; and after catching up it
   * keeps showing the old lag for another interval before turning NULL. So: a standby whose reported replay position
   * has reached the primary's current WAL counts 0, whatever replay_lag still says; one that is behind counts at least
   * the time since this probe first saw WAL beyond its replay position (the primary's own lag tracker, kept here
   * between calls), or replay_lag if that is larger. (A replay_lag measured during a catch-up lingers until the next
   * fresh measurement; while the standby is reported behind it is taken as it is: the error is to wait, not to rush.)
   */
  async replicationLagSeconds(): Promise<number | null> {
    const rows: StandbyRow[] = await this.connection.query(STANDBYS_SQL);
    const at = this.now();
    const current = BigInt(rows[0].current_pos);
    const standbys = rows.filter((row) => row.pid !== null);
    if (standbys.length === 0) {
      this.samples = [];
      return null;
    }
    if (standbys.some((row) => row.state === null)) {
      const [{ role }] = await this.connection.query('SELECT current_user AS role');
      throw new ReplicationLagHiddenError(
        `Cannot measure replica lag: pg_stat_replication hides the standbys' positions from role "${role}"; grant it pg_monitor (or pg_read_all_stats)`,
      );
    }
    this.remember(at, current);
    let lag = 0;
    for (const standby of standbys) lag = Math.max(lag, this.lagOf(standby, current, at));
    this.forgetReplayed(standbys);
    return lag;
  }

  /** How many other sessions wait on a lock held by any of these backends, directly or queued behind another waiter. */
  async blockedSessions(pids: number[]): Promise<number> {
    if (pids.length === 0) return 0;
    const [row] = await this.connection.query(BLOCKED_SESSIONS_SQL, [pids]);
    return row.blocked;
  }

  private lagOf(standby: StandbyRow, current: bigint, at: number): number {
    const reported = standby.replay_lag_seconds ?? 0;
    if (standby.replay_pos === null) return reported; // not replaying (pg_receivewal) or not reported yet
    const replayed = BigInt(standby.replay_pos);
    if (replayed >= current) return 0;
    const firstUnreplayed = this.samples.find((sample) => sample.pos > replayed);
    return Math.max(reported, firstUnreplayed ? (at - firstUnreplayed.at) / 1000 : 0);
  }

  private remember(at: number, pos: bigint): void {
    const last = this.samples[this.samples.length - 1];
    if (last && last.pos >= pos) return; // the earliest sighting of a position is the one that bounds its wait
    this.samples.push({ at, pos });
    // Thin out, keeping the oldest: it is the one that bounds the lag of a standby stuck far behind.
    if (this.samples.length > MAX_SAMPLES) this.samples = this.samples.filter((_, index) => index === 0 || index % 2 === 0);
  }

  private forgetReplayed(standbys: StandbyRow[]): void {
    const positions = standbys.filter((s) => s.replay_pos !== null).map((s) => BigInt(s.replay_pos!));
    if (positions.length === 0) return;
    const slowest = positions.reduce((a, b) => (a < b ? a : b));
    this.samples = this.samples.filter((sample) => sample.pos > slowest);
  }
}

// ---- the policy ----

export interface ThrottleClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: ThrottleClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const LAG_POLL_MS = 500;
// Sessions blocked by the last page: the row locks are gone with its commit, so one back-off lets them through.
const BLOCKED_BACKOFF_MS = 1000;

const seconds = (value: number) => `${value} s`;
// Rounded up to a tenth, so that a lag just over the limit never reads as equal to it ("1.0 s > 1 s").
const lagSeconds = (lag: number) => `${(Math.ceil(lag * 10 - 1e-9) / 10).toFixed(1)} s`;

/**
 * Holds an online run before each page while PostgreSQL says it hurts: a standby lagging, or sessions blocked by the
 * run's last page. Prints one line per wait, and fails the run once its waits add up to more than maxThrottleSeconds.
 */
export class Throttle {
  private blocked = 0;
  private throttledMs = 0;
  private pausedTotalMs = 0;
  private pages = 0;

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly probe: ThrottleProbe,
    private readonly print: (line: string) => void,
    private readonly clock: ThrottleClock = REAL_CLOCK,
  ) {}

  /** Total time held by the throttle (lag and blocked sessions; not --pause): excluded from the run's timing. */
  get waitedMs(): number {
    return this.throttledMs;
  }

  /** Total time of the fixed --pause between pages. */
  get pausedMs(): number {
    return this.pausedTotalMs;
  }

  /** Sessions found waiting on the run's locks just before the last page's COMMIT. */
  recordBlocked(count: number): void {
    this.blocked = count;
  }

  /**
   * Before each page: the fixed pause (between pages: not before the first), then waits while a signal is over its
   * limit. checkpoint() throws when a signal arrived; it is called after every sleep.
   */
  async beforePage(checkpoint: () => void): Promise<void> {
    this.pages += 1;
    if (this.limits.pauseMs > 0 && this.pages > 1) {
      const started = this.clock.now();
      await this.clock.sleep(this.limits.pauseMs);
      this.pausedTotalMs += this.clock.now() - started;
      checkpoint();
    }
    if (this.blocked > this.limits.maxBlockedSessions) {
      // The contract's form, letter for letter, whatever the count ("1 sessions" included).
      const reason = `${this.blocked} sessions blocked by the run > ${this.limits.maxBlockedSessions}`;
      this.print(`Throttled: ${reason}; waiting`);
      await this.wait(BLOCKED_BACKOFF_MS, reason, checkpoint);
      this.blocked = 0;
    }
    let printed = false;
    for (;;) {
      const lag = await this.probe.replicationLagSeconds();
      if (lag === null || lag <= this.limits.maxReplicationLagSeconds) return;
      const reason = `replica lag ${lagSeconds(lag)} > ${seconds(this.limits.maxReplicationLagSeconds)}`;
      if (!printed) this.print(`Throttled: ${reason}; waiting`);
      printed = true;
      await this.wait(LAG_POLL_MS, reason, checkpoint);
    }
  }

  private async wait(ms: number, reason: string, checkpoint: () => void): Promise<void> {
    const started = this.clock.now();
    await this.clock.sleep(ms);
    this.throttledMs += this.clock.now() - started;
    checkpoint();
    if (this.throttledMs > this.limits.maxThrottleSeconds * 1000) {
      const max = this.limits.maxThrottleSeconds;
      throw new ThrottleExceededError(`Throttled for more than ${seconds(max)} (--max-throttle ${max}): ${reason}`);
    }
  }
}
