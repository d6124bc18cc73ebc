import { DataSource } from 'typeorm';
import { pollUntil } from './poll';

/** The application_name the CLI's connections carry (src/database/data-source-options.ts). */
export const CLI_APPLICATION_NAME = 'equipment-migration';

export interface AdvisoryLockRow {
  pid: number;
  /** High and low 32 bits of a bigint key (objsubid 1), or the two int4 keys (objsubid 2). */
  classid: string;
  objid: string;
  objsubid: number;
  mode: string;
  granted: boolean;
}

/** Every advisory lock held or awaited in the given database, by any session. */
export function advisoryLocks(dataSource: DataSource, databaseName: string): Promise<AdvisoryLockRow[]> {
  return dataSource.query(
    `SELECT l.pid, l.classid::text AS classid, l.objid::text AS objid, l.objsubid, l.mode, l.granted
       FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = $1)
      ORDER BY l.pid`,
    [databaseName],
  );
}

/** The advisory lock rows of a bigint key (pg_locks splits it into classid = high bits, objid = low bits). */
export function isKey(lock: AdvisoryLockRow, key: number): boolean {
  return lock.objsubid === 1 && BigInt(lock.classid) * 2n ** 32n + BigInt(lock.objid) === BigInt(key);
}

export interface BackendRow {
  pid: number;
  state: string | null;
  /** 'Lock' while the session waits for a lock another session holds. */
  wait_event_type: string | null;
  query: string;
}

/** The CLI's server processes connected to the given database (recognised by their application_name). */
export function cliBackends(dataSource: DataSource, databaseName: string): Promise<BackendRow[]> {
  return dataSource.query(
    `SELECT pid, state, wait_event_type, query FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 ORDER BY pid`,
    [databaseName, CLI_APPLICATION_NAME],
  );
}

/**
 * Every assessment with its user's email and every column except updated_at (which a run sets to its own clock), as
 * JSON text keyed by id: what must be equal between two databases that went through equivalent runs.
 */
export async function comparableAssessments(dataSource: DataSource): Promise<Record<string, string>> {
  const rows: { id: number; row: string }[] = await dataSource.query(
    `SELECT a.id, jsonb_build_object('email', u.email, 'row', to_jsonb(a) - 'updated_at')::text AS row
       FROM assessments a JOIN users u ON u.id = a.user_id
      ORDER BY a.id`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.id), r.row]));
}

/**
 * Rows of two comparableAssessments results that differ (or exist on one side only), at most `limit` of them, so that a
 * failed comparison shows a few rows instead of the whole table. Empty when the tables are equal.
 */
export function rowDifferences(
  left: Record<string, string>,
  right: Record<string, string>,
  limit = 10,
): { id: string; left?: string; right?: string }[] {
  const ids = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort((a, b) => Number(a) - Number(b));
  return ids
    .filter((id) => left[id] !== right[id])
    .slice(0, limit)
    .map((id) => ({ id, left: left[id], right: right[id] }));
}

/**
 * Gives every assessment a created_at derived from its id, so that two databases seeded identically at different
 * moments hold identical rows (the column defaults to the time of the insert).
 */
export async function pinCreatedAt(dataSource: DataSource): Promise<void> {
  await dataSource.query(`UPDATE assessments SET created_at = timestamptz '2026-01-01 00:00:00+00' + id * interval '1 second'`);
}

/**
 * Samples, every few milliseconds until stop(), how many of the CLI's sessions on the database are inside a transaction
 * that has written (or is waiting to write: it has a transaction id). stop() returns the highest count seen. Two
 * migration runs working at the same time show up as 2, however their writes end.
 */
export function watchWritingSessions(dataSource: DataSource, databaseName: string): { stop(): Promise<number> } {
  let stopped = false;
  let highest = 0;
  const loop = (async () => {
    while (!stopped) {
      const [{ n }] = await dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND application_name = $2 AND backend_xid IS NOT NULL`,
        [databaseName, CLI_APPLICATION_NAME],
      );
      highest = Math.max(highest, n);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return highest;
    },
  };
}

/**
 * Waits (bounded) until no session of the CLI is left in the database — a closed connection can take the server a
 * moment to notice — and returns what is left (so a test can assert it is empty).
 */
export function cliSessionsGone(dataSource: DataSource, databaseName: string, timeoutMs = 5_000): Promise<BackendRow[]> {
  return pollUntil(
    () => cliBackends(dataSource, databaseName),
    (rows) => rows.length === 0,
    { timeoutMs },
  );
}
