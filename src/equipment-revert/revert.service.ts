import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { CommandFailedError, UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { DatabaseTarget } from '../config/database-config';
import { DatabaseConnection } from '../database/database-connection.service';
import { MigrationRunOptions } from '../entities/equipment-migration-run.entity';
import { GuardedTransactionRunner, TransactionGuards } from '../run-engine/guarded-transaction';
import { acquireSessionMigrationLock } from '../run-engine/migration-lock';
import { ReportFileWriter } from '../run-engine/report-file.writer';
import { REPORT_VERSION } from '../run-engine/report-version';
import { stoppedRunError } from '../run-engine/stopped-run';
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
 * The exact undo of one migration run (completed, or an online run that stopped part-way: exactly its committed
 * rows): every row it changed goes back to its previous equipment, items and flag, but only where the row still holds
 * exactly what the run wrote (or already holds its previous values again). Rows changed since are conflicts (left
 * alone, both values reported); rows deleted since are missing. Same lock, signal and exit-code rules as the
 * migration; the revert is recorded as a run of its own, and a run is reverted at most once. One transaction, or with
 * --online one per page (a revert stopped part-way is finished by running it again).
 */
@Injectable()
export class RevertService {
  constructor(
    private readonly transactions: GuardedTransactionRunner,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
    private readonly output: CliOutput,
  ) {}

  async run(options: RevertOptions): Promise<RevertSummary> {
    const reportFile = options.reportPath ? ReportFileWriter.open(options.reportPath) : undefined;
    const stopListening = this.transactions.listen();
    try {
      const target = await this.database.open({ announceOn: 'stdout' });
      await this.database.assertAccess('revert');
      this.transactions.checkpoint();
      const revert = { id: randomUUID(), startedAt: new Date(), target };
      const { saved, ...summary } =
        options.online && !options.dryRun ? await this.online(options, revert, reportFile) : await this.atomic(options, revert, reportFile);
      this.output.line();
      this.output.line('--- Revert Report ---');
      this.output.line(`Total Processed: ${summary.total_processed}`);
      this.output.line(`Reverted: ${summary.reverted}`);
      this.output.line(`Conflicts: ${summary.conflicts}`);
      this.output.line(`Missing: ${summary.missing}`);
      if (summary.refused > 0) this.output.line(`Refused by the database: ${summary.refused}`);
      this.output.line();
      if (saved) this.output.line(`Report saved to: ${options.reportPath}`);
      this.output.line('Revert completed successfully!');
      return summary;
    } catch (error) {
      reportFile?.discard();
      throw this.transactions.interruptedOr(error);
    } finally {
      stopListening();
    }
  }

  /** The whole revert in one transaction: commits, or rolls back for --dry-run (or on any failure). */
  private async atomic(options: RevertOptions, revert: RevertMeta, reportFile?: ReportFileWriter): Promise<RevertSummary & { saved?: boolean }> {
    if (options.online) this.output.line('--online with --dry-run: the dry run is one transaction, rolled back, as without --online');
    const outcome = await this.transactions.run(options, revert.id, async (transaction) => {
      const manager = transaction.queryRunner.manager;
      const { total, minId } = await this.begin(manager, options, revert);
      const repository = new RevertRepository(transaction.queryRunner, options.runId, revert.id);
      const tally = new RevertTally();
      for (let afterId = minId - 1; ; ) {
        transaction.checkpoint();
        const page = await this.revertNextPage(repository, afterId, options.batchSize, tally);
        if (reportFile && page.details) reportFile.append(page.details);
        afterId = page.lastId;
        if (!page.more) break;
      }
      await this.end(manager, options, revert, total, tally, reportFile);
      if (options.dryRun) this.output.line('Rolling back changes (dry run mode)');
      return { commit: !options.dryRun, result: tally.summary };
    });
    // The outcome is settled: nothing from here on may be reported as a rollback.
    if (outcome.acknowledgementLost) {
      this.output.note(`Note: the connection was lost while committing; run ${revert.id} is recorded, so the revert committed`);
    }
    const saved = await reportFile?.publishAfterEnd(
      (line) => this.output.note(line),
      outcome.committed ? `the revert is committed (run ${revert.id})` : 'nothing was changed (dry run)',
    );
    return { ...outcome.result, saved };
  }

  /**
   * One transaction per page under the session-level migration lock: no row stays locked longer than a page. The
   * revert's own run row and checkpoint commit with each page; stopped part-way, it exits 4 (or 130/143), and running
   * it again finishes it (rows it already restored count as reverted).
   */
  private async online(options: RevertOptions, revert: RevertMeta, reportFile?: ReportFileWriter): Promise<RevertSummary & { saved?: boolean }> {
    const lock = await acquireSessionMigrationLock(this.dataSource, options.waitForLockSeconds);
    const progress = { pages: 0, lastId: 0, total: 0 };
    const tally = new RevertTally();
    const details: string[] = [];
    try {
      const begun = await this.transactions.run(
        options,
        revert.id,
        async (transaction) => ({ commit: true, result: await this.begin(transaction.queryRunner.manager, options, revert, 'online') }),
        { lockHeld: true, settles: false },
      );
      progress.total = begun.result.total;
      progress.lastId = begun.result.minId - 1;
      for (let more = begun.result.total > 0; more; ) {
        await lock.assertHeld();
        this.transactions.checkpoint();
        const page = await this.transactions.run(
          options,
          revert.id,
          async (transaction) => {
            const pageTally = new RevertTally();
            const repository = new RevertRepository(transaction.queryRunner, options.runId, revert.id);
            const step = await this.revertNextPage(repository, progress.lastId, options.batchSize, pageTally);
            const summary = sum(tally.summary, pageTally.summary);
            await new MigrationRunRepository(transaction.queryRunner.manager).saveCheckpoint(
              revert.id,
              { lastId: step.lastId, position: summary.total_processed, after: {}, pages: progress.pages + 1 },
              { ...summary },
            );
            return { commit: true, result: { step, pageTally } };
          },
          {
            lockHeld: true,
            settles: false,
            committed: async (manager) => ((await new MigrationRunRepository(manager).find(revert.id))?.checkpoint?.pages ?? 0) > progress.pages,
          },
        );
        tally.absorb(page.result.pageTally);
        if (page.result.step.details) details.push(page.result.step.details);
        progress.pages += 1;
        progress.lastId = page.result.step.lastId;
        more = page.result.step.more;
      }
      for (const json of details) reportFile?.append(json);
      await this.transactions.run(
        options,
        revert.id,
        async (transaction) => {
          await this.end(transaction.queryRunner.manager, options, revert, progress.total, tally, reportFile);
          return { commit: true, result: undefined };
        },
        { lockHeld: true, committed: async (manager) => (await new MigrationRunRepository(manager).findStatus(revert.id)) === 'completed' },
      );
      const saved = await reportFile?.publishAfterEnd((line) => this.output.note(line), `the revert is committed (run ${revert.id})`);
      return { ...tally.summary, saved };
    } catch (error) {
      const cause = this.transactions.interruptedOr(error);
      if (progress.total === 0 && progress.pages === 0) throw cause;
      await new MigrationRunRepository(this.dataSource.manager)
        .setStatus(revert.id, cause instanceof Error && cause.name === 'InterruptedError' ? 'interrupted' : 'failed')
        .catch(() => undefined);
      throw stoppedRunError(cause, {
        pages: progress.pages,
        committed: `${tally.summary.total_processed} of ${progress.total} changed assessments reverted`,
        waysOn: `finish with: npm run cli -- revert-equipment-migration ${options.runId} --online`,
      });
    } finally {
      await lock.release();
    }
  }

  /** Checks the run can be reverted, records the revert's own run, and counts the run's changes. */
  private async begin(
    manager: EntityManager,
    options: RevertOptions,
    revert: RevertMeta,
    mode: 'atomic' | 'online' = 'atomic',
  ): Promise<{ total: number; minId: number }> {
    const runs = new MigrationRunRepository(manager);
    const reverted = await runs.findForUpdate(options.runId);
    if (!reverted) throw new UsageError(`No migration run ${options.runId} (see \`npm run cli -- migration-runs\`)`);
    if (reverted.kind !== 'migrate') throw new UsageError(`Run ${options.runId} is a revert: only migration runs can be reverted`);
    if (reverted.status === 'reverted') {
      throw new UsageError(`Run ${options.runId} was already reverted (by run ${reverted.revertedByRunId}); a run is reverted at most once`);
    }
    this.output.line('Starting equipment migration revert...');
    if (options.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
    await runs.start({ id: revert.id, kind: 'revert', mode, startedAt: revert.startedAt, options: recordedOptions(options), revertsRunId: options.runId });
    const { total, minId } = await new RevertRepository(manager.queryRunner!, options.runId, revert.id).countChanges();
    this.output.line(`Found ${total} changed assessments to revert (run ${options.runId})`);
    return { total, minId };
  }

  /** Checks the counts add up, prints the problems, completes the revert's run and finishes its report file. */
  private async end(
    manager: EntityManager,
    options: RevertOptions,
    revert: RevertMeta,
    total: number,
    tally: RevertTally,
    reportFile?: ReportFileWriter,
  ): Promise<void> {
    const { summary, listed } = tally;
    // Every recorded change must have been decided: counts that do not add up mean rows were missed.
    if (summary.total_processed !== total) {
      throw new CommandFailedError(`The revert decided ${summary.total_processed} of the ${total} changed assessments; rolled back, nothing was changed`);
    }
    const problems = summary.conflicts + summary.missing + summary.refused;
    for (const line of listed) this.output.line(line);
    if (problems > listed.length) this.output.line(`... and ${problems - listed.length} more (${reportFile ? 'see the report' : 'run with --save-report to see them all'})`);
    const runs = new MigrationRunRepository(manager);
    await runs.complete(revert.id, { ...summary }, null);
    if (!options.dryRun) await runs.markReverted(options.runId, revert.id);
    const { target } = revert;
    // Written and synced before the commit; renamed into place after it (a failed revert keeps an old report).
    reportFile?.finish({
      report_version: REPORT_VERSION,
      run: {
        id: revert.id,
        dry_run: options.dryRun,
        reverts_run_id: options.runId,
        started_at: revert.startedAt.toISOString(),
        finished_at: new Date().toISOString(),
        database: { host: target.host, port: target.port, name: target.database, user: target.user },
      },
      summary,
    });
  }

  /** Reads and reverts the next keyset page of the run's changes (ids above `afterId`), tallying each decision. */
  private async revertNextPage(
    repository: RevertRepository,
    afterId: number,
    batchSize: number,
    tally: RevertTally,
  ): Promise<{ lastId: number; more: boolean; details: string }> {
    const page = await repository.readPage(afterId, batchSize);
    if (page.length === 0) return { lastId: afterId, more: false, details: '' };
    const details = tally.add(await this.revertPage(repository, page));
    return { lastId: page[page.length - 1].id, more: page.length === batchSize, details };
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

interface RevertMeta {
  id: string;
  startedAt: Date;
  target: DatabaseTarget;
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
    return details.join(',\n    ');
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
