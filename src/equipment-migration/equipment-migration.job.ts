import { EntityManager } from 'typeorm';
import type { ReportFileWriter } from '../run-engine/report-file.writer';
import { CommandFailedError, UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { createProgress } from '../cli/progress';
import { EquipmentMigrationRun, MigrationRunOptions, RunCheckpoint } from '../entities/equipment-migration-run.entity';
import { GuardedTransaction, NOTHING_CHANGED } from '../run-engine/guarded-transaction';
import { DataChangeJob, JobStart, RunContext } from '../run-engine/run-lifecycle';
import { DEFAULT_THROTTLE_LIMITS, ThrottleLimits } from '../run-engine/throttle';
import { AssessmentMigrationRepository, CandidatePage, EquipmentDistribution, PageSizing, RunScope } from './assessment-migration.repository';
import { EncodedDetails, MigrationPages, StartedPage } from './migration-pages';
import { MigrationRepositories } from './migration-repositories';
import { emptySummary, MigrationTally, scopePosition } from './migration-tally';
import { PlanFingerprint, ReviewedPlan } from './plan-fingerprint';
import { RecordedReport } from './recorded-report';
import { Classified, ReportService } from './report.service';
import { MigrationSummary, ReportRun } from './report.types';

export interface EquipmentMigrationOptions {
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
  waitForLockSeconds: number;
  lockTimeoutSeconds: number;
  statementTimeoutSeconds?: number;
}

/** Where a migration run stands. Online pages never change it in place: a page that rolls back leaves it as it was. */
export interface MigrationState {
  scope: RunScope;
  checkpoint: RunCheckpoint;
  summary: MigrationSummary;
  /** An atomic run's tally (its one transaction fills it); an online run's is built from the audit trail at the end. */
  tally?: MigrationTally;
  startedAt: string;
  /** Online: the next page's candidates, read in the previous page's transaction while it classified (see onePage). */
  prefetched?: { afterId: number; page: CandidatePage };
  /** Online: the last page's rows and report details, tallied once its transaction has committed (see afterCommit). */
  page?: { classified: Classified[]; details: EncodedDetails };
}

export interface MigrationResult {
  runId: string;
  summary: MigrationSummary;
  total: number;
  before: EquipmentDistribution;
  after: EquipmentDistribution;
  fingerprint: string;
}

const MIGRATE = 'npm run cli -- migrate-equipment';
const REVERT = 'npm run cli -- revert-equipment-migration';

/**
 * The port of migrate_equipment_data as a job of the run lifecycle: keyset pages of candidates, the pure
 * EquipmentRules, set-based guarded writes with their audit rows, a streamed report. Atomic: every page in the one
 * transaction, pipelined. Online: one page per transaction, each recording the run's checkpoint; a resumed run's
 * report, fingerprint and distribution are built from the audit trail, so they cover the whole run across resumes.
 */
export class EquipmentMigrationJob implements DataChangeJob<MigrationState, MigrationResult> {
  readonly access = 'migrate' as const;
  readonly noun = 'migration';
  readonly readsPagesAside = true;

  /** What the pages learn about row sizes, kept across pages (an online run's pages are transactions of their own). */
  private readonly sizing: PageSizing = {};
  /**
   * An online run begun by this process tallies its committed pages as they commit (and streams their report details),
   * as the atomic run does; a resumed run builds its tally and report from the audit trail at the end instead.
   */
  private live?: MigrationTally;

  constructor(
    private readonly options: EquipmentMigrationOptions,
    private readonly repositories: MigrationRepositories,
    private readonly pages: MigrationPages,
    private readonly report: ReportService,
    private readonly output: CliOutput,
  ) {}

  async begin(transaction: GuardedTransaction, context: RunContext): Promise<JobStart<MigrationState>> {
    const { options } = this;
    const manager = transaction.queryRunner.manager;
    this.output.line('Starting equipment data migration...');
    if (context.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
    if (options.resume && !context.dryRun) return this.resume(manager, options.resume);
    const startedAt = new Date().toISOString();
    const scope = await this.repositories.assessments(transaction.queryRunner, context.runId).scope();
    const checkpoint: RunCheckpoint = { lastId: scope.minId - 1, position: 0, after: { ...scope.before }, pages: 0 };
    const online = context.strategy === 'online' && !context.dryRun;
    await this.repositories.runs(manager).start({
      id: context.runId,
      kind: 'migrate',
      mode: online ? 'online' : 'atomic',
      startedAt: new Date(startedAt),
      options: recordedOptions(options),
      scope,
      checkpoint: online ? checkpoint : undefined,
    });
    if (scope.total === 0) this.output.line('No assessments found to migrate');
    else {
      this.output.line(`Found ${scope.total} assessments to process`);
      if (online) this.output.line(`Online run ${context.runId}: each page of up to ${options.batchSize} assessments commits on its own`);
    }
    const tally = online ? undefined : new MigrationTally(scope.before, new PlanFingerprint(), options.expectPlan?.differences());
    if (online) this.live = new MigrationTally(scope.before, new PlanFingerprint(), options.expectPlan?.differences());
    return { state: { scope, checkpoint, summary: emptySummary(), tally, startedAt }, pages: 0 };
  }

  /** An interrupted or failed online run, taken over from its checkpoint with its recorded options. */
  private async resume(manager: EntityManager, which: string): Promise<JobStart<MigrationState>> {
    const runs = this.repositories.runs(manager);
    const recorded = which === 'latest' ? await runs.latestResumable() : await runs.find(which);
    if (!recorded) {
      throw new UsageError(
        which === 'latest'
          ? 'No interrupted or failed online run to resume (see `npm run cli -- migration-runs`)'
          : `No migration run ${which} (see \`npm run cli -- migration-runs\`)`,
      );
    }
    assertResumable(recorded);
    const settings = resumedOptions(recorded, this.options);
    Object.assign(this.options, settings);
    // The lock is ours, so a run still marked running has lost its process: it was interrupted.
    await runs.setStatus(recorded.id, 'running');
    const scope = recorded.scope as unknown as RunScope;
    const checkpoint = recorded.checkpoint!;
    this.output.line(`Found ${scope.total} assessments to process`);
    this.output.line(`Resuming online run ${recorded.id} after assessment ${checkpoint.lastId}: ${checkpoint.position} of ${scope.total} assessments committed`);
    const summary = { ...emptySummary(), ...(recorded.summary ?? {}) } as MigrationSummary;
    return { state: { scope, checkpoint, summary, startedAt: recorded.startedAt.toISOString() }, pages: checkpoint.pages, runId: recorded.id, settings };
  }

  async work(transaction: GuardedTransaction, state: MigrationState, context: RunContext, pages: 'all' | 'one') {
    if (state.scope.total === 0) return { state, more: false };
    // Pages are read on the run's reader (readsPagesAside), outside the transaction: the database reads the next page
    // while it writes this one.
    const repository = this.repositories.assessments(transaction.queryRunner, context.runId, context.pageReader);
    // Statements sent ahead (the next page's read) finish first: the rollback must not queue behind a busy client.
    transaction.beforeRollback(() => repository.drain());
    if (pages === 'all') {
      await this.allPages(repository, transaction, state, context.reportFile);
      return { state, more: false };
    }
    return this.onePage(repository, transaction, state, this.live !== undefined && context.reportFile !== undefined, context.rollbackNote);
  }

  /**
   * Every keyset page in the one transaction, pipelined on its connection: while the database reads page k+1 and
   * writes page k, Node classifies page k+1 and reports page k. The database is rarely idle, and statements stay in order.
   */
  private async allPages(repository: AssessmentMigrationRepository, transaction: GuardedTransaction, state: MigrationState, reportFile?: Pick<ReportFileWriter, 'append'>) {
    const { scope, tally } = state as MigrationState & { tally: MigrationTally };
    const { options } = this;
    const progress = createProgress({ enabled: options.progress, total: scope.total, stream: this.output.progressStream, unit: 'assessments' });
    const withDetails = reportFile !== undefined;
    let reported = 0;
    type InFlight = StartedPage & { lastId: number; last: boolean };
    // The last finished page's error rows: they follow the next page's write on the connection (see the loop).
    let recorded: Promise<void> = Promise.resolve();
    const finish = async (page: InFlight) => {
      const { classified, details, recorded: pageRecorded } = await this.pages.finish(repository, page, withDetails);
      await recorded;
      recorded = pageRecorded;
      tally.add(classified);
      if (details.length > 0) reportFile!.append(details);
      this.assertErrorsWithinLimit(tally.summary, NOTHING_CHANGED);
      const position = scopePosition(scope, page.lastId, page.last);
      progress.advance(Math.max(0, position - reported));
      reported = Math.max(reported, position);
    };
    // Statements sent ahead must not surface later as unhandled rejections when an earlier step fails.
    const settled = <T>(promise: Promise<T>) => (promise.catch(() => undefined), promise);
    try {
      let next: Promise<CandidatePage> | undefined = settled(repository.readPage(scope.minId - 1, scope.maxId, options.batchSize, this.sizing));
      let inFlight: InFlight | undefined;
      while (next) {
        const page: CandidatePage = await next;
        const candidates = page.rows;
        transaction.checkpoint();
        const last = !page.more; // a page cut short by its byte budget is not the last
        const lastId = candidates.length > 0 ? candidates[candidates.length - 1].id : scope.maxId;
        next = last ? undefined : settled(repository.readPage(lastId, scope.maxId, options.batchSize, this.sizing));
        // Classified while the database writes the previous page, and sent before that page is finished: the
        // connection takes it the moment the previous write ends, and is never idle while Node settles and reports
        // the previous page. That page's error rows follow this write.
        const classified = await this.pages.classify(candidates);
        const sent: InFlight = { ...(await this.pages.send(repository, classified, withDetails)), lastId, last };
        if (inFlight) await finish(inFlight);
        inFlight = sent;
      }
      if (inFlight) await finish(inFlight);
      await recorded;
    } finally {
      progress.stop();
    }
  }

  /**
   * An online run's next page: read, classify, write with its audit rows and error rows; the state after it. The next
   * page's read is sent first, on the run's reader, so the database reads it while it writes this one and Node
   * classifies (as the atomic run overlaps them); reading it outside this page's transaction, before this page
   * commits, is safe because it lies past this page and every write is guarded by the row version read.
   */
  private async onePage(
    repository: AssessmentMigrationRepository,
    transaction: GuardedTransaction,
    state: MigrationState,
    withDetails: boolean,
    rolledBack: string,
  ) {
    const { scope, checkpoint } = state;
    const { options } = this;
    const page =
      state.prefetched?.afterId === checkpoint.lastId
        ? state.prefetched.page
        : await repository.readPage(checkpoint.lastId, scope.maxId, options.batchSize, this.sizing);
    const candidates = page.rows;
    transaction.checkpoint();
    const last = !page.more; // a page cut short by its byte budget is not the last
    const lastId = last ? scope.maxId : candidates[candidates.length - 1].id;
    const reading = last ? undefined : repository.readPage(lastId, scope.maxId, options.batchSize, this.sizing);
    reading?.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    const sent = await this.pages.send(repository, await this.pages.classify(candidates), withDetails);
    const { classified, details, recorded } = await this.pages.finish(repository, sent, withDetails);
    await recorded;
    const prefetched = reading && { afterId: lastId, page: await reading };
    const tally = new MigrationTally(scope.before, undefined, undefined, { summary: state.summary, after: checkpoint.after as EquipmentDistribution });
    tally.add(classified);
    const differing = options.expectPlan?.differingUpTo(classified, checkpoint.lastId, lastId, last);
    if (differing && differing.length > 0) {
      const shown = differing.slice(0, 10).join(', ') + (differing.length > 10 ? `, … (${differing.length} in all)` : '');
      throw new CommandFailedError(
        `The plan differs from the reviewed one in ${differing.length} rows of the page after assessment ${checkpoint.lastId} (assessments ${shown}); the data changed since the dry run; ${rolledBack}`,
      );
    }
    this.assertErrorsWithinLimit(tally.summary, rolledBack);
    const next: RunCheckpoint = {
      lastId,
      position: Math.max(checkpoint.position, scopePosition(scope, lastId, last)),
      after: tally.after,
      pages: checkpoint.pages,
    };
    return { state: { ...state, checkpoint: next, summary: tally.summary, prefetched, page: { classified, details } }, more: !last };
  }

  afterCommit(state: MigrationState, context: RunContext): void {
    if (!this.live || !state.page) return;
    this.live.add(state.page.classified);
    if (state.page.details.length > 0) context.reportFile?.append(state.page.details);
  }

  async checkpoint(transaction: GuardedTransaction, state: MigrationState, context: RunContext, pages: number): Promise<void> {
    state.checkpoint.pages = pages;
    await this.repositories.runs(transaction.queryRunner.manager).saveCheckpoint(context.runId, state.checkpoint, { ...state.summary });
  }

  async end(transaction: GuardedTransaction, state: MigrationState, context: RunContext): Promise<MigrationResult> {
    const { scope } = state;
    const { options } = this;
    const { reportFile } = context;
    // A resumed online run: the whole run, from the audit trail (this transaction's snapshot holds every committed page).
    const tally =
      state.tally ??
      this.live ??
      (await new RecordedReport(transaction.queryRunner.manager, this.report).tally(context.runId, scope.before, reportFile && ((json) => reportFile.append(json))));
    for (const line of this.report.errorLines(tally.listedErrors, tally.summary.errors, reportFile !== undefined)) this.output.line(line);
    const summary = tally.close(scope.total);
    const fingerprint = tally.plan!.digest();
    if (options.expectPlan && options.expectPlan.fingerprint !== fingerprint) {
      const how = tally.differences
        ? tally.differences.describe()
        : state.tally
          ? `(pass the dry run's --save-report file to --expect-plan to count the rows that differ)`
          : `(a difference the dry run's report does not show, such as the reassessment flag a migrated row keeps)`;
      throw new CommandFailedError(
        `The plan differs from the reviewed one ${how}: fingerprint ${fingerprint}, reviewed ${options.expectPlan.fingerprint}; the data changed since the dry run; ${context.rollbackNote}`,
      );
    }
    await this.repositories.runs(transaction.queryRunner.manager).complete(context.runId, { ...summary }, fingerprint);
    const run: ReportRun = {
      id: context.runId,
      dry_run: context.dryRun,
      started_at: state.startedAt,
      finished_at: new Date().toISOString(),
      plan_fingerprint: fingerprint,
      database: { host: context.database.host, port: context.database.port, name: context.database.database, user: context.database.user },
    };
    // Written and synced before the commit (a full disk fails the run, not its report); renamed into place after it.
    reportFile?.finish(this.report.head(run, summary, { before: scope.before, after: tally.after }));
    return { runId: context.runId, summary, total: scope.total, before: scope.before, after: tally.after, fingerprint };
  }

  print(result: MigrationResult, _context: RunContext, saved: boolean): void {
    if (result.total > 0) {
      this.report.printSummary(result.summary);
      for (const line of this.report.distributionLines(result.before, result.after)) this.output.line(line);
      this.output.line();
    }
    this.output.line(`Plan fingerprint: ${result.fingerprint}`);
    if (saved) this.output.line(`Report saved to: ${this.options.reportPath}`);
    this.output.line('Migration completed successfully!');
  }

  position(state: MigrationState) {
    return { done: state.checkpoint.position, total: state.scope.total, unit: 'assessments' };
  }

  stopped(state: MigrationState, context: RunContext) {
    return {
      committed: `${state.checkpoint.position} of ${state.scope.total} assessments committed`,
      waysOn: `resume with: ${MIGRATE} --online --resume ${context.runId}; undo with: ${REVERT} ${context.runId}`,
    };
  }

  private assertErrorsWithinLimit(summary: MigrationSummary, consequence: string): void {
    const { maxErrors } = this.options;
    if (maxErrors !== undefined && summary.errors > maxErrors) {
      throw new CommandFailedError(`Aborted: more than ${maxErrors} error rows (--max-errors ${maxErrors}); ${consequence}`);
    }
  }
}

function assertResumable(run: EquipmentMigrationRun): void {
  if (run.kind !== 'migrate' || run.mode !== 'online') throw new UsageError(`Run ${run.id} is not an online migration run: only those can be resumed`);
  if (run.status === 'completed') throw new UsageError(`Run ${run.id} is completed: there is nothing to resume`);
  if (run.status === 'reverted') throw new UsageError(`Run ${run.id} was reverted (by run ${run.revertedByRunId}): it cannot be resumed`);
}

/** The options as the audit trail records them (set ones only; a resumed run reads them back). */
function recordedOptions(options: EquipmentMigrationOptions): MigrationRunOptions {
  const { expectPlan, throttle, resume: _resume, ...rest } = options;
  const recorded = { ...rest, ...throttle, expectPlan: expectPlan?.fingerprint };
  return Object.fromEntries(Object.entries(recorded).filter(([, value]) => value !== undefined)) as MigrationRunOptions;
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
