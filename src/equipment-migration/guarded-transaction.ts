import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { CliError, CommandFailedError } from '../cli/cli-errors';
import { INTERRUPTION, InterruptedError, Interruption } from '../cli/interruption';
import { errorMessage, fatalKind } from '../database/postgres-errors';
import { acquireMigrationLock } from './migration-lock';

export interface TransactionGuards {
  /** Seconds to wait for another run's lock before giving up (exit 3). */
  waitForLockSeconds: number;
  /** SET LOCAL lock_timeout, in seconds (0: none). */
  lockTimeoutSeconds: number;
  /** SET LOCAL statement_timeout, in seconds (undefined: none). */
  statementTimeoutSeconds?: number;
}

/** What a run's work sees of its transaction. */
export interface GuardedTransaction {
  readonly queryRunner: QueryRunner;
  /** Throws InterruptedError when a signal has arrived; work calls it between steps. */
  checkpoint(): void;
  /** Runs before the rollback when the work fails (to let statements sent ahead finish first). */
  beforeRollback(cleanup: () => Promise<void>): void;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** How long a signal waits for the run to reach its next step before the connection is closed under it. */
const INTERRUPT_GRACE_MS = 1000;

/**
 * The transaction every data-changing command runs in, with the same rules: the equipment-migration advisory lock,
 * lock and statement timeouts, interruption by SIGINT/SIGTERM, and one clear line (exit code) for whatever ends it.
 * TypeORM's idiom: connect, start, work, commit; rollback on failure (guarded, the cause rethrown); release.
 */
@Injectable()
export class GuardedTransactionRunner {
  private active?: QueryRunner;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(INTERRUPTION) private readonly interruption: Interruption,
  ) {}

  /**
   * Listens for signals for the whole command (subscribe before any work, unsubscribe at the end): the run stops at
   * its next checkpoint, and a statement that keeps it waiting longer (a lock wait, say) has its connection closed,
   * on which PostgreSQL rolls the transaction back.
   */
  listen(): () => void {
    return this.interruption.subscribe(() => {
      const connection = this.active;
      setTimeout(() => {
        if (connection && this.active === connection) destroyConnection(connection);
      }, INTERRUPT_GRACE_MS).unref();
    });
  }

  checkpoint(): void {
    this.interruption.throwIfRaised();
  }

  async run<T>(guards: TransactionGuards, work: (transaction: GuardedTransaction) => Promise<T>): Promise<T> {
    const queryRunner = this.dataSource.createQueryRunner();
    await queryRunner.connect();
    this.active = queryRunner;
    let committing = false;
    // A connection that fails while idle (the server terminated it, the network dropped) says why here, not in the
    // next query's error (TypeORM has released the runner by then).
    let connectionError: Error | undefined;
    connectionOf(queryRunner)?.once('error', (error: Error) => (connectionError = error));
    const cleanups: (() => Promise<void>)[] = [];
    const transaction: GuardedTransaction = {
      queryRunner,
      checkpoint: () => this.interruption.throwIfRaised(),
      beforeRollback: (cleanup) => void cleanups.push(cleanup),
      commit: async () => {
        this.interruption.throwIfRaised(); // the last moment a signal can still undo the run
        committing = true;
        await queryRunner.commitTransaction();
      },
      rollback: () => queryRunner.rollbackTransaction(),
    };
    try {
      await queryRunner.startTransaction('READ COMMITTED');
      // SET LOCAL takes no bind parameters; the values are validated integers.
      await queryRunner.query(`SET LOCAL lock_timeout = '${Math.trunc(guards.lockTimeoutSeconds * 1000)}ms'`);
      if (guards.statementTimeoutSeconds !== undefined) {
        await queryRunner.query(`SET LOCAL statement_timeout = '${Math.trunc(guards.statementTimeoutSeconds * 1000)}ms'`);
      }
      // PostgreSQL does not notice a vanished client while a session waits on a lock: without this (14+), a run
      // killed or interrupted during such a wait would keep its transaction and the migration lock until the wait ends.
      await queryRunner.query(
        `SELECT CASE WHEN current_setting('server_version_num')::int >= 140000
                     THEN set_config('client_connection_check_interval', '500ms', true) END`,
      );
      await acquireMigrationLock(queryRunner, guards.waitForLockSeconds);
      this.interruption.throwIfRaised();
      return await work(transaction);
    } catch (error) {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      if (queryRunner.isTransactionActive) await queryRunner.rollbackTransaction().catch(() => undefined);
      throw this.explain(connectionError ?? error, guards, committing);
    } finally {
      this.active = undefined;
      await queryRunner.release().catch(() => undefined);
    }
  }

  /** One clear line (exit 1) for whatever ended the run; an interruption wins over the error it caused. */
  private explain(error: unknown, guards: TransactionGuards, committing: boolean): unknown {
    if (this.interruption.signal) return new InterruptedError(this.interruption.signal);
    if (error instanceof CliError) return error;
    const detail = errorMessage(error);
    switch (fatalKind(error)) {
      case 'lock-timeout':
        return new CommandFailedError(
          `Gave up waiting for a row lock after ${guards.lockTimeoutSeconds}s (lock_timeout, --lock-timeout): another session holds a lock on an assessment; rolled back, nothing was changed`,
        );
      case 'statement-timeout':
        return new CommandFailedError(
          `A statement ran longer than ${guards.statementTimeoutSeconds}s (statement_timeout, --statement-timeout); rolled back, nothing was changed`,
        );
      case 'connection-lost':
        return new CommandFailedError(
          committing
            ? `Lost the database connection while committing (${detail}): the outcome is unknown; a --dry-run shows what is left to do`
            : `Lost the database connection (${detail}); PostgreSQL rolled the transaction back, nothing was changed`,
        );
      case 'deadlock':
        return new CommandFailedError(`Deadlock with another session (${detail}); rolled back, nothing was changed`);
      default:
        return new CommandFailedError(`Failed: ${detail}; rolled back, nothing was changed`);
    }
  }
}

interface PgClient {
  once(event: 'error', listener: (error: Error) => void): void;
  connection?: { stream?: { destroy(): void } };
}

/** The node-postgres client under a TypeORM query runner. */
function connectionOf(queryRunner: QueryRunner): PgClient | undefined {
  return (queryRunner as unknown as { databaseConnection?: PgClient }).databaseConnection;
}

/** Closes the socket under a query runner: PostgreSQL then rolls back its transaction and releases its locks. */
function destroyConnection(queryRunner: QueryRunner): void {
  connectionOf(queryRunner)?.connection?.stream?.destroy();
}
