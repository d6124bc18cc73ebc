import { DataSource, QueryRunner } from 'typeorm';
import { LockedError } from '../cli/cli-errors';
import { watchConnection } from '../database/pg-client';
import type { ProbeConnection } from './throttle';

/** Advisory lock key shared by every command that changes equipment data ('EQMG'). */
export const EQUIPMENT_MIGRATION_LOCK_KEY = 0x45514d47;
const RETRY_MS = 200;

/**
 * Takes the transaction-scoped advisory lock, waiting up to `waitSeconds`. Being transaction-scoped, it can never
 * outlive the run's transaction, even on a pooled connection or after a crash.
 */
export function acquireMigrationLock(queryRunner: QueryRunner, waitSeconds: number): Promise<void> {
  return takeLock(queryRunner, 'pg_try_advisory_xact_lock', waitSeconds);
}

async function takeLock(queryRunner: QueryRunner, take: 'pg_try_advisory_xact_lock' | 'pg_try_advisory_lock', waitSeconds: number): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const [row] = await queryRunner.query(`SELECT ${take}($1) AS locked`, [EQUIPMENT_MIGRATION_LOCK_KEY]);
    if (row.locked) return;
    if (Date.now() >= deadline) {
      throw new LockedError(
        `Another migration run is in progress (it holds the equipment migration lock)${waitSeconds > 0 ? `; waited ${waitSeconds}s` : ''}; nothing was changed`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
  }
}

/** The session-level migration lock of an online run, held on a connection of its own for the whole run. */
export interface HeldMigrationLock {
  /**
   * The lock's connection. PostgreSQL drops a session lock with its connection, so a statement that succeeds on it
   * shows the lock still held: the run's throttle probes run here, before each page and before each page's commit.
   */
  readonly connection: ProbeConnection;
  release(): Promise<void>;
}

/**
 * Takes the session-level advisory lock (the same key as the transaction-scoped one, so atomic and online runs exclude
 * each other) on a dedicated connection. PostgreSQL releases it when that connection ends: a killed run leaves no lock.
 */
export async function acquireSessionMigrationLock(dataSource: DataSource, waitSeconds: number): Promise<HeldMigrationLock> {
  const queryRunner = dataSource.createQueryRunner();
  await queryRunner.connect();
  try {
    await takeLock(queryRunner, 'pg_try_advisory_lock', waitSeconds);
  } catch (error) {
    await queryRunner.release().catch(() => undefined);
    throw error;
  }
  const watch = watchConnection(queryRunner);
  return {
    connection: {
      query: (sql, parameters) => {
        // Idle when it ended, the session leaves TypeORM's "already released" behind: name what was lost, and why.
        const lost = watch.lost;
        return lost ? Promise.reject(lockSessionLost(lost)) : queryRunner.query(sql, parameters);
      },
    },
    release: async () => {
      await queryRunner.query('SELECT pg_advisory_unlock($1)', [EQUIPMENT_MIGRATION_LOCK_KEY]).catch(() => undefined);
      watch.stop();
      await queryRunner.release().catch(() => undefined);
    },
  };
}

/** The lock's session ended: an error that reads as the lost connection it is (its SQLSTATE kept). */
function lockSessionLost(cause: Error): Error {
  const error = new Error(`the session holding the migration lock ended: ${cause.message}`);
  return Object.assign(error, { code: (cause as { code?: string }).code ?? '08006' });
}

/** Whether some session holds the migration lock on this database now (advisory locks are per database) (for telling a live online run from one whose process died). */
export async function migrationLockHeld(dataSource: DataSource): Promise<boolean> {
  const [row] = await dataSource.query(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ) AS held`,
    [EQUIPMENT_MIGRATION_LOCK_KEY],
  );
  return row.held;
}
