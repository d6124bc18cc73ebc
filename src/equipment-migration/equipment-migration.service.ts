import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { CommandFailedError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { createProgress } from '../cli/progress';
import { DatabaseConnection } from '../database/database-connection.service';
import { MigrationRunOptions } from '../entities/equipment-migration-run.entity';
import { AssessmentMigrationRepository, CandidateRow, EquipmentDistribution, PageWriteResult, RowWrite, StoredValues } from './assessment-migration.repository';
import { EquipmentRules, parseStoredJson } from './equipment-rules';
import { WriteValidator } from './equipment-write.dto';
import { GuardedTransaction, GuardedTransactionRunner, TransactionEnding, TransactionGuards } from '../run-engine/guarded-transaction';
import { PlanDifferences, PlanFingerprint, ReviewedPlan } from './plan-fingerprint';
import { ReportFileWriter } from '../run-engine/report-file.writer';
import { Classified, ListedError, MAX_LISTED_ERRORS, ReportService } from './report.service';
import { MigrationSummary, ReportRun } from './report.types';

export interface EquipmentMigrationOptions extends TransactionGuards {
  dryRun: boolean;
  reportPath?: string;
  /** Candidate rows per keyset page. */
  batchSize: number;
  /** Abort (roll back, exit 1) when more rows than this are errors. */
  maxErrors?: number;
  progress: boolean;
  /** The reviewed dry run's plan: the run rolls back (exit 1) if its own plan differs. */
  expectPlan?: ReviewedPlan;
}

export interface EquipmentMigrationResult {
  runId: string;
  summary: MigrationSummary;
  committed: boolean;
  reportPath?: string;
}

/** Seams for tests that must interleave with a run deterministically (another session's update, say). */
export interface MigrationHooks {
  /** Called with each page's candidates after they are read and before they are classified and written. */
  afterPageRead?(candidates: CandidateRow[]): Promise<void>;
}
export const MIGRATION_HOOKS = Symbol('MIGRATION_HOOKS');

/** What the transaction's work hands to the reporting that follows its ending. */
interface MigrationTotals {
  total: number;
  summary: MigrationSummary;
  before: EquipmentDistribution;
  after: EquipmentDistribution;
}

/** What the run accumulates page by page. */
interface PageTallies {
  summary: MigrationSummary;
  listedErrors: ListedError[];
  plan: PlanFingerprint;
  after: EquipmentDistribution;
  differences?: PlanDifferences;
}

/** A page whose write has been sent but not yet confirmed. */
interface StartedPage {
  classified: Classified[];
  writes: RowWrite[];
  writing: Promise<PageWriteResult>;
  detailsJson: string;
  lastId: number;
  last: boolean;
}

export const DEFAULT_BATCH_SIZE = 5000;
export const MAX_BATCH_SIZE = 100_000;
/** Rows classified or serialized between two yields to the event loop (about a millisecond of work). */
const ROWS_BETWEEN_YIELDS = 500;
/** How often a row changed by someone else between read and write is re-read before it counts as an error. */
const MAX_WRITE_ATTEMPTS = 3;

/**
 * The port of migrate_equipment_data: one transaction on one QueryRunner, keyset pages, the pure EquipmentRules,
 * set-based guarded writes, a streamed report. Commits, or rolls back for --dry-run (or on any failure).
 */
@Injectable()
export class EquipmentMigrationService {
  private readonly writeValidator = new WriteValidator();

  constructor(
    private readonly transactions: GuardedTransactionRunner,
    private readonly database: DatabaseConnection,
    private readonly report: ReportService,
    private readonly output: CliOutput,
    @Optional() @Inject(MIGRATION_HOOKS) private readonly hooks: MigrationHooks = {},
  ) {}

  async run(options: EquipmentMigrationOptions): Promise<EquipmentMigrationResult> {
    // Checked before any database work: an unwritable report path changes nothing.
    const reportFile = options.reportPath ? ReportFileWriter.open(options.reportPath) : undefined;
    const stopListening = this.transactions.listen();
    try {
      const target = await this.database.open({ announceOn: 'stdout' });
      await this.database.assertAccess('migrate');
      this.transactions.checkpoint();
      const run: ReportRun = {
        id: randomUUID(),
        dry_run: options.dryRun,
        started_at: new Date().toISOString(),
        finished_at: '',
        plan_fingerprint: '',
        database: { host: target.host, port: target.port, name: target.database, user: target.user },
      };
      const outcome = await this.transactions.run(options, run.id, (transaction) => this.inTransaction(transaction, options, run, reportFile));
      // The outcome is settled: nothing from here on may be reported as a rollback.
      const done = outcome.result;
      if (outcome.acknowledgementLost) {
        this.output.note(`Note: the connection was lost while committing; run ${run.id} is recorded, so the migration committed`);
      }
      const saved = await reportFile?.publishAfterEnd(
        (line) => this.output.note(line),
        outcome.committed ? `the migration is committed (run ${run.id})` : 'nothing was changed (dry run)',
      );
      if (done.total > 0) {
        this.report.printSummary(done.summary);
        for (const line of this.report.distributionLines(done.before, done.after)) this.output.line(line);
        this.output.line();
      }
      this.output.line(`Plan fingerprint: ${run.plan_fingerprint}`);
      if (saved) this.output.line(`Report saved to: ${options.reportPath}`);
      this.output.line('Migration completed successfully!');
      return { runId: run.id, summary: done.summary, committed: outcome.committed, reportPath: saved ? reportFile?.path : undefined };
    } catch (error) {
      reportFile?.discard();
      throw this.transactions.interruptedOr(error);
    } finally {
      stopListening();
    }
  }

  /** The transaction's work: pages, tallies, the audit record and the report file; ends by asking to commit or not. */
  private async inTransaction(
    transaction: GuardedTransaction,
    options: EquipmentMigrationOptions,
    run: ReportRun,
    reportFile?: ReportFileWriter,
  ): Promise<TransactionEnding<MigrationTotals>> {
    const { queryRunner } = transaction;
    this.output.line('Starting equipment data migration...');
    if (options.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
    const runs = new MigrationRunRepository(queryRunner.manager);
    await runs.start({ id: run.id, kind: 'migrate', startedAt: new Date(run.started_at), options: recordedOptions(options) });
    const repository = new AssessmentMigrationRepository(queryRunner, run.id);
    // Statements sent ahead (the next page's read) finish first: the rollback must not queue behind a busy client.
    transaction.beforeRollback(() => repository.drain());
    const scope = await repository.scope();
    const summary = this.report.emptySummary();
    const listedErrors: ListedError[] = [];
    const plan = new PlanFingerprint();
    const differences = options.expectPlan?.differences();
    const after = { ...scope.before };

    if (scope.total === 0) {
      this.output.line('No assessments found to migrate');
    } else {
      this.output.line(`Found ${scope.total} assessments to process`);
      await this.processPages(repository, transaction, scope, options, { summary, listedErrors, plan, after, differences }, reportFile);
      for (const line of this.report.errorLines(listedErrors, summary.errors, reportFile !== undefined)) {
        this.output.line(line);
      }
    }

    run.finished_at = new Date().toISOString();
    run.plan_fingerprint = plan.digest();
    if (options.expectPlan && options.expectPlan.fingerprint !== run.plan_fingerprint) {
      const how = differences
        ? `in ${differences.count} rows (outcome or value changed, rows added or gone)`
        : `(pass the dry run's --save-report file to --expect-plan to count the rows that differ)`;
      throw new CommandFailedError(
        `The plan differs from the reviewed one ${how}: fingerprint ${run.plan_fingerprint}, reviewed ${options.expectPlan.fingerprint}; the data changed since the dry run; rolled back, nothing was changed`,
      );
    }
    await runs.complete(run.id, { ...summary }, run.plan_fingerprint);
    // Written and synced before the commit (a full disk fails the run, not its report); renamed into place after it.
    reportFile?.finish(this.report.head(run, summary, { before: scope.before, after }));
    if (options.dryRun && scope.total > 0) this.output.line('Rolling back changes (dry run mode)');
    return { commit: !options.dryRun, result: { total: scope.total, summary, before: scope.before, after } };
  }

  /**
   * Keyset pages of candidates, pipelined on the one connection: while the database reads page k+1 and writes page k,
   * Node classifies page k+1 and reports page k. The database is rarely idle, and the statements stay in order.
   */
  private async processPages(
    repository: AssessmentMigrationRepository,
    transaction: GuardedTransaction,
    scope: { total: number; minId: number; maxId: number },
    options: EquipmentMigrationOptions,
    { summary, listedErrors, plan, after, differences }: PageTallies,
    reportFile?: ReportFileWriter,
  ): Promise<void> {
    const progress = createProgress({
      enabled: options.progress,
      total: scope.total,
      stream: this.output.progressStream,
      unit: 'assessments',
    });
    // Skipped rows never leave the database, so progress follows the position in the id range.
    const span = scope.maxId - scope.minId + 1;
    let reported = 0;
    const finish = async (page: StartedPage) => {
      const { classified, detailsJson } = await this.finishPage(repository, page, reportFile !== undefined);
      this.tally(classified, summary, listedErrors);
      plan.add(classified);
      differences?.add(classified);
      this.report.moveDistribution(after, classified);
      if (detailsJson) reportFile!.append(detailsJson);
      if (options.maxErrors !== undefined && summary.errors > options.maxErrors) {
        throw new CommandFailedError(
          `Aborted: more than ${options.maxErrors} error rows (--max-errors ${options.maxErrors}); rolled back, nothing was changed`,
        );
      }
      const position = page.last ? scope.total : Math.round(((page.lastId - scope.minId + 1) / span) * scope.total);
      progress.advance(Math.max(0, position - reported));
      reported = Math.max(reported, position);
    };
    // Statements sent ahead must not surface later as unhandled rejections when an earlier step fails.
    const settled = <T>(promise: Promise<T>) => (promise.catch(() => undefined), promise);
    try {
      let next: Promise<CandidateRow[]> | undefined = settled(repository.readPage(scope.minId - 1, scope.maxId, options.batchSize));
      let inFlight: StartedPage | undefined;
      while (next) {
        const candidates: CandidateRow[] = await next;
        transaction.checkpoint();
        await this.hooks.afterPageRead?.(candidates);
        const last = candidates.length < options.batchSize;
        const lastId = candidates.length > 0 ? candidates[candidates.length - 1].id : scope.maxId;
        next = last ? undefined : settled(repository.readPage(lastId, scope.maxId, options.batchSize));
        const started = await this.startPage(repository, candidates, lastId, last, reportFile !== undefined);
        if (inFlight) await finish(inFlight);
        inFlight = started;
      }
      if (inFlight) await finish(inFlight);
      // Rows the rules skip are recognised in SQL and never read: they are what the other outcomes leave.
      summary.total_processed = scope.total;
      summary.skipped = Math.max(0, scope.total - summary.migrated - summary.flagged - summary.errors);
    } finally {
      progress.stop();
    }
  }

  /**
   * Classifies a page, sends its guarded write, and serializes its report details while the database works.
   * The work yields to the event loop every few hundred rows: node-postgres sends a queued statement only when it
   * sees the previous one finish, so a long synchronous stretch here would leave the database idle.
   */
  private async startPage(
    repository: AssessmentMigrationRepository,
    candidates: CandidateRow[],
    lastId: number,
    last: boolean,
    withDetails: boolean,
  ): Promise<StartedPage> {
    const classified: Classified[] = [];
    for (let i = 0; i < candidates.length; i += ROWS_BETWEEN_YIELDS) {
      for (const row of candidates.slice(i, i + ROWS_BETWEEN_YIELDS)) classified.push(classifyRow(row));
      await yieldToEventLoop();
    }
    const writes = this.writesFor(classified);
    const writing = repository.writePage(writes);
    writing.catch(() => undefined); // awaited in finishPage; never an unhandled rejection meanwhile
    const parts: string[] = [];
    if (withDetails) {
      for (let i = 0; i < classified.length; i += ROWS_BETWEEN_YIELDS) {
        parts.push(this.report.serializeDetails(classified.slice(i, i + ROWS_BETWEEN_YIELDS)));
        await yieldToEventLoop();
      }
    }
    return { classified, writes, writing, lastId, last, detailsJson: parts.filter(Boolean).join(',\n    ') };
  }

  /**
   * Waits for a page's write. A row someone else changed after it was read is re-read (locked this time) and
   * classified again from its new value, and only then are the page's details serialized again.
   */
  private async finishPage(
    repository: AssessmentMigrationRepository,
    page: StartedPage,
    withDetails: boolean,
  ): Promise<{ classified: Classified[]; detailsJson: string }> {
    let { classified, writes } = page;
    let result = await page.writing;
    let revised = false;
    const stored = new Map(result.stored);
    for (let attempt = 1; ; attempt += 1) {
      if (result.refused.size > 0) {
        revised = true;
        classified = classified.map((item) => {
          const message = result.refused.get(item.row.id);
          return message === undefined ? item : { row: item.row, outcome: { status: 'error', reason: `the database refused the write: ${message}` } };
        });
      }
      const changed = new Set(writes.filter((w) => !result.written.has(w.id) && !result.refused.has(w.id)).map((w) => w.id));
      if (changed.size === 0) break;
      revised = true;
      if (attempt >= MAX_WRITE_ATTEMPTS) {
        classified = classified.map((item) =>
          changed.has(item.row.id) ? { row: item.row, outcome: { status: 'error', reason: 'the row kept changing while it was being migrated' } } : item,
        );
        break;
      }
      // Someone changed these rows after they were read: read them again, locked, and decide from their new values.
      // Rows deleted meanwhile are simply gone from the run.
      const reclassified = (await repository.rereadLocked([...changed])).map(classifyRow);
      classified = [...classified.filter((item) => !changed.has(item.row.id)), ...reclassified].sort((a, b) => a.row.id - b.row.id);
      writes = this.writesFor(reclassified);
      result = await repository.writePage(writes);
      for (const [id, values] of result.stored) stored.set(id, values);
    }
    // A trigger may have rewritten what was written: the row counts as what the database holds, never as what was sent.
    let rewritten = 0;
    classified = classified.map((item) => {
      const values = stored.get(item.row.id);
      const difference = values && storedDifference(item, values);
      if (!difference) return item;
      rewritten += 1;
      return {
        row: item.row,
        outcome: { status: 'error', reason: `the database stored ${difference} (a trigger?); the row was written with the stored values` },
        storedEquipmentJson: values.equipmentJson,
      };
    });
    if (rewritten > 0) {
      revised = true;
      this.output.note(`Warning: ${rewritten} rows hold other values than the migration wrote (a trigger rewrote them); they are reported as errors`);
    }
    if (!revised) return { classified, detailsJson: page.detailsJson };
    return { classified, detailsJson: withDetails ? this.report.serializeDetails(classified) : '' };
  }

  private writesFor(classified: Classified[]): RowWrite[] {
    const writes: RowWrite[] = [];
    for (const { row, outcome } of classified) {
      if (outcome.status !== 'migrated' && outcome.status !== 'flagged') continue;
      writes.push(
        this.writeValidator.checked({
          id: row.id,
          version: row.version,
          equipment: outcome.write.equipment,
          clearItems: outcome.write.items === 'clear',
          reassessmentRequired: outcome.write.reassessmentRequired,
        }),
      );
    }
    return writes;
  }

  private tally(classified: Classified[], summary: MigrationSummary, listedErrors: ListedError[]): void {
    for (const { row, outcome } of classified) {
      if (outcome.status === 'migrated') summary.migrated += 1;
      else if (outcome.status === 'flagged') summary.flagged += 1;
      else if (outcome.status === 'error') {
        summary.errors += 1;
        if (listedErrors.length < MAX_LISTED_ERRORS) {
          listedErrors.push({ assessmentId: row.id, userEmail: row.userEmail, reason: outcome.reason });
        }
      }
    }
  }
}

/** The options as the audit trail records them (set ones only). */
function recordedOptions(options: EquipmentMigrationOptions): MigrationRunOptions {
  const { expectPlan, ...rest } = options;
  const recorded = { ...rest, expectPlan: expectPlan?.fingerprint };
  return Object.fromEntries(Object.entries(recorded).filter(([, value]) => value !== undefined)) as MigrationRunOptions;
}

/** Quotes of stored values in reasons are capped: a trigger may store anything. */
const MAX_QUOTED_STORED = 200;
const quoted = (json: string | null) => (json === null ? 'NULL' : json.length > MAX_QUOTED_STORED ? `${json.slice(0, MAX_QUOTED_STORED)}…` : json);

/** How the stored values differ from what the rules decided for a migrated or flagged row, e.g. `"no_equipment" instead of "full_gym"`; undefined if they match. */
function storedDifference({ row, outcome }: Classified, values: StoredValues): string | undefined {
  if (outcome.status !== 'migrated' && outcome.status !== 'flagged') return undefined;
  const differences: string[] = [];
  const equipment = JSON.stringify(outcome.write.equipment);
  if (values.equipmentJson !== equipment) differences.push(`${quoted(values.equipmentJson)} instead of ${equipment}`);
  const items = outcome.write.items === 'clear' ? '[]' : row.itemsJson;
  if (values.itemsJson !== items) differences.push(`equipment_items ${quoted(values.itemsJson)} instead of ${quoted(items)}`);
  if (values.reassessmentRequired !== outcome.write.reassessmentRequired) {
    differences.push(`equipment_reassessment_required ${values.reassessmentRequired} instead of ${outcome.write.reassessmentRequired}`);
  }
  return differences.length > 0 ? differences.join(', ') : undefined;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** SQL NULL and JSON null both arrive as null; numbers too large for a double keep their stored text. */
function parseJson(text: string | null): unknown {
  return text === null ? null : parseStoredJson(text);
}

function classifyRow(row: CandidateRow): Classified {
  const outcome = EquipmentRules.classify({
    equipment: parseJson(row.equipmentJson),
    equipmentItems: parseJson(row.itemsJson),
    reassessmentRequired: row.reassessmentRequired,
  });
  return { row, outcome };
}
