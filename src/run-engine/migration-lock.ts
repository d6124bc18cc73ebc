import { QueryRunner } from 'typeorm';
import { LockedError } from '../cli/cli-errors';

/** Advisory lock key shared by every command that changes equipment data ('EQMG'). */
export const EQUIPMENT_MIGRATION_LOCK_KEY = 0x45514d47;
const RETRY_MS = 200;

/**
 * Takes the transaction-scoped advisory lock, waiting up to `waitSeconds`. Being transaction-scoped, it can never
 * outlive the run's transaction, even on a pooled connection or after a crash.
 */
export async function acquireMigrationLock(queryRunner: QueryRunner, waitSeconds: number): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const [row] = await queryRunner.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [EQUIPMENT_MIGRATION_LOCK_KEY]);
    if (row.locked) return;
    if (Date.now() >= deadline) {
      throw new LockedError(
        `Another migration run is in progress (it holds the equipment migration lock)${waitSeconds > 0 ? `; waited ${waitSeconds}s` : ''}; nothing was changed`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, Math.max(0, deadline - Date.now()))));
  }
}
