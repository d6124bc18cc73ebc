import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { CliError, CommandFailedError, OutcomeUnknownError } from '../cli/cli-errors';
import { INTERRUPTION, InterruptedError, Interruption } from '../cli/interruption';
import { errorMessage, fatalKind } from '../database/postgres-errors';
import { acquireMigrationLock } from './migration-lock';
import { BackendIdentity, CommitLookup } from './commit-lookup';
import { ConnectionWatch, destroyConnection, watchConnection } from '../database/pg-client';

export interface TransactionGuards {
  /** Seconds to wait for another run's lock before giving up (exit 3). */
  waitForLockSeconds: number;
  /** SET LOCAL lock_timeout, in seconds (0: none). */
  lockTimeoutSeconds: number;
  /** SET LOCAL statement_timeout, in seconds (undefined: none). */
  statementTimeoutSeconds?: number;
}

/** What a run's work sees of its transaction. The runner, not the work, commits or rolls back. */
export interface GuardedTransaction {
  readonly queryRunner: QueryRunner;
  /** Throws InterruptedError when a signal has arrived; work calls it between steps. */
  checkpoint(): void;
  /** Runs before the rollback when the work fails (to let statements sent ahead finish first). */
  beforeRollback(cleanup: () => Promise<void>): void;
  /** The server process of the transaction's connection. */
  readonly backendPid: number;
}

/**
 * A connection a run holds for its whole length, the transactions' settings set once for the session (see
 * GuardedTransactionRunner.openReader and openWriter).
 */
export interface HeldConnection {
  readonly queryRunner: QueryRunner;
  /** Its server process, to tell after a lost COMMIT answer whether it is gone. */
  readonly backend: BackendIdentity;
  /** The error the connection failed with while held, if it did (idle between transactions, say). */
  readonly lost?: Error;
  /** Resets its session settings and returns it to the pool; safe to call more than once. */
  close(): Promise<void>;
}

/** How the work asks its transaction to end. */
export interface TransactionEnding<T> {
  /** false: roll back (a dry run); true: commit. */
  commit: boolean;
  result: T;
}

export interface TransactionOutcome<T> {
  result: T;
  /** The database committed the work (false: rolled back on request). */
  committed: boolean;
  /** The connection was lost while COMMIT was in flight, and the run was then found committed. */
  acknowledgementLost: boolean;
}

/** How one transaction of a run is run; the defaults are the atomic run's single transaction. */
export interface TransactionPlan {
  /** The run already holds the migration lock on a connection of its own (an online run's session lock). */
  lockHeld?: boolean;
  /** The connection to run on, held by the run (openWriter), in place of one from the pool for this transaction. */
  connection?: HeldConnection;
  /** After a COMMIT whose answer was lost: whether this transaction committed (default: the run's row is recorded). */
  committed?: (manager: EntityManager) => Promise<boolean>;
  /** Whether the run's outcome is settled when this transaction ends (default true; false for an online run's pages). */
  settles?: boolean;
  /**
   * What a rollback of this transaction means, closing its failure's line (default: "rolled back, nothing was
   * changed"; an online run's page: "the page was rolled back", since the pages before it stay).
   */
  rollbackNote?: string;
}

/** What a rolled-back transaction of a single-transaction run means. */
export const NOTHING_CHANGED = 'rolled back, nothing was changed';

/** How long a signal waits for the run to reach its next step before the connection is closed under it. */
const INTERRUPT_GRACE_MS = 1000;
/** How long a lost connection waits for the signal that may have caused it (see run). */
const SIGNAL_RACE_MS = 250;

/**
 * The transaction every data-changing command runs in, with the same rules: the equipment-migration advisory lock,
 * lock and statement timeouts, row security off, interruption by SIGINT/SIGTERM, and one clear line (exit code) for
 * whatever ends it. TypeORM's idiom — connect, start, work, commit; rollback on failure (guarded, the cause rethrown);
 * release — with the ending owned here, so that a failure after the commit can never be reported as a rollback:
 * - the work returns whether to commit; everything before COMMIT that fails rolls back (exit 1, 130, 143);
 * - a COMMIT the database answers with an error rolled back (exit 1);
 * - a COMMIT whose answer is lost is looked up on a new connection by the run id (its row commits with the data):
 *   found → committed; absent → rolled back (exit 1); the database unreachable → outcome unknown (exit 5);
 * - once the commit is known, signals no longer change the outcome or the exit code.
 */
@Injectable()
export class GuardedTransactionRunner {
  private active?: QueryRunner;
  /** Held connections (closed under a statement on interruption, with the active transaction's). */
  private readonly held = new Set<QueryRunner>();
  /** While COMMIT is in flight the connection must not be closed under it: that would make the outcome unknown. */
  private committing = false;

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
        if (connection && this.active === connection && !this.committing) {
          for (const connection of this.held) destroyConnection(connection);
          destroyConnection(connection);
        }
      }, INTERRUPT_GRACE_MS).unref();
    });
  }

  checkpoint(): void {
    this.interruption.throwIfRaised();
  }

  /**
   * What a command reports for an error that ended it before its transaction's outcome was settled: a signal wins
   * over the error it caused (the embedded server stopped by the same Ctrl-C, a connection closed under a statement).
   */
  interruptedOr(error: unknown): unknown {
    if (this.interruption.signal && !this.interruption.settled) return new InterruptedError(this.interruption.signal);
    return error;
  }

  private signalWithin(ms: number): Promise<void> {
    if (this.interruption.signal) return Promise.resolve();
    return new Promise((resolve) => {
      let unsubscribe = () => undefined as unknown;
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, ms);
      unsubscribe = this.interruption.subscribe(done);
    });
  }

  /**
   * Runs `work` in a new transaction and ends it as the work asks. `runId` is the audit-trail run the work records in
   * the same transaction: it is how an unacknowledged commit is looked up.
   */
  async run<T>(
    guards: TransactionGuards,
    runId: string,
    work: (transaction: GuardedTransaction) => Promise<TransactionEnding<T>>,
    plan: TransactionPlan = {},
  ): Promise<TransactionOutcome<T>> {
    const settle = () => {
      if (plan.settles !== false) this.interruption.settle();
    };
    const held = plan.connection;
    // A held connection that failed while idle says why here, before anything is sent on it.
    if (held?.lost) throw this.explain(held.lost, guards, plan.rollbackNote);
    const queryRunner = held?.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      await queryRunner.connect();
    } catch (error) {
      throw this.explain(error, guards, plan.rollbackNote);
    }
    this.active = queryRunner;
    // A connection that fails while idle (the server terminated it, the network dropped) says why here, not in the
    // next query's error (TypeORM has released the runner by then). A held connection is watched for the whole run.
    const watch = held ? undefined : watchConnection(queryRunner);
    const lostWith = () => (held ?? watch)?.lost;
    const cleanups: (() => Promise<void>)[] = [];
    let backend: BackendIdentity | undefined;
    const transaction: GuardedTransaction = {
      queryRunner,
      checkpoint: () => this.interruption.throwIfRaised(),
      beforeRollback: (cleanup) => void cleanups.push(cleanup),
      get backendPid() {
        return backend!.pid;
      },
    };
    let ending: TransactionEnding<T>;
    try {
      try {
        if (held) {
          // One statement: the held session is READ COMMITTED and has the settings already (see openWriter).
          await queryRunner.startTransaction();
          backend = held.backend;
        } else {
          await queryRunner.startTransaction('READ COMMITTED');
          backend = await this.prepare(queryRunner, guards);
        }
        if (!plan.lockHeld) await acquireMigrationLock(queryRunner, guards.waitForLockSeconds);
        this.interruption.throwIfRaised();
        ending = await work(transaction);
        if (!ending.commit) {
          await queryRunner.rollbackTransaction();
          settle();
          return { result: ending.result, committed: false, acknowledgementLost: false };
        }
        this.interruption.throwIfRaised(); // the last moment a signal can still undo the run
      } catch (error) {
        for (const cleanup of cleanups) await cleanup().catch(() => undefined);
        if (queryRunner.isTransactionActive) await queryRunner.rollbackTransaction().catch(() => undefined);
        const cause = lostWith() ?? error;
        // Ctrl-C at a terminal reaches the embedded server too: its connection may end a moment before the signal
        // reaches this process. A lost connection and a signal in the same instant are the signal's.
        if (fatalKind(cause) === 'connection-lost') await this.signalWithin(SIGNAL_RACE_MS);
        throw this.explain(cause, guards, plan.rollbackNote);
      }

      this.committing = true;
      try {
        await queryRunner.commitTransaction();
      } catch (error) {
        const lost = lostWith() ?? error;
        if (fatalKind(lost) !== 'connection-lost') {
          // The database answered COMMIT with an error (a deferred constraint, a serialization failure): rolled back.
          throw new CommandFailedError(`The commit failed: ${errorMessage(error)}; ${plan.rollbackNote ?? NOTHING_CHANGED}`);
        }
        await this.resolveUnacknowledgedCommit(runId, backend, errorMessage(lost), plan);
        settle();
        return { result: ending.result, committed: true, acknowledgementLost: true };
      } finally {
        this.committing = false;
      }
      settle();
      return { result: ending.result, committed: true, acknowledgementLost: false };
    } finally {
      this.active = undefined;
      // The pooled client outlives this transaction: no listener may pile up on it.
      watch?.stop();
      if (!held) await queryRunner.release().catch(() => undefined);
    }
  }

  /**
   * A read-only connection for a run's page reads beside its transactions, so the database reads the next page while
   * a transaction writes the last one. Autocommit reads, each its own READ COMMITTED statement: no row lock, no
   * transaction id, no snapshot held between pages, no idle transaction waiting through a throttle pause; they see
   * what is committed, never the run's own uncommitted writes.
   */
  openReader(guards: TransactionGuards): Promise<HeldConnection> {
    return this.hold(guards, 'READ COMMITTED, READ ONLY', 'the connection the pages are read on');
  }

  /**
   * The connection an online run's transactions all run on (TransactionPlan.connection): its settings are set once,
   * so each page's transaction costs one statement to begin instead of three, and no pool checkout.
   */
  openWriter(guards: TransactionGuards): Promise<HeldConnection> {
    return this.hold(guards, 'READ COMMITTED', "the connection the run's transactions run on");
  }

  /**
   * A connection held for the run: the transactions' settings (timeouts, row security off) and the characteristics
   * of its transactions hold for the session, and are reset (RESET ALL) before it returns to the pool. Closed under a
   * statement on interruption while a transaction of the run is active, as that one's connection is.
   */
  private async hold(guards: TransactionGuards, characteristics: string, what: string): Promise<HeldConnection> {
    const queryRunner = this.dataSource.createQueryRunner();
    this.held.add(queryRunner);
    let watch: ConnectionWatch | undefined;
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        this.held.delete(queryRunner);
        watch?.stop();
        if (!watch?.lost) await queryRunner.query('RESET ALL').catch(() => undefined);
        await queryRunner.release().catch(() => undefined);
      })());
    try {
      await queryRunner.connect();
      watch = watchConnection(queryRunner);
      await queryRunner.query(`SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ${characteristics}`);
      const backend = await this.prepare(queryRunner, guards, false);
      return {
        queryRunner,
        backend,
        get lost() {
          return watch?.lost;
        },
        close,
      };
    } catch (error) {
      await close();
      throw new CommandFailedError(`Could not open ${what} (${errorMessage(error)}); ${NOTHING_CHANGED}`);
    }
  }

  /** The transaction's settings; returns the backend's identity, to tell later whether it is gone. */
  private async prepare(queryRunner: QueryRunner, guards: TransactionGuards, local = true): Promise<BackendIdentity> {
    // One round trip: set_config(…, true) is SET LOCAL (false: for the session, on a held connection).
    // - A role under a row-level security policy would see, and migrate, only part of the table: with row security
    //   off, its first query fails instead (the preflight refuses such a role before this point).
    // - PostgreSQL does not notice a vanished client while a session waits on a lock: without
    //   client_connection_check_interval (14+), a run killed or interrupted during such a wait would keep its
    //   transaction and the migration lock until the wait ends.
    const [row] = await queryRunner.query(
      `SELECT set_config('lock_timeout', $1, $3),
              CASE WHEN $2::text IS NOT NULL THEN set_config('statement_timeout', $2, $3) END,
              set_config('row_security', 'off', $3),
              CASE WHEN current_setting('server_version_num')::int >= 140000
                   THEN set_config('client_connection_check_interval', '500ms', $3) END,
              pid, backend_start::text AS "startedAt"
         FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
      [
        `${Math.trunc(guards.lockTimeoutSeconds * 1000)}ms`,
        guards.statementTimeoutSeconds === undefined ? null : `${Math.trunc(guards.statementTimeoutSeconds * 1000)}ms`,
        local,
      ],
    );
    return { pid: row.pid, startedAt: row.startedAt };
  }

  /**
   * The connection died while COMMIT was in flight: the client cannot know whether the server committed. Ask the
   * database on a new connection, once the old backend is gone (until then its commit may still complete).
   */
  private async resolveUnacknowledgedCommit(
    runId: string,
    backend: BackendIdentity | undefined,
    detail: string,
    plan: TransactionPlan,
  ): Promise<void> {
    const lookup = new CommitLookup(this.dataSource);
    const found = plan.committed ? await lookup.committed(plan.committed, backend) : await lookup.runRecorded(runId, backend);
    if (found === 'unreachable') {
      // Exit 5 when this transaction was the whole run; a step of a longer run leaves it to the run's own ending.
      const how = plan.committed
        ? 'whether this step committed is unknown'
        : `the outcome is unknown; check run ${runId} with \`npm run cli -- migration-runs\` (listed: committed; absent: nothing was changed)`;
      throw new OutcomeUnknownError(`Lost the database connection while committing (${detail}) and cannot reach the database to check: ${how}`);
    }
    if (!found) {
      const how = plan.committed
        ? `the database shows it did not commit: ${plan.rollbackNote ?? NOTHING_CHANGED}`
        : `run ${runId} is not recorded, so PostgreSQL rolled the transaction back: nothing was changed`;
      throw new CommandFailedError(`Lost the database connection while committing (${detail}); ${how}`);
    }
  }

  /** One clear line (exit 1) for whatever ended the run before its commit; an interruption wins over the error it caused. */
  private explain(error: unknown, guards: TransactionGuards, note = NOTHING_CHANGED): unknown {
    if (this.interruption.signal) return new InterruptedError(this.interruption.signal);
    if (error instanceof CliError) return error;
    const detail = errorMessage(error);
    switch (fatalKind(error)) {
      case 'lock-timeout':
        return new CommandFailedError(
          `Gave up waiting for a row lock after ${guards.lockTimeoutSeconds}s (lock_timeout, --lock-timeout): another session holds a lock on an assessment; ${note}`,
        );
      case 'statement-timeout':
        return new CommandFailedError(
          `A statement ran longer than ${guards.statementTimeoutSeconds}s (statement_timeout, --statement-timeout); ${note}`,
        );
      case 'connection-lost':
        return new CommandFailedError(`Lost the database connection (${detail}); ${note === NOTHING_CHANGED ? 'PostgreSQL rolled the transaction back, nothing was changed' : note}`);
      case 'deadlock':
        return new CommandFailedError(`Deadlock with another session (${detail}); ${note}`);
      default:
        return new CommandFailedError(`Failed: ${detail}; ${note}`);
    }
  }
}
