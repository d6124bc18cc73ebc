import { QueryRunner } from 'typeorm';
import { errorMessage, isRowLevelError } from './postgres-errors';

/**
 * Runs a set-based write of `rows` under a savepoint. If the database refuses a row (a check constraint, a trigger),
 * the rows are retried in halves, each under its own savepoint, down to the refused rows: those are added to `refused`
 * with the database's message, and every other row is written. Any other error is thrown (it ends the run).
 * One savepoint on the happy path; about 2·log2(n) more per refused row.
 */
export async function writeIsolatingRefusals<T extends { id: number }>(
  queryRunner: QueryRunner,
  rows: T[],
  write: (rows: T[]) => Promise<Set<number>>,
  refused: Map<number, string>,
): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  await queryRunner.query('SAVEPOINT isolated_write');
  try {
    const written = await write(rows);
    await queryRunner.query('RELEASE SAVEPOINT isolated_write');
    return written;
  } catch (error) {
    if (!isRowLevelError(error)) throw error;
    await queryRunner.query('ROLLBACK TO SAVEPOINT isolated_write');
    await queryRunner.query('RELEASE SAVEPOINT isolated_write');
    if (rows.length === 1) {
      refused.set(rows[0].id, errorMessage(error));
      return new Set();
    }
    const half = rows.length >> 1;
    const first = await writeIsolatingRefusals(queryRunner, rows.slice(0, half), write, refused);
    const second = await writeIsolatingRefusals(queryRunner, rows.slice(half), write, refused);
    return new Set([...first, ...second]);
  }
}
