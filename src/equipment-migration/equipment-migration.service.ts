import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CommandFailedError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { createProgress } from '../cli/progress';
import { DatabaseConnection } from '../database/database-connection.service';
import { MigrationRunOptions } from '../entities/equipment-migration-run.entity';
import { GuardedTransaction, GuardedTransactionRunner, TransactionEnding, TransactionGuards } from '../run-engine/guarded-transaction';
import { ReportFileWriter } from '../run-engine/report-file.writer';
import { ThrottleLimits } from '../run-engine/throttle';
import { AssessmentMigrationRepository, CandidateRow, EquipmentDistribution, RunScope } from './assessment-migration.repository';
import { MigrationPages, StartedPage } from './migration-pages';
import { MigrationRepositories } from './migration-repositories';
import { MigrationTally, scopePosition } from './migration-tally';
import { OnlineMigrationService } from './online-migration.service';
import { PlanFingerprint, ReviewedPlan } from './plan-fingerprint';
import { ReportService } from './report.service';
import { MigrationSummary, ReportRun } from './report.types';

export interface EquipmentMigrationOptions extends TransactionGuards {
  dryRun: boolean;
  reportPath?: string;
  /** Candidate rows per keyset page. */
  batchSize: number;
  /** Abort (roll back, exit 1; online: stop, exit 4) when more rows than this are errors. */
  maxErrors?: number;
  progress: boolean;
  /** The reviewed dry run's plan: the run rolls back (exit 1) if its own plan differs. */
  expectPlan?: ReviewedPlan;
  /** One transaction per page (resumable, throttled) instead of one for the whole run. */
  online?: boolean;
  /** With online: the interrupted or failed online run to continue (its id, or 'latest'). */
  resume?: string;
  /** With online: when the run waits for the database. */
  throttle?: ThrottleLimits;
}

export interface EquipmentMigrationResult {
  runId: string;
  summary: MigrationSummary;
  committed: boolean;
  reportPath?: string;
}

/** What a run's work hands to the reporting that follows its ending. */
export interface MigrationTotals {
  total: number;
  summary: MigrationSummary;
  before: EquipmentDistribution;
  after: EquipmentDistribution;
}

export const DEFAULT_BATCH_SIZE = 5000;
export const MAX_BATCH_SIZE = 100_000;

/**
 * The port of migrate_equipment_data. By default one transaction on one QueryRunner: keyset pages, the pure
 * EquipmentRules, set-based guarded writes, a streamed report; commits, or rolls back for --dry-run (or on any
 * failure). With --online each page is its own transaction (OnlineMigrationService).
 */
@Injectable()
export class EquipmentMigrationService {
  constructor(
    private readonly transactions: GuardedTransactionRunner,
    private readonly database: DatabaseConnection,
    private readonly report: ReportService,
    private readonly pages: MigrationPages,
    private readonly repositories: MigrationRepositories,
    private readonly online: OnlineMigrationService,
    private readonly output: CliOutput,
  ) {}

  async run(options: EquipmentMigrationOptions): Promise<EquipmentMigrationResult> {
    if (options.online && !options.dryRun) return this.online.run(options);
    // Checked before any database work: an unwritable report path changes nothing.
    const reportFile = options.reportPath ? ReportFileWriter.open(options.reportPath) : undefined;
    const stopListening = this.transactions.listen();
    try {
      const run = await this.open();
      if (options.online) this.output.line('--online with --dry-run: the dry run is one transaction, rolled back, as without --online');
      const outcome = await this.transactions.run(options, run.id, (transaction) => this.inTransaction(transaction, options, run, reportFile));
      // The outcome is settled: nothing from here on may be reported as a rollback.
      if (outcome.acknowledgementLost) {
        this.output.note(`Note: the connection was lost while committing; run ${run.id} is recorded, so the migration committed`);
      }
      const saved = await reportFile?.publishAfterEnd(
        (line) => this.output.note(line),
        outcome.committed ? `the migration is committed (run ${run.id})` : 'nothing was changed (dry run)',
      );
      this.printEnd(outcome.result, run.plan_fingerprint, saved ? options.reportPath : undefined);
      return { runId: run.id, summary: outcome.result.summary, committed: outcome.committed, reportPath: saved ? reportFile?.path : undefined };
    } catch (error) {
      reportFile?.discard();
      throw this.transactions.interruptedOr(error);
    } finally {
      stopListening();
    }
  }

  /** Connects (printing the Database line), checks access, and starts the run's report metadata. */
  async open(id: string = randomUUID()): Promise<ReportRun> {
    const target = await this.database.open({ announceOn: 'stdout' });
    await this.database.assertAccess('migrate');
    this.transactions.checkpoint();
    return {
      id,
      dry_run: false,
      started_at: new Date().toISOString(),
      finished_at: '',
      plan_fingerprint: '',
      database: { host: target.host, port: target.port, name: target.database, user: target.user },
    };
  }

  /** The guide's closing lines (and the port's distribution and fingerprint lines). */
  printEnd(totals: MigrationTotals, fingerprint: string, savedTo?: string): void {
    if (totals.total > 0) {
      this.report.printSummary(totals.summary);
      for (const line of this.report.distributionLines(totals.before, totals.after)) this.output.line(line);
      this.output.line();
    }
    this.output.line(`Plan fingerprint: ${fingerprint}`);
    if (savedTo) this.output.line(`Report saved to: ${savedTo}`);
    this.output.line('Migration completed successfully!');
  }

  /** The transaction's work: pages, tallies, the audit record and the report file; ends by asking to commit or not. */
  private async inTransaction(
    transaction: GuardedTransaction,
    options: EquipmentMigrationOptions,
    run: ReportRun,
    reportFile?: ReportFileWriter,
  ): Promise<TransactionEnding<MigrationTotals>> {
    const { queryRunner } = transaction;
    run.dry_run = options.dryRun;
    this.output.line('Starting equipment data migration...');
    if (options.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
    const runs = this.repositories.runs(queryRunner.manager);
    const repository = this.repositories.assessments(queryRunner, run.id);
    // Statements sent ahead (the next page's read) finish first: the rollback must not queue behind a busy client.
    transaction.beforeRollback(() => repository.drain());
    const scope = await repository.scope();
    await runs.start({ id: run.id, kind: 'migrate', startedAt: new Date(run.started_at), options: recordedOptions(options), scope });
    const tally = new MigrationTally(scope.before, new PlanFingerprint(), options.expectPlan?.differences());

    if (scope.total === 0) {
      this.output.line('No assessments found to migrate');
    } else {
      this.output.line(`Found ${scope.total} assessments to process`);
      await this.processPages(repository, transaction, scope, options, tally, reportFile);
      for (const line of this.report.errorLines(tally.listedErrors, tally.summary.errors, reportFile !== undefined)) {
        this.output.line(line);
      }
    }
    const summary = tally.close(scope.total);
    run.finished_at = new Date().toISOString();
    run.plan_fingerprint = tally.plan!.digest();
    if (options.expectPlan && options.expectPlan.fingerprint !== run.plan_fingerprint) {
      const how = tally.differences
        ? `in ${tally.differences.count} rows (outcome or value changed, rows added or gone)`
        : `(pass the dry run's --save-report file to --expect-plan to count the rows that differ)`;
      throw new CommandFailedError(
        `The plan differs from the reviewed one ${how}: fingerprint ${run.plan_fingerprint}, reviewed ${options.expectPlan.fingerprint}; the data changed since the dry run; rolled back, nothing was changed`,
      );
    }
    await runs.complete(run.id, { ...summary }, run.plan_fingerprint);
    // Written and synced before the commit (a full disk fails the run, not its report); renamed into place after it.
    reportFile?.finish(this.report.head(run, summary, { before: scope.before, after: tally.after }));
    if (options.dryRun && scope.total > 0) this.output.line('Rolling back changes (dry run mode)');
    return { commit: !options.dryRun, result: { total: scope.total, summary, before: scope.before, after: tally.after } };
  }

  /**
   * Keyset pages of candidates, pipelined on the one connection: while the database reads page k+1 and writes page k,
   * Node classifies page k+1 and reports page k. The database is rarely idle, and the statements stay in order.
   */
  private async processPages(
    repository: AssessmentMigrationRepository,
    transaction: GuardedTransaction,
    scope: RunScope,
    options: EquipmentMigrationOptions,
    tally: MigrationTally,
    reportFile?: ReportFileWriter,
  ): Promise<void> {
    const progress = createProgress({ enabled: options.progress, total: scope.total, stream: this.output.progressStream, unit: 'assessments' });
    const withDetails = reportFile !== undefined;
    let reported = 0;
    const finish = async (page: StartedPage & { lastId: number; last: boolean }) => {
      const { classified, detailsJson } = await this.pages.finish(repository, page, withDetails);
      tally.add(classified);
      if (detailsJson) reportFile!.append(detailsJson);
      if (options.maxErrors !== undefined && tally.summary.errors > options.maxErrors) {
        throw new CommandFailedError(
          `Aborted: more than ${options.maxErrors} error rows (--max-errors ${options.maxErrors}); rolled back, nothing was changed`,
        );
      }
      const position = scopePosition(scope, page.lastId, page.last);
      progress.advance(Math.max(0, position - reported));
      reported = Math.max(reported, position);
    };
    // Statements sent ahead must not surface later as unhandled rejections when an earlier step fails.
    const settled = <T>(promise: Promise<T>) => (promise.catch(() => undefined), promise);
    try {
      let next: Promise<CandidateRow[]> | undefined = settled(repository.readPage(scope.minId - 1, scope.maxId, options.batchSize));
      let inFlight: (StartedPage & { lastId: number; last: boolean }) | undefined;
      while (next) {
        const candidates: CandidateRow[] = await next;
        transaction.checkpoint();
        const last = candidates.length < options.batchSize;
        const lastId = candidates.length > 0 ? candidates[candidates.length - 1].id : scope.maxId;
        next = last ? undefined : settled(repository.readPage(lastId, scope.maxId, options.batchSize));
        const started = { ...(await this.pages.start(repository, candidates, withDetails)), lastId, last };
        if (inFlight) await finish(inFlight);
        inFlight = started;
      }
      if (inFlight) await finish(inFlight);
    } finally {
      progress.stop();
    }
  }
}

/** The options as the audit trail records them (set ones only; a resumed run reads them back). */
export function recordedOptions(options: EquipmentMigrationOptions): MigrationRunOptions {
  const { expectPlan, throttle, ...rest } = options;
  const recorded = { ...rest, ...throttle, expectPlan: expectPlan?.fingerprint };
  return Object.fromEntries(Object.entries(recorded).filter(([, value]) => value !== undefined)) as MigrationRunOptions;
}
