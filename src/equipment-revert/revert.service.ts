import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CliOutput } from '../cli/cli-output.service';
import { CommandFailedError, UsageError } from '../cli/cli-errors';
import { DatabaseConnection } from '../database/database-connection.service';
import { GuardedTransactionRunner, TransactionGuards } from '../run-engine/guarded-transaction';
import { ReportFileWriter } from '../run-engine/report-file.writer';
import { REPORT_VERSION } from '../run-engine/report-version';
import { MigrationRunOptions } from '../entities/equipment-migration-run.entity';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { RecordedChange, RevertRepository } from './revert.repository';

export interface RevertOptions extends TransactionGuards {
  runId: string;
  dryRun: boolean;
  reportPath?: string;
  batchSize: number;
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
 * The exact undo of one migration run: every row it changed goes back to its previous equipment, items and flag,
 * but only where the row still holds exactly what the run wrote. Rows changed since are conflicts (left alone, both
 * values reported); rows deleted since are missing. Same transaction, lock, signal and exit-code rules as the
 * migration; the revert is recorded as a run of its own, and a run is reverted at most once.
 */
@Injectable()
export class RevertService {
  constructor(
    private readonly transactions: GuardedTransactionRunner,
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
      const startedAt = new Date();
      const revertRunId = randomUUID();
      const outcome = await this.transactions.run(options, revertRunId, async (transaction) => {
        const runs = new MigrationRunRepository(transaction.queryRunner.manager);
        const reverted = await runs.findForUpdate(options.runId);
        if (!reverted) throw new UsageError(`No migration run ${options.runId} (see \`npm run cli -- migration-runs\`)`);
        if (reverted.kind !== 'migrate') throw new UsageError(`Run ${options.runId} is a revert: only migration runs can be reverted`);
        if (reverted.status === 'reverted') {
          throw new UsageError(`Run ${options.runId} was already reverted (by run ${reverted.revertedByRunId}); a run is reverted at most once`);
        }

        this.output.line('Starting equipment migration revert...');
        if (options.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
        await runs.start({ id: revertRunId, kind: 'revert', startedAt, options: recordedOptions(options), revertsRunId: options.runId });
        const repository = new RevertRepository(transaction.queryRunner, options.runId, revertRunId);
        const { total, minId } = await repository.countChanges();
        this.output.line(`Found ${total} changed assessments to revert (run ${options.runId})`);

        const summary: RevertSummary = { total_processed: 0, reverted: 0, conflicts: 0, missing: 0, refused: 0 };
        const listed: string[] = [];
        let details = '';
        // The keyset starts just below the run's own lowest id (ids may be 0 or negative).
        for (let afterId = minId - 1; ; ) {
          const page = await repository.readPage(afterId, options.batchSize);
          if (page.length === 0) break;
          afterId = page[page.length - 1].id;
          transaction.checkpoint();
          for (const decision of await this.revertPage(repository, page)) {
            summary.total_processed += 1;
            if (decision.status === 'reverted') summary.reverted += 1;
            else {
              if (decision.status === 'conflict') summary.conflicts += 1;
              else if (decision.status === 'missing') summary.missing += 1;
              else summary.refused += 1;
              if (listed.length < MAX_LISTED) listed.push(describe(decision));
              if (reportFile) details += (details ? ',\n    ' : '') + detailJson(decision);
            }
          }
          if (reportFile && details) {
            reportFile.append(details);
            details = '';
          }
          if (page.length < options.batchSize) break;
        }
        // Every recorded change must have been decided: counts that do not add up mean rows were missed.
        if (summary.total_processed !== total) {
          throw new CommandFailedError(
            `The revert decided ${summary.total_processed} of the ${total} changed assessments; rolled back, nothing was changed`,
          );
        }
        const problems = summary.conflicts + summary.missing + summary.refused;
        for (const line of listed) this.output.line(line);
        if (problems > listed.length) this.output.line(`... and ${problems - listed.length} more (${reportFile ? 'see the report' : 'run with --save-report to see them all'})`);

        await runs.complete(revertRunId, { ...summary }, null);
        const head = {
          report_version: REPORT_VERSION,
          run: {
            id: revertRunId,
            dry_run: options.dryRun,
            reverts_run_id: options.runId,
            started_at: startedAt.toISOString(),
            finished_at: new Date().toISOString(),
            database: { host: target.host, port: target.port, name: target.database, user: target.user },
          },
          summary,
        };
        if (!options.dryRun) await runs.markReverted(options.runId, revertRunId);
        // Written and synced before the commit; renamed into place after it (a failed revert keeps an old report).
        reportFile?.finish(head);
        if (options.dryRun) this.output.line('Rolling back changes (dry run mode)');
        return { commit: !options.dryRun, result: summary };
      });
      // The outcome is settled: nothing from here on may be reported as a rollback.
      const summary = outcome.result;
      if (outcome.acknowledgementLost) {
        this.output.note(`Note: the connection was lost while committing; run ${revertRunId} is recorded, so the revert committed`);
      }
      const saved = await reportFile?.publishAfterEnd(
        (line) => this.output.note(line),
        outcome.committed ? `the revert is committed (run ${revertRunId})` : 'nothing was changed (dry run)',
      );
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

  /** Decides each change of a page and restores the rows that still hold what the run wrote (guarded by version). */
  private async revertPage(repository: RevertRepository, page: RecordedChange[]): Promise<Decision[]> {
    const decided = new Map<number, Decision>();
    let pending = page;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const toRestore: { id: number; version: string }[] = [];
      for (const change of pending) {
        const status = decide(change);
        decided.set(change.id, { change, status });
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

function decide(change: RecordedChange): Decision['status'] {
  if (!change.present) return 'missing';
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
