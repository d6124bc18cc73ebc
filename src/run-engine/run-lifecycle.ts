import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { CommandFailedError, LockedError, UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { createProgress, Progress } from '../cli/progress';
import { INTERRUPTION, InterruptedError, Interruption } from '../cli/interruption';
import { DatabaseTarget } from '../config/database-config';
import { DatabaseConnection } from '../database/database-connection.service';
import { TableAccess } from '../database/privilege-check';
import { GuardedTransaction, GuardedTransactionRunner, HeldConnection, NOTHING_CHANGED, TransactionGuards, TransactionOutcome } from './guarded-transaction';
import { acquireSessionMigrationLock, HeldMigrationLock } from './migration-lock';
import { ReportFileWriter } from './report-file.writer';
import { StoppedRunState, stoppedRunError } from './stopped-run';
import { DEFAULT_THROTTLE_LIMITS, ReplicationLagHiddenError, Throttle, ThrottleLimits, ThrottleProbe } from './throttle';

/** What a rolled-back page of an online run means: the pages before it stay. */
const PAGE_ROLLED_BACK = 'the page was rolled back';
/** What a rolled-back final step (checks, the run's completion) of an online run means: every page stays. */
const LAST_STEP_ROLLED_BACK = 'the last step was rolled back';

/** How a run's transactions are cut: one for the whole run (the guide's), or one per page (online). */
export type TransactionStrategy = 'atomic' | 'online';

export interface RunSettings extends TransactionGuards {
  strategy: TransactionStrategy;
  dryRun: boolean;
  reportPath?: string;
  /** Online: when the run waits for the database before a page. */
  throttle?: ThrottleLimits;
  /** Online: a progress bar (a terminal) or periodic lines on stderr. */
  progress?: boolean;
}

/** What a job sees of its run. */
export interface RunContext {
  /** What a rollback of the current transaction means, closing a job's own failure line (see TransactionPlan). */
  rollbackNote: string;
  /** The audit-trail run id (a resumed run keeps its recorded one: see DataChangeJob.begin). */
  runId: string;
  strategy: TransactionStrategy;
  dryRun: boolean;
  database: DatabaseTarget;
  reportFile?: ReportFileWriter;
  /** The run's read-only connection for its page reads, when the job asks for one (DataChangeJob.readsPagesAside). */
  pageReader?: QueryRunner;
}

/** Where a job's run starts: its own state, and the pages already committed (a resumed online run's). */
export interface JobStart<S> {
  state: S;
  pages: number;
  /** Set when the job took over a recorded run (a resume): its id replaces the new one. */
  runId?: string;
  /** A resumed run's recorded settings (page guards, throttle), in place of this invocation's. */
  settings?: Partial<RunSettings>;
}

/**
 * One data-changing job (the migration, the revert), as the run lifecycle drives it. The lifecycle owns the lock, the
 * transactions, signals, the report file's fate and the ending; the job owns its SQL, tallies and lines. State is
 * treated as immutable: a page that rolls back leaves the state the lifecycle holds as it was.
 */
export interface DataChangeJob<S, R> {
  /** What the job does to the tables (the pre-flight privilege check). */
  readonly access: TableAccess;
  /** Checks what it is asked, records its run and fixes its scope (the first transaction). */
  begin(transaction: GuardedTransaction, context: RunContext): Promise<JobStart<S>>;
  /** Works on `state` in `transaction`: every page (atomic), or the next one (online). */
  work(transaction: GuardedTransaction, state: S, context: RunContext, pages: 'all' | 'one'): Promise<{ state: S; more: boolean }>;
  /** Online: called once a page's transaction has committed, with the state after it (tally it, stream its report). */
  afterCommit?(state: S, context: RunContext): void;
  /** Online: records the page's checkpoint in its own transaction (`pages`: committed once this one commits). */
  checkpoint(transaction: GuardedTransaction, state: S, context: RunContext, pages: number): Promise<void>;
  /** Final checks; completes the run's row and finishes the report file (the last transaction). */
  end(transaction: GuardedTransaction, state: S, context: RunContext): Promise<R>;
  /** The job's closing lines, once the outcome is settled (`saved`: the report reached its path). */
  print(result: R, context: RunContext, saved: boolean): void;
  /** Online: how far the run is, for its progress bar or lines. */
  position(state: S): { done: number; total: number; unit: string };
  /** How far a stopped online run got, and the ways on from there. */
  stopped(state: S, context: RunContext, pages: number): Omit<StoppedRunState, 'pages'>;
  /** The noun for notes: "migration", "revert". */
  readonly noun: string;
  /** The job reads its pages on a connection of its own beside its transactions (RunContext.pageReader). */
  readonly readsPagesAside?: boolean;
}

/**
 * The life of every data-changing run, written once (twenty-server's command-runner pattern): open the database and
 * check access, listen for signals, open the report file before anything is touched, take the lock, run the job's
 * transactions as the strategy cuts them, and end it: a dry run rolls back; otherwise the report is finished before
 * the commit and reaches its path only after it; a failure after the commit is never reported as a rollback.
 * - atomic: one transaction (transaction-scoped advisory lock); everything or nothing.
 * - online: the session-level lock on a connection of its own (the throttle probes it); a transaction to begin, then
 *   on one held connection one per page (each recording the run's checkpoint) and one to end. Stopped part-way, the
 *   run is marked interrupted or failed and the last line says how far it got and how to go on (exit 130/143/4).
 */
@Injectable()
export class RunLifecycle {
  constructor(
    private readonly transactions: GuardedTransactionRunner,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
    private readonly output: CliOutput,
    @Inject(INTERRUPTION) private readonly interruption: Interruption,
  ) {}

  async run<S, R>(job: DataChangeJob<S, R>, settings: RunSettings): Promise<R> {
    // Checked before any database work: an unwritable report path changes nothing.
    const reportFile = settings.reportPath ? ReportFileWriter.open(settings.reportPath) : undefined;
    const stopListening = this.transactions.listen();
    try {
      const database = await this.database.open({ announceOn: 'stdout' });
      await this.database.assertAccess(job.access);
      this.transactions.checkpoint();
      const context: RunContext = {
        runId: randomUUID(),
        strategy: settings.strategy,
        dryRun: settings.dryRun,
        database,
        reportFile,
        rollbackNote: NOTHING_CHANGED,
      };
      const { result, committed, acknowledgementLost } =
        settings.strategy === 'online' && !settings.dryRun
          ? await this.online(job, settings, context)
          : await this.withPageReader(job, settings, context, () => this.atomic(job, settings, context));
      // The outcome is settled: nothing from here on may be reported as a rollback.
      if (acknowledgementLost) {
        this.output.note(`Note: the connection was lost while committing; run ${context.runId} is recorded, so the ${job.noun} committed`);
      }
      const saved = await reportFile?.publishAfterEnd(
        (line) => this.output.note(line),
        committed ? `the ${job.noun} is committed (run ${context.runId})` : 'nothing was changed (dry run)',
      );
      job.print(result, context, saved === true);
      return result;
    } catch (error) {
      reportFile?.discard();
      throw this.transactions.interruptedOr(error);
    } finally {
      stopListening();
    }
  }

  private async atomic<S, R>(job: DataChangeJob<S, R>, settings: RunSettings, context: RunContext) {
    if (settings.strategy === 'online') this.output.line('--online with --dry-run: the dry run is one transaction, rolled back, as without --online');
    return this.transactions.run(settings, context.runId, async (transaction) => {
      const start = await job.begin(transaction, context);
      const { state } = await job.work(transaction, start.state, context, 'all');
      const result = await job.end(transaction, state, context);
      if (context.dryRun) this.output.line('Rolling back changes (dry run mode)');
      return { commit: !context.dryRun, result };
    });
  }

  private async online<S, R>(job: DataChangeJob<S, R>, settings: RunSettings, context: RunContext) {
    await this.assertLagVisible(new ThrottleProbe(this.dataSource));
    const lock = await this.lock(settings);
    // On the lock's connection, each probe also shows the lock still held: before each page, and before its commit.
    const probe = new ThrottleProbe(lock.connection);
    let progress: { state: S; pages: number } | undefined;
    let bar: Progress | undefined;
    let writer: HeldConnection | undefined;
    let closeReader: (() => Promise<void>) | undefined;
    const runs = (manager = this.dataSource.manager) => new MigrationRunRepository(manager);
    try {
      const begun = await this.transactions.run(
        settings,
        context.runId,
        async (transaction) => ({ commit: true, result: await job.begin(transaction, context) }),
        { lockHeld: true, settles: false },
      );
      if (begun.result.runId) context.runId = begun.result.runId;
      Object.assign(settings, begun.result.settings);
      progress = { state: begun.result.state, pages: begun.result.pages };
      // Opened once the settings are final (a resumed run's recorded guards), which then hold for their sessions.
      writer = await this.transactions.openWriter(settings);
      closeReader = await this.openPageReader(job, settings, context);
      const throttle = new Throttle(settings.throttle ?? DEFAULT_THROTTLE_LIMITS, probe, (line) => this.output.note(line));
      const start = job.position(progress.state);
      bar = createProgress({ enabled: settings.progress === true, total: start.total, stream: this.output.progressStream, unit: start.unit });
      bar.advance(start.done);
      for (let more = start.total > 0; more; ) {
        await throttle.beforePage(() => this.transactions.checkpoint());
        const before: { state: S; pages: number } = progress;
        // Until a page has committed, a rolled-back page means nothing was changed.
        context.rollbackNote = before.pages === 0 ? NOTHING_CHANGED : PAGE_ROLLED_BACK;
        const page: TransactionOutcome<{ state: S; more: boolean }> = await this.transactions.run(
          settings,
          context.runId,
          async (transaction) => {
            const worked = await job.work(transaction, before.state, context, 'one');
            await job.checkpoint(transaction, worked.state, context, before.pages + 1);
            // Measured while the page's row locks are held: sessions waiting on them hold the next page back.
            throttle.recordBlocked(await probe.blockedSessions([transaction.backendPid]));
            return { commit: true, result: worked };
          },
          {
            lockHeld: true,
            connection: writer,
            settles: false,
            rollbackNote: context.rollbackNote,
            // After a lost COMMIT answer: the page committed if the run's checkpoint moved past it.
            committed: async (manager): Promise<boolean> => ((await runs(manager).find(context.runId))?.checkpoint?.pages ?? 0) > before.pages,
          },
        );
        progress = { state: page.result.state, pages: before.pages + 1 };
        job.afterCommit?.(progress.state, context);
        bar.advance(Math.max(0, job.position(progress.state).done - job.position(before.state).done));
        more = page.result.more;
      }
      bar.stop();
      bar = undefined;
      const finalState = progress.state;
      context.rollbackNote = LAST_STEP_ROLLED_BACK;
      return await this.transactions.run(
        settings,
        context.runId,
        async (transaction) => ({ commit: true, result: await job.end(transaction, finalState, context) }),
        {
          lockHeld: true,
          connection: writer,
          rollbackNote: LAST_STEP_ROLLED_BACK,
          committed: async (manager) => (await runs(manager).findStatus(context.runId)) === 'completed',
        },
      );
    } catch (error) {
      const cause = this.transactions.interruptedOr(error);
      if (!progress) throw cause;
      // Marked on a fresh connection; if the database is gone the run stays 'running' with no lock: interrupted.
      await runs()
        .setStatus(context.runId, cause instanceof InterruptedError ? 'interrupted' : 'failed')
        .catch(() => undefined);
      this.interruption.settle();
      throw stoppedRunError(cause, { ...job.stopped(progress.state, context, progress.pages), pages: progress.pages });
    } finally {
      bar?.stop();
      await closeReader?.();
      await writer?.close();
      await lock.release();
    }
  }

  /** Runs `run` with the job's page reader open (when it asks for one), and closes it after, whatever the outcome. */
  private async withPageReader<T>(job: DataChangeJob<unknown, unknown>, settings: RunSettings, context: RunContext, run: () => Promise<T>): Promise<T> {
    const close = await this.openPageReader(job, settings, context);
    try {
      return await run();
    } finally {
      await close();
    }
  }

  /** Opens the job's page reader (RunContext.pageReader) when it asks for one; returns how to close it. */
  private async openPageReader(job: DataChangeJob<unknown, unknown>, settings: RunSettings, context: RunContext): Promise<() => Promise<void>> {
    if (!job.readsPagesAside) return async () => undefined;
    const reader = await this.transactions.openReader(settings);
    context.pageReader = reader.queryRunner;
    return async () => {
      context.pageReader = undefined;
      await reader.close();
    };
  }

  /** Pre-flight: a role that cannot see its standbys' positions cannot be throttled on them (exit 2, nothing done). */
  private async assertLagVisible(probe: ThrottleProbe): Promise<void> {
    try {
      await probe.replicationLagSeconds();
    } catch (error) {
      if (error instanceof ReplicationLagHiddenError) throw new UsageError(`${error.message}; nothing was done`);
      throw error;
    }
  }

  private async lock(settings: RunSettings): Promise<HeldMigrationLock> {
    try {
      return await acquireSessionMigrationLock(this.dataSource, settings.waitForLockSeconds);
    } catch (error) {
      if (error instanceof LockedError) throw error;
      throw this.transactions.interruptedOr(new CommandFailedError(`Failed to take the migration lock: ${(error as Error).message}; nothing was changed`));
    }
  }
}

