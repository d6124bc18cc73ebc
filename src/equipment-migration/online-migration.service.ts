import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CommandFailedError, LockedError, UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { INTERRUPTION, InterruptedError, Interruption } from '../cli/interruption';
import { createProgress } from '../cli/progress';
import { DatabaseConnection } from '../database/database-connection.service';
import { EquipmentMigrationRun, RunCheckpoint } from '../entities/equipment-migration-run.entity';
import { GuardedTransaction, GuardedTransactionRunner, TransactionEnding } from '../run-engine/guarded-transaction';
import { acquireSessionMigrationLock, HeldMigrationLock } from '../run-engine/migration-lock';
import { ReportFileWriter } from '../run-engine/report-file.writer';
import { stoppedRunError } from '../run-engine/stopped-run';
import { DEFAULT_THROTTLE_LIMITS, Throttle, ThrottleProbe } from '../run-engine/throttle';
import { EquipmentDistribution, RunScope } from './assessment-migration.repository';
import type { EquipmentMigrationOptions, EquipmentMigrationResult, MigrationTotals } from './equipment-migration.service';
import { MigrationPages } from './migration-pages';
import { MigrationRepositories } from './migration-repositories';
import { emptySummary, MigrationTally, scopePosition } from './migration-tally';
import { RecordedReport } from './recorded-report';
import { ReportService } from './report.service';
import { MigrationSummary, ReportRun } from './report.types';

/** Where an online run stands: what its committed pages add up to (the run's row holds the same). */
interface OnlineRunState {
  run: ReportRun;
  scope: RunScope;
  checkpoint: RunCheckpoint;
  summary: MigrationSummary;
  /** The position (committed rows) when this process took the run over: a resume starts above 0. */
  startPosition: number;
}

/** What one page's transaction hands back once it committed. */
interface PageResult {
  checkpoint: RunCheckpoint;
  summary: MigrationSummary;
  more: boolean;
}

const MIGRATE = 'npm run cli -- migrate-equipment';
const REVERT = 'npm run cli -- revert-equipment-migration';

/**
 * migrate-equipment --online: the same migration, rules, outcomes, console lines and report, but each page is its own
 * short transaction, so no row stays locked longer than one page and vacuum is never held back for the run. One run
 * at a time: the session-level migration lock, on a connection of its own, for the whole run. Each page's transaction
 * also records the run's checkpoint (last id done, running counts, distribution), so an interrupted or failed run can
 * be resumed from it (--resume) or undone as a whole (revert-equipment-migration). The report, fingerprint and
 * distribution are built at the end from the audit trail, so they cover the whole run across resumes.
 */
@Injectable()
export class OnlineMigrationService {
  constructor(
    private readonly transactions: GuardedTransactionRunner,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
    private readonly report: ReportService,
    private readonly pages: MigrationPages,
    private readonly repositories: MigrationRepositories,
    private readonly output: CliOutput,
    @Inject(INTERRUPTION) private readonly interruption: Interruption,
  ) {}

  async run(options: EquipmentMigrationOptions): Promise<EquipmentMigrationResult> {
    const reportFile = options.reportPath ? ReportFileWriter.open(options.reportPath) : undefined;
    const stopListening = this.transactions.listen();
    let lock: HeldMigrationLock | undefined;
    let state: OnlineRunState | undefined;
    try {
      const target = await this.database.open({ announceOn: 'stdout' });
      await this.database.assertAccess('migrate');
      this.transactions.checkpoint();
      lock = await this.lock(options);
      const database = { host: target.host, port: target.port, name: target.database, user: target.user };
      state = options.resume ? await this.resume(options, database) : await this.begin(options, database);
      if (state.scope.total > 0) await this.processPages(state, options, lock);
      return await this.complete(state, options, reportFile);
    } catch (error) {
      reportFile?.discard();
      throw await this.stopped(error, state);
    } finally {
      await lock?.release();
      stopListening();
    }
  }

  private async lock(options: EquipmentMigrationOptions): Promise<HeldMigrationLock> {
    try {
      return await acquireSessionMigrationLock(this.dataSource, options.waitForLockSeconds);
    } catch (error) {
      if (error instanceof LockedError) throw error;
      throw new CommandFailedError(`Failed to take the migration lock: ${(error as Error).message}; nothing was changed`);
    }
  }

  /** A new online run: its scope fixed and its row committed before the first page (a crash after it leaves it resumable). */
  private async begin(options: EquipmentMigrationOptions, database: ReportRun['database']): Promise<OnlineRunState> {
    const run: ReportRun = { id: randomUUID(), dry_run: false, started_at: new Date().toISOString(), finished_at: '', plan_fingerprint: '', database };
    this.output.line('Starting equipment data migration...');
    const outcome = await this.transactions.run(
      options,
      run.id,
      async (transaction) => {
        const scope = await this.repositories.assessments(transaction.queryRunner, run.id).scope();
        const checkpoint: RunCheckpoint = { lastId: scope.minId - 1, position: 0, after: { ...scope.before }, pages: 0 };
        await this.repositories.runs(transaction.queryRunner.manager).start({
          id: run.id,
          kind: 'migrate',
          mode: 'online',
          startedAt: new Date(run.started_at),
          options: recordedOnlineOptions(options),
          scope,
          checkpoint,
        });
        return { commit: true, result: { scope, checkpoint } };
      },
      { lockHeld: true, settles: false },
    );
    const { scope, checkpoint } = outcome.result;
    if (scope.total === 0) this.output.line('No assessments found to migrate');
    else {
      this.output.line(`Found ${scope.total} assessments to process`);
      this.output.line(`Online run ${run.id}: each page of up to ${options.batchSize} assessments commits on its own`);
    }
    return { run, scope, checkpoint, summary: emptySummary(), startPosition: 0 };
  }

  /** An interrupted or failed online run, taken over from its checkpoint with its recorded options. */
  private async resume(options: EquipmentMigrationOptions, database: ReportRun['database']): Promise<OnlineRunState> {
    const runs = this.repositories.runs(this.dataSource.manager);
    const recorded = options.resume === 'latest' ? await runs.latestResumable() : await runs.find(options.resume!);
    if (!recorded) {
      throw new UsageError(
        options.resume === 'latest'
          ? 'No interrupted or failed online run to resume (see `npm run cli -- migration-runs`)'
          : `No migration run ${options.resume} (see \`npm run cli -- migration-runs\`)`,
      );
    }
    assertResumable(recorded);
    Object.assign(options, resumedOptions(recorded, options));
    // The lock is ours, so a run still marked running has lost its process: it was interrupted.
    await runs.setStatus(recorded.id, 'running');
    const scope = recorded.scope as unknown as RunScope;
    const checkpoint = recorded.checkpoint!;
    const run: ReportRun = {
      id: recorded.id,
      dry_run: false,
      started_at: recorded.startedAt.toISOString(),
      finished_at: '',
      plan_fingerprint: '',
      database,
    };
    this.output.line('Starting equipment data migration...');
    this.output.line(`Found ${scope.total} assessments to process`);
    this.output.line(
      `Resuming online run ${run.id} after assessment ${checkpoint.lastId}: ${checkpoint.position} of ${scope.total} assessments committed`,
    );
    const summary = { ...emptySummary(), ...(recorded.summary ?? {}) } as MigrationSummary;
    return { run, scope, checkpoint, summary, startPosition: checkpoint.position };
  }

  private async processPages(state: OnlineRunState, options: EquipmentMigrationOptions, lock: HeldMigrationLock): Promise<void> {
    const throttle = new Throttle(options.throttle ?? DEFAULT_THROTTLE_LIMITS, new ThrottleProbe(this.dataSource), (line) => this.output.note(line));
    const progress = createProgress({ enabled: options.progress, total: state.scope.total, stream: this.output.progressStream, unit: 'assessments' });
    progress.advance(state.checkpoint.position);
    try {
      for (let more = true; more; ) {
        await lock.assertHeld();
        await throttle.beforePage(() => this.transactions.checkpoint());
        const page = await this.transactions.run(options, state.run.id, (transaction) => this.page(transaction, state, options, throttle), {
          lockHeld: true,
          settles: false,
          // A page committed if the run's checkpoint moved past where it started.
          committed: async (manager) => {
            const run = await this.repositories.runs(manager).find(state.run.id);
            return (run?.checkpoint?.pages ?? 0) > state.checkpoint.pages;
          },
        });
        progress.advance(Math.max(0, page.result.checkpoint.position - state.checkpoint.position));
        state.checkpoint = page.result.checkpoint;
        state.summary = page.result.summary;
        more = page.result.more;
      }
    } finally {
      progress.stop();
    }
  }

  /** One page in its own transaction: read, classify, write with audit rows, record errors and the checkpoint. */
  private async page(
    transaction: GuardedTransaction,
    state: OnlineRunState,
    options: EquipmentMigrationOptions,
    throttle: Throttle,
  ): Promise<TransactionEnding<PageResult>> {
    const { queryRunner } = transaction;
    const repository = this.repositories.assessments(queryRunner, state.run.id);
    transaction.beforeRollback(() => repository.drain());
    const { scope } = state;
    const candidates = await repository.readPage(state.checkpoint.lastId, scope.maxId, options.batchSize);
    transaction.checkpoint();
    const last = candidates.length < options.batchSize;
    const lastId = last ? scope.maxId : candidates[candidates.length - 1].id;
    const { classified } = await this.pages.finish(repository, await this.pages.start(repository, candidates, false), false);
    const tally = new MigrationTally(scope.before, undefined, undefined, { summary: state.summary, after: state.checkpoint.after as EquipmentDistribution });
    tally.add(classified);
    const differing = options.expectPlan?.differingUpTo(classified, state.checkpoint.lastId, lastId, last);
    if (differing && differing.length > 0) {
      const shown = differing.slice(0, 10).join(', ') + (differing.length > 10 ? `, … (${differing.length} in all)` : '');
      throw new CommandFailedError(
        `The plan differs from the reviewed one in ${differing.length} rows of the page after assessment ${state.checkpoint.lastId} (assessments ${shown}); the data changed since the dry run; the page was rolled back`,
      );
    }
    if (options.maxErrors !== undefined && tally.summary.errors > options.maxErrors) {
      throw new CommandFailedError(`Aborted: more than ${options.maxErrors} error rows (--max-errors ${options.maxErrors}); the page was rolled back`);
    }
    const checkpoint: RunCheckpoint = {
      lastId,
      position: Math.max(state.checkpoint.position, scopePosition(scope, lastId, last)),
      after: tally.after,
      pages: state.checkpoint.pages + 1,
    };
    await this.repositories.runs(queryRunner.manager).saveCheckpoint(state.run.id, checkpoint, { ...tally.summary });
    // Measured while the page's row locks are held: sessions waiting on them hold the next page back.
    throttle.recordBlocked(await new ThrottleProbe(this.dataSource).blockedSessions([await backendPid(transaction)]));
    return { commit: true, result: { checkpoint, summary: tally.summary, more: !last } };
  }

  /** The whole run's report, fingerprint and counts, from the audit trail; then the run is marked completed. */
  private async complete(state: OnlineRunState, options: EquipmentMigrationOptions, reportFile?: ReportFileWriter): Promise<EquipmentMigrationResult> {
    const { run, scope } = state;
    const recorded = new RecordedReport(this.dataSource.manager, this.report);
    const tally = await recorded.tally(run.id, scope.before, reportFile && ((json) => reportFile.append(json)));
    const summary = tally.close(scope.total);
    for (const line of this.report.errorLines(tally.listedErrors, summary.errors, reportFile !== undefined)) this.output.line(line);
    run.finished_at = new Date().toISOString();
    run.plan_fingerprint = tally.plan!.digest();
    if (options.expectPlan && options.expectPlan.fingerprint !== run.plan_fingerprint) {
      throw new CommandFailedError(
        `The plan differs from the reviewed one: fingerprint ${run.plan_fingerprint}, reviewed ${options.expectPlan.fingerprint} (rows planned in the review are gone)`,
      );
    }
    reportFile?.finish(this.report.head(run, summary, { before: scope.before, after: tally.after }));
    await this.transactions.run(
      options,
      run.id,
      async (transaction) => {
        await this.repositories.runs(transaction.queryRunner.manager).complete(run.id, { ...summary }, run.plan_fingerprint);
        return { commit: true, result: undefined };
      },
      {
        lockHeld: true,
        committed: async (manager) => (await this.repositories.runs(manager).findStatus(run.id)) === 'completed',
      },
    );
    const saved = await reportFile?.publishAfterEnd((line) => this.output.note(line), `the migration is committed (run ${run.id})`);
    const totals: MigrationTotals = { total: scope.total, summary, before: scope.before, after: tally.after };
    if (totals.total > 0) {
      this.report.printSummary(summary);
      for (const line of this.report.distributionLines(totals.before, totals.after)) this.output.line(line);
      this.output.line();
    }
    this.output.line(`Plan fingerprint: ${run.plan_fingerprint}`);
    if (saved) this.output.line(`Report saved to: ${options.reportPath}`);
    this.output.line('Migration completed successfully!');
    return { runId: run.id, summary, committed: true, reportPath: saved ? reportFile?.path : undefined };
  }

  /**
   * What ends a run that stopped: the run is marked interrupted or failed (on a fresh connection; if the database is
   * gone it stays 'running', which the next command recognises as interrupted), and the line says how far it got and
   * the two ways on. Exit 130/143 for a signal, 4 when pages are committed, else the cause's own code.
   */
  private async stopped(error: unknown, state?: OnlineRunState): Promise<unknown> {
    const cause = this.transactions.interruptedOr(error);
    if (!state) return cause;
    const status = cause instanceof InterruptedError ? 'interrupted' : 'failed';
    await this.repositories.runs(this.dataSource.manager).setStatus(state.run.id, status).catch(() => undefined);
    this.interruption.settle();
    const { run, scope, checkpoint } = state;
    return stoppedRunError(cause, {
      pages: checkpoint.pages,
      committed: `${checkpoint.position} of ${scope.total} assessments committed`,
      waysOn: `resume with: ${MIGRATE} --online --resume ${run.id}; undo with: ${REVERT} ${run.id}`,
    });
  }
}

function assertResumable(run: EquipmentMigrationRun): void {
  if (run.kind !== 'migrate' || run.mode !== 'online') {
    throw new UsageError(`Run ${run.id} is not an online migration run: only those can be resumed`);
  }
  if (run.status === 'completed') throw new UsageError(`Run ${run.id} is completed: there is nothing to resume`);
  if (run.status === 'reverted') throw new UsageError(`Run ${run.id} was reverted (by run ${run.revertedByRunId}): it cannot be resumed`);
}

/** The options an online run records, so that a resume continues with the same ones. */
function recordedOnlineOptions(options: EquipmentMigrationOptions): Record<string, string | number | boolean> {
  const { expectPlan, throttle, resume: _resume, reportPath: _reportPath, progress: _progress, ...rest } = options;
  const recorded = { ...rest, ...throttle, expectPlan: expectPlan?.fingerprint };
  return Object.fromEntries(Object.entries(recorded).filter(([, value]) => value !== undefined)) as Record<string, string | number | boolean>;
}

/** A resumed run's options: recorded ones for what the run does; this invocation's for report, progress and lock wait. */
function resumedOptions(run: EquipmentMigrationRun, given: EquipmentMigrationOptions): Partial<EquipmentMigrationOptions> {
  const o = run.options as Record<string, number | boolean | string | undefined>;
  const num = (key: string) => (typeof o[key] === 'number' ? (o[key] as number) : undefined);
  if (typeof o.expectPlan === 'string' && given.expectPlan?.fingerprint !== o.expectPlan) {
    throw new UsageError(`Run ${run.id} was started with --expect-plan ${o.expectPlan}: resume it with the same --expect-plan (the dry run's report file)`);
  }
  return {
    batchSize: num('batchSize') ?? given.batchSize,
    // --max-errors given again overrides the recorded one (a run stopped by it could not go on otherwise).
    maxErrors: given.maxErrors ?? num('maxErrors'),
    lockTimeoutSeconds: num('lockTimeoutSeconds') ?? given.lockTimeoutSeconds,
    statementTimeoutSeconds: num('statementTimeoutSeconds'),
    throttle: {
      maxReplicationLagSeconds: num('maxReplicationLagSeconds') ?? DEFAULT_THROTTLE_LIMITS.maxReplicationLagSeconds,
      maxBlockedSessions: num('maxBlockedSessions') ?? DEFAULT_THROTTLE_LIMITS.maxBlockedSessions,
      pauseMs: num('pauseMs') ?? DEFAULT_THROTTLE_LIMITS.pauseMs,
      maxThrottleSeconds: num('maxThrottleSeconds') ?? DEFAULT_THROTTLE_LIMITS.maxThrottleSeconds,
    },
  };
}

async function backendPid(transaction: GuardedTransaction): Promise<number> {
  const [row] = await transaction.queryRunner.query('SELECT pg_backend_pid() AS pid');
  return row.pid;
}

