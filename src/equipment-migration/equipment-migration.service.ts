import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { CommandFailedError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { createProgress } from '../cli/progress';
import { DatabaseConnection } from '../database/database-connection.service';
import { AssessmentMigrationRepository, CandidateRow, RowWrite } from './assessment-migration.repository';
import { EquipmentRules, EquipmentOutcome } from './equipment-rules';
import { assertValidWrite } from './equipment-write.dto';
import { acquireMigrationLock } from './migration-lock';
import { ReportFileWriter } from './report-file.writer';
import { ListedError, MAX_LISTED_ERRORS, ReportService } from './report.service';
import { MigrationSummary, ReportDetail, ReportRun } from './report.types';

export interface EquipmentMigrationOptions {
  dryRun: boolean;
  reportPath?: string;
  /** Rows per keyset page. */
  batchSize: number;
  /** Abort (roll back, exit 1) when more rows than this are errors. */
  maxErrors?: number;
  progress: boolean;
  /** Seconds to wait for another run's lock before giving up (exit 3). */
  waitForLockSeconds: number;
  /** SET LOCAL lock_timeout, in seconds (0: none). */
  lockTimeoutSeconds: number;
  /** SET LOCAL statement_timeout, in seconds (undefined: none). */
  statementTimeoutSeconds?: number;
}

export interface EquipmentMigrationResult {
  runId: string;
  summary: MigrationSummary;
  committed: boolean;
  reportPath?: string;
}

export const DEFAULT_BATCH_SIZE = 5000;
export const MAX_BATCH_SIZE = 100_000;
/** How often a row changed by someone else between read and write is re-read before it counts as an error. */
const MAX_WRITE_ATTEMPTS = 3;

interface Classified {
  row: CandidateRow;
  outcome: EquipmentOutcome;
}

/**
 * The port of migrate_equipment_data: one transaction on one QueryRunner, keyset pages, the pure EquipmentRules,
 * set-based guarded writes, a streamed report. Commits, or rolls back for --dry-run (or on any failure).
 */
@Injectable()
export class EquipmentMigrationService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
    private readonly report: ReportService,
    private readonly output: CliOutput,
  ) {}

  async run(options: EquipmentMigrationOptions): Promise<EquipmentMigrationResult> {
    // Checked before any database work: an unwritable report path changes nothing.
    const reportFile = options.reportPath ? await ReportFileWriter.open(options.reportPath) : undefined;
    try {
      const target = await this.database.open({ announceOn: 'stdout' });
      const run: ReportRun = {
        id: randomUUID(),
        dry_run: options.dryRun,
        started_at: new Date().toISOString(),
        finished_at: '',
        database: { host: target.host, port: target.port, name: target.database, user: target.user },
      };
      return await this.inTransaction(options, run, reportFile);
    } catch (error) {
      await reportFile?.discard();
      throw error;
    }
  }

  private async inTransaction(
    options: EquipmentMigrationOptions,
    run: ReportRun,
    reportFile?: ReportFileWriter,
  ): Promise<EquipmentMigrationResult> {
    const queryRunner = this.dataSource.createQueryRunner();
    await queryRunner.connect();
    try {
      await queryRunner.startTransaction('READ COMMITTED');
      await this.applyTimeouts(queryRunner, options);
      await acquireMigrationLock(queryRunner, options.waitForLockSeconds);

      this.output.line('Starting equipment data migration...');
      if (options.dryRun) this.output.line('DRY RUN MODE - No changes will be saved');
      const repository = new AssessmentMigrationRepository(queryRunner);
      const scope = await repository.scope();
      const summary = this.report.emptySummary();
      const listedErrors: ListedError[] = [];

      if (scope.total === 0) {
        this.output.line('No assessments found to migrate');
      } else {
        this.output.line(`Found ${scope.total} assessments to process`);
        await this.processPages(repository, scope, options, summary, listedErrors, reportFile);
        for (const line of this.report.errorLines(listedErrors, summary.errors, reportFile !== undefined)) {
          this.output.line(line);
        }
      }

      run.finished_at = new Date().toISOString();
      if (options.dryRun) {
        if (scope.total > 0) this.output.line('Rolling back changes (dry run mode)');
        await queryRunner.rollbackTransaction();
        await reportFile?.finish(this.report.head(run, summary));
      } else {
        await reportFile?.finish(this.report.head(run, summary));
        try {
          await queryRunner.commitTransaction();
        } catch (error) {
          await reportFile?.removeFinal();
          throw error;
        }
      }

      if (scope.total > 0) this.report.printSummary(summary);
      if (reportFile) this.output.line(`Report saved to: ${options.reportPath}`);
      this.output.line('Migration completed successfully!');
      return { runId: run.id, summary, committed: !options.dryRun, reportPath: reportFile?.path };
    } catch (error) {
      if (queryRunner.isTransactionActive) {
        await queryRunner.rollbackTransaction().catch(() => undefined);
      }
      throw error;
    } finally {
      await queryRunner.release();
    }
  }

  private async applyTimeouts(queryRunner: QueryRunner, options: EquipmentMigrationOptions): Promise<void> {
    // SET LOCAL takes no bind parameters; the values are validated integers.
    await queryRunner.query(`SET LOCAL lock_timeout = '${Math.trunc(options.lockTimeoutSeconds * 1000)}ms'`);
    if (options.statementTimeoutSeconds !== undefined) {
      await queryRunner.query(`SET LOCAL statement_timeout = '${Math.trunc(options.statementTimeoutSeconds * 1000)}ms'`);
    }
  }

  private async processPages(
    repository: AssessmentMigrationRepository,
    scope: { total: number; maxId: number },
    options: EquipmentMigrationOptions,
    summary: MigrationSummary,
    listedErrors: ListedError[],
    reportFile?: ReportFileWriter,
  ): Promise<void> {
    const progress = createProgress({
      enabled: options.progress,
      total: scope.total,
      stream: this.output.progressStream,
      unit: 'assessments',
    });
    try {
      let lastId = 0;
      for (;;) {
        const page = await repository.readPage(lastId, scope.maxId, options.batchSize);
        if (page.scanned === 0) break;
        lastId = page.lastId;

        const classified = await this.classifyAndWrite(repository, page.candidates);
        summary.total_processed += page.scanned;
        summary.skipped += page.scanned - classified.length;
        for (const item of classified) {
          const detail = this.tally(item, summary, listedErrors);
          if (detail && reportFile) await reportFile.append(this.report.serializeDetail(detail));
        }
        if (options.maxErrors !== undefined && summary.errors > options.maxErrors) {
          throw new CommandFailedError(
            `Aborted: more than ${options.maxErrors} error rows (--max-errors ${options.maxErrors}); rolled back, nothing was changed`,
          );
        }
        progress.advance(page.scanned);
      }
    } finally {
      progress.stop();
    }
  }

  /**
   * Classifies a page's candidates and writes the changed rows in one guarded statement. A row that someone else
   * changed after it was read is re-read (locked this time) and classified again from its new value.
   */
  private async classifyAndWrite(repository: AssessmentMigrationRepository, candidates: CandidateRow[]): Promise<Classified[]> {
    const byId = new Map<number, Classified>();
    let pending = candidates;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const writes: RowWrite[] = [];
      for (const row of pending) {
        const item = classifyRow(row);
        byId.set(row.id, item);
        if (item.outcome.status === 'migrated' || item.outcome.status === 'flagged') {
          const write: RowWrite = {
            id: row.id,
            version: row.version,
            equipment: item.outcome.write.equipment,
            clearItems: item.outcome.write.items === 'clear',
            reassessmentRequired: item.outcome.write.reassessmentRequired,
          };
          assertValidWrite(write);
          writes.push(write);
        }
      }
      const written = await repository.writePage(writes);
      const changedMeanwhile = writes.filter((w) => !written.has(w.id)).map((w) => w.id);
      if (changedMeanwhile.length === 0) break;
      if (attempt >= MAX_WRITE_ATTEMPTS) {
        for (const id of changedMeanwhile) {
          const item = byId.get(id)!;
          item.outcome = { status: 'error', reason: 'the row kept changing while it was being migrated' };
        }
        break;
      }
      const reread = await repository.rereadLocked(changedMeanwhile);
      for (const id of changedMeanwhile) byId.delete(id); // deleted meanwhile: no longer part of the run
      pending = reread;
    }
    return [...byId.values()].sort((a, b) => a.row.id - b.row.id);
  }

  private tally(item: Classified, summary: MigrationSummary, listedErrors: ListedError[]): ReportDetail | undefined {
    const { row, outcome } = item;
    const base = {
      assessment_id: row.id,
      user_id: row.userId,
      user_email: row.userEmail,
      original_equipment_json: row.equipmentJson ?? 'null',
    };
    switch (outcome.status) {
      case 'skipped':
        summary.skipped += 1;
        return undefined;
      case 'migrated':
        summary.migrated += 1;
        return { ...base, status: 'migrated', new_equipment: outcome.newEquipment, items_cleared: outcome.itemsCleared };
      case 'flagged':
        summary.flagged += 1;
        return { ...base, status: 'flagged', reason: outcome.reason, original_items_json: row.itemsJson, new_equipment: outcome.newEquipment };
      case 'error':
        summary.errors += 1;
        if (listedErrors.length < MAX_LISTED_ERRORS) {
          listedErrors.push({ assessmentId: row.id, userEmail: row.userEmail, reason: outcome.reason });
        }
        return { ...base, status: 'error', reason: outcome.reason, original_items_json: row.itemsJson };
    }
  }
}

function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

function classifyRow(row: CandidateRow): Classified {
  const outcome = EquipmentRules.classify({
    equipment: parseJson(row.equipmentJson),
    equipmentItems: parseJson(row.itemsJson),
    reassessmentRequired: row.reassessmentRequired,
  });
  return { row, outcome };
}
