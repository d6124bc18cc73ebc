import { Injectable } from '@nestjs/common';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { CommandFailedError, UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { MigrationRunOptions } from '../entities/equipment-migration-run.entity';
import { GuardedTransaction, TransactionGuards } from '../run-engine/guarded-transaction';
import { REPORT_VERSION } from '../run-engine/report-version';
import { DataChangeJob, JobStart, RunContext, RunLifecycle } from '../run-engine/run-lifecycle';
import { DETAIL_SEPARATOR } from '../run-engine/report-file.writer';
import { RecordedChange, RevertRepository } from './revert.repository';

export interface RevertOptions extends TransactionGuards {
  runId: string;
  dryRun: boolean;
  reportPath?: string;
  batchSize: number;
  /** One transaction per page (for large reverts on a live database). */
  online?: boolean;
}

export interface RevertSummary {
  total_processed: number;
  reverted: number;
  conflicts: number;
  missing: number;
  /** Rows the database refused to restore (a trigger or constraint added since): left as they are. */
  refused: number;
}

type Decision = { change: RecordedChange; status: 'reverted' | 'conflict' | 'missing' | 'refused'; message?: string };

const MAX_LISTED = 20;
const MAX_ATTEMPTS = 3;

/**
 * The exact undo of one migration run, run by the shared run lifecycle: in one transaction, or with --online one per
 * page (a revert stopped part-way is finished by running it again).
 */
@Injectable()
export class RevertService {
  constructor(
    private readonly lifecycle: RunLifecycle,
    private readonly output: CliOutput,
  ) {}

  run(options: RevertOptions): Promise<RevertSummary> {
    return this.lifecycle.run(new RevertJob(options, this.output), { ...options, strategy: options.online ? 'online' : 'atomic' });
  }
}

/** Where a revert stands: the keyset position, the tallies so far, and (online) the committed pages' report details. */
interface RevertState {
  total: number;
  lastId: number;
  tally: RevertTally;
  details: string[];
  startedAt: Date;
}

/**
 * The exact undo of one migration run (completed, or an online run that stopped part-way: exactly its committed
 * rows): every row it changed goes back to its previous equipment, items and flag, but only where the row still holds
 * exactly what the run wrote (or already holds its previous values again). Rows changed since are conflicts (left
 * alone, both values reported); rows deleted since are missing. The revert is recorded as a run of its own, and a run
 * is reverted at most once.
 */
class RevertJob implements DataChangeJob<RevertState, RevertSummary> {
  readonly access = 'revert' as const;
  readonly noun = 'revert';

  constructor(
    private readonly options: RevertOptions,
    private readonly output: CliOutput,
  ) {}

  async begin(transaction: GuardedTransaction, context: RunContext): Promise<JobStart<RevertState>> {
    const { options } = this;
    const runs = new MigrationRunRepository(transaction.queryRunner.manager);
    const reverted = await runs.findForUpdate(options.runId);
    if (!reverted) throw new UsageError(`No migration run ${options.runId} (see \`npm run cli -- migration-runs\`)`);
    if (reverted.kind !== 'migrate') throw new UsageError(`Run ${options.runId} is a revert: only migration runs can be reverted`);
    if (reverted.status === 'reverted') {
      throw new UsageError(`Run ${options.runId} was already reverted (by run ${reverted.revertedByRunId}); a run is reverted at most once`);
    }
    this.output.line('Starting equipment migration revert...');
    if (context.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
    const startedAt = new Date();
    const online = context.strategy === 'online' && !context.dryRun;
    await runs.start({ id: context.runId, kind: 'revert', mode: online ? 'online' : 'atomic', startedAt, options: recordedOptions(options), revertsRunId: options.runId });
    const { total, minId } = await this.repository(transaction, context).countChanges();
    this.output.line(`Found ${total} changed assessments to revert (run ${options.runId})`);
    // The keyset starts just below the run's own lowest id (ids may be 0 or negative).
    return { state: { total, lastId: minId - 1, tally: new RevertTally(), details: [], startedAt }, pages: 0 };
  }

  async work(transaction: GuardedTransaction, state: RevertState, context: RunContext, pages: 'all' | 'one') {
    const repository = this.repository(transaction, context);
    if (pages === 'all') {
      for (let afterId = state.lastId; ; ) {
        transaction.checkpoint();
        const page = await this.revertNextPage(repository, afterId, state.tally);
        if (context.reportFile && page.details) context.reportFile.append(page.details);
        afterId = page.lastId;
        if (!page.more) return { state: { ...state, lastId: afterId }, more: false };
      }
    }
    const pageTally = new RevertTally();
    const page = await this.revertNextPage(repository, state.lastId, pageTally);
    const tally = new RevertTally();
    tally.absorb(state.tally);
    tally.absorb(pageTally);
    const details = page.details ? [...state.details, page.details] : state.details;
    return { state: { ...state, lastId: page.lastId, tally, details }, more: page.more };
  }

  async checkpoint(transaction: GuardedTransaction, state: RevertState, context: RunContext, pages: number): Promise<void> {
    const summary = state.tally.summary;
    await new MigrationRunRepository(transaction.queryRunner.manager).saveCheckpoint(
      context.runId,
      { lastId: state.lastId, position: summary.total_processed, after: {}, pages },
      { ...summary },
    );
  }

  async end(transaction: GuardedTransaction, state: RevertState, context: RunContext): Promise<RevertSummary> {
    const { options } = this;
    const { summary, listed } = state.tally;
    const { reportFile } = context;
    for (const json of state.details) reportFile?.append(json);
    // Every recorded change must have been decided: counts that do not add up mean rows were missed.
    if (summary.total_processed !== state.total) {
      throw new CommandFailedError(`The revert decided ${summary.total_processed} of the ${state.total} changed assessments; ${context.rollbackNote}`);
    }
    const problems = summary.conflicts + summary.missing + summary.refused;
    for (const line of listed) this.output.line(line);
    if (problems > listed.length) this.output.line(`... and ${problems - listed.length} more (${reportFile ? 'see the report' : 'run with --save-report to see them all'})`);
    const runs = new MigrationRunRepository(transaction.queryRunner.manager);
    await runs.complete(context.runId, { ...summary }, null);
    if (!context.dryRun) await runs.markReverted(options.runId, context.runId);
    const { database } = context;
    // Written and synced before the commit; renamed into place after it (a failed revert keeps an old report).
    reportFile?.finish({
      report_version: REPORT_VERSION,
      run: {
        id: context.runId,
        dry_run: context.dryRun,
        reverts_run_id: options.runId,
        started_at: state.startedAt.toISOString(),
        finished_at: new Date().toISOString(),
        database: { host: database.host, port: database.port, name: database.database, user: database.user },
      },
      summary,
    });
    return { ...summary };
  }

  print(summary: RevertSummary, _context: RunContext, saved: boolean): void {
    this.output.line();
    this.output.line('--- Revert Report ---');
    this.output.line(`Total Processed: ${summary.total_processed}`);
    this.output.line(`Reverted: ${summary.reverted}`);
    this.output.line(`Conflicts: ${summary.conflicts}`);
    this.output.line(`Missing: ${summary.missing}`);
    if (summary.refused > 0) this.output.line(`Refused by the database: ${summary.refused}`);
    this.output.line();
    if (saved) this.output.line(`Report saved to: ${this.options.reportPath}`);
    this.output.line('Revert completed successfully!');
  }

  position(state: RevertState) {
    return { done: state.tally.summary.total_processed, total: state.total, unit: 'changed assessments' };
  }

  stopped(state: RevertState) {
    return {
      committed: `${state.tally.summary.total_processed} of ${state.total} changed assessments reverted`,
      waysOn: `finish with: npm run cli -- revert-equipment-migration ${this.options.runId} --online`,
    };
  }

  private repository(transaction: GuardedTransaction, context: RunContext): RevertRepository {
    return new RevertRepository(transaction.queryRunner, this.options.runId, context.runId);
  }

  /** Reads and reverts the next keyset page of the run's changes (ids above `afterId`), tallying each decision. */
  private async revertNextPage(repository: RevertRepository, afterId: number, tally: RevertTally): Promise<{ lastId: number; more: boolean; details: string }> {
    const page = await repository.readPage(afterId, this.options.batchSize);
    if (page.length === 0) return { lastId: afterId, more: false, details: '' };
    const details = tally.add(await this.revertPage(repository, page));
    return { lastId: page[page.length - 1].id, more: page.length === this.options.batchSize, details };
  }

  /** Decides each change of a page and restores the rows that still hold what the run wrote (guarded by version). */
  private async revertPage(repository: RevertRepository, page: RecordedChange[]): Promise<Decision[]> {
    const decided = new Map<number, Decision>();
    let pending = page;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const toRestore: { id: number; version: string }[] = [];
      for (const change of pending) {
        const status = decide(change);
        decided.set(change.id, { change, status: status === 'restored' ? 'reverted' : status });
        if (status === 'reverted') toRestore.push({ id: change.id, version: change.version! });
      }
      const refused = new Map<number, string>();
      const restored = await repository.restore(toRestore, refused);
      for (const [id, message] of refused) decided.set(id, { change: decided.get(id)!.change, status: 'refused', message });
      const moved = toRestore.filter((r) => !restored.has(r.id) && !refused.has(r.id)).map((r) => r.id);
      if (moved.length === 0) break;
      if (attempt >= MAX_ATTEMPTS) throw new Error(`assessments ${moved.join(', ')} kept changing while they were being reverted`);
      pending = await repository.rereadLocked(moved);
    }
    return [...decided.values()].sort((x, y) => x.change.id - y.change.id);
  }
}


const sum = (a: RevertSummary, b: RevertSummary): RevertSummary => ({
  total_processed: a.total_processed + b.total_processed,
  reverted: a.reverted + b.reverted,
  conflicts: a.conflicts + b.conflicts,
  missing: a.missing + b.missing,
  refused: a.refused + b.refused,
});

/** A revert's counts and listed problems, page by page. */
class RevertTally {
  summary: RevertSummary = { total_processed: 0, reverted: 0, conflicts: 0, missing: 0, refused: 0 };
  readonly listed: string[] = [];

  /** Adds another tally's (a committed page's). */
  absorb(other: RevertTally): void {
    this.summary = sum(this.summary, other.summary);
    for (const line of other.listed) if (this.listed.length < MAX_LISTED) this.listed.push(line);
  }

  /** Tallies a page's decisions; returns their report details (problems only). */
  add(decisions: Decision[]): string {
    const details: string[] = [];
    for (const decision of decisions) {
      this.summary.total_processed += 1;
      if (decision.status === 'reverted') this.summary.reverted += 1;
      else {
        if (decision.status === 'conflict') this.summary.conflicts += 1;
        else if (decision.status === 'missing') this.summary.missing += 1;
        else this.summary.refused += 1;
        if (this.listed.length < MAX_LISTED) this.listed.push(describe(decision));
        details.push(detailJson(decision));
      }
    }
    return details.join(DETAIL_SEPARATOR);
  }
}

/** 'restored': the row already holds the run's previous values (an earlier revert stopped part-way restored it). */
function decide(change: RecordedChange): Decision['status'] | 'restored' {
  if (!change.present) return 'missing';
  const holdsPrevious =
    change.currentEquipment === change.previousEquipment && change.currentItems === change.previousItems && change.currentFlag === change.previousFlag;
  if (holdsPrevious) return 'restored';
  const holdsWhatTheRunWrote =
    change.currentEquipment === change.wroteEquipment && change.currentItems === change.wroteItems && change.currentFlag === change.wroteFlag;
  return holdsWhatTheRunWrote ? 'reverted' : 'conflict';
}

function describe({ change, status, message }: Decision): string {
  if (status === 'missing') return `Missing: assessment ${change.id} was deleted since the run`;
  if (status === 'refused') return `Refused: assessment ${change.id}: the database refused the restore: ${message}; left as it is`;
  return `Conflict in assessment ${change.id}: it now holds ${change.currentEquipment}, the run wrote ${change.wroteEquipment}; left as it is`;
}

function detailJson({ change, status, message }: Decision): string {
  if (status === 'missing') return `{"assessment_id":${change.id},"status":"missing"}`;
  if (status === 'refused') return `{"assessment_id":${change.id},"status":"refused","reason":${JSON.stringify(`the database refused the restore: ${message}`)}}`;
  return (
    `{"assessment_id":${change.id},"status":"conflict",` +
    `"run_wrote":{"equipment":${change.wroteEquipment ?? 'null'},"items":${change.wroteItems},"reassessment_required":${change.wroteFlag}},` +
    `"current":{"equipment":${change.currentEquipment ?? 'null'},"items":${change.currentItems},"reassessment_required":${change.currentFlag}}}`
  );
}

function recordedOptions(options: RevertOptions): MigrationRunOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as MigrationRunOptions;
}
