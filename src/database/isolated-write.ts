import { QueryRunner } from 'typeorm';
import { queryableClient } from './pg-client';
import { errorMessage, isRowLevelError } from './postgres-errors';

/** A set-based write as one statement, and how its answer tells the ids written. */
export interface WriteStatement {
  /** The statement with its values inlined (see inlineValues): built by the caller, off the connection's turn. */
  sql: string;
  /** The ids written, from the statement's answer rows. */
  written(answer: Record<string, unknown>[]): Set<number>;
}

/**
 * Runs a set-based write of `rows` under a savepoint. If the database refuses a row (a check constraint, a trigger),
 * the rows are retried in halves, each under its own savepoint, down to the refused rows: those are added to `refused`
 * with the database's message, and every other row is written. Any other error is thrown (it ends the run).
 * The savepoint, the write and the release go in one message (the simple protocol runs them in order and stops at
 * the first error): one round trip per write, where three left the connection idle twice for Node's turn around.
 * One savepoint on the happy path; about 2·log2(n) more per refused row.
 */
export async function writeIsolatingRefusals<T extends { id: number }>(
  queryRunner: QueryRunner,
  rows: T[],
  write: (rows: T[]) => WriteStatement,
  refused: Map<number, string>,
): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  const statement = write(rows);
  try {
    const results = await simpleQuery(queryRunner, `SAVEPOINT isolated_write;\n${statement.sql}\n;RELEASE SAVEPOINT isolated_write`);
    return statement.written(results[1].rows);
  } catch (error) {
    if (!isRowLevelError(error)) throw error;
    await simpleQuery(queryRunner, 'ROLLBACK TO SAVEPOINT isolated_write; RELEASE SAVEPOINT isolated_write');
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

/** Several statements in one message, on the query runner's connection (TypeORM's query() reads one result only). */
async function simpleQuery(queryRunner: QueryRunner, text: string): Promise<{ rows: Record<string, unknown>[] }[]> {
  return queryableClient(queryRunner).query(text);
}
