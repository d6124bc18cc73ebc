import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Command, Help, Option } from 'nest-commander';
import { DataSource } from 'typeorm';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { BaseCommand } from '../cli/base.command';
import { UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { parseInteger, parsePath, parseRunId } from '../cli/option-parsers';
import { DatabaseConnection } from '../database/database-connection.service';
import { EquipmentMigrationRun } from '../entities/equipment-migration-run.entity';
import { RecordedReport } from '../equipment-migration/recorded-report';
import { ReportService } from '../equipment-migration/report.service';
import { ReportRun } from '../equipment-migration/report.types';
import { EquipmentDistribution } from '../equipment-migration/assessment-migration.repository';
import { migrationLockHeld } from '../run-engine/migration-lock';
import { ReportFileWriter } from '../run-engine/report-file.writer';

interface MigrationRunsOptions {
  json?: boolean;
  limit: number;
  saveReport?: string;
}

const DEFAULT_RUNS_LIMIT = 50;

/** The committed runs of the audit trail, newest first; and any recorded migration run's report, built again. */
@Injectable()
export class MigrationRunsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
    private readonly report: ReportService,
  ) {}

  async list(options: { json: boolean; limit: number; runId?: string }): Promise<EquipmentMigrationRun[]> {
    await this.database.open({ announceOn: options.json ? 'stderr' : 'stdout' });
    await this.database.assertAccess('list-runs');
    const repository = MigrationRunRepository.forDataSource(this.dataSource);
    const runs = options.runId ? [await repository.find(options.runId)].filter((run) => run !== null) : await repository.list(options.limit);
    if (options.runId && runs.length === 0) throw new UsageError(`No migration run ${options.runId} (see \`npm run cli -- migration-runs\`)`);
    // A run still marked running while nobody holds the migration lock lost its process: it was interrupted.
    if (runs.some((run) => run.status === 'running') && !(await migrationLockHeld(this.dataSource))) {
      for (const run of runs) if (run.status === 'running') run.status = 'interrupted';
    }
    return runs;
  }

  lines(runs: EquipmentMigrationRun[]): string[] {
    if (runs.length === 0) return ['No migration runs recorded'];
    return runs.map((run) => {
      const s = run.summary ?? {};
      const counts =
        run.kind === 'revert'
          ? `reverted ${s.reverted ?? 0}, conflicts ${s.conflicts ?? 0}, missing ${s.missing ?? 0}`
          : `migrated ${s.migrated ?? 0}, flagged ${s.flagged ?? 0}, skipped ${s.skipped ?? 0}, errors ${s.errors ?? 0}`;
      const reverts = run.revertsRunId ? ` of ${run.revertsRunId}` : '';
      const n = (value: number) => value.toLocaleString('en-US');
      const progress = run.mode === 'online' && run.scope && run.checkpoint ? `  ${n(run.checkpoint.position)} / ${n(run.scope.total)}` : '';
      return `${run.id}  ${run.startedAt.toISOString()}  ${run.kind}${reverts}  ${run.mode}  ${run.status}${progress}  ${counts}`;
    });
  }

  /** Writes a recorded migration run's report again, from its changes and error rows (the fingerprint is checked). */
  async saveReport(run: EquipmentMigrationRun, path: string, output: CliOutput): Promise<void> {
    if (run.kind !== 'migrate') throw new UsageError(`Run ${run.id} is a revert: only a migration run's report can be built again`);
    if (!run.scope) throw new UsageError(`Run ${run.id} was recorded before runs kept their scope: its report cannot be built again`);
    await this.database.assertAccess('rebuild-report');
    const file = ReportFileWriter.open(path);
    try {
      const target = await this.database.open({ announceOn: 'stdout' });
      const before = run.scope.before as EquipmentDistribution;
      const tally = await new RecordedReport(this.dataSource.manager, this.report).tally(run.id, before, (json) => file.append(json));
      const summary = tally.close(run.scope.total);
      const fingerprint = tally.plan!.digest();
      if (run.planFingerprint && run.planFingerprint !== fingerprint) {
        output.note(`Warning: the rebuilt plan fingerprint ${fingerprint} differs from the recorded ${run.planFingerprint}`);
      }
      const reportRun: ReportRun = {
        id: run.id,
        dry_run: false,
        started_at: run.startedAt.toISOString(),
        finished_at: run.finishedAt?.toISOString() ?? '',
        plan_fingerprint: fingerprint,
        database: { host: target.host, port: target.port, name: target.database, user: target.user },
      };
      file.finish(this.report.head(reportRun, summary, { before, after: tally.after }));
      await file.publish();
    } catch (error) {
      file.discard();
      throw error;
    }
  }
}

@Command({
  name: 'migration-runs',
  arguments: '[run-id]',
  description: 'List the recorded equipment migration runs, newest first (or one run; --save-report writes its report again)',
})
export class MigrationRunsCommand extends BaseCommand {
  constructor(
    private readonly runs: MigrationRunsService,
    private readonly output: CliOutput,
  ) {
    super();
  }

  async run([runId]: string[], options: MigrationRunsOptions): Promise<void> {
    const json = options.json === true;
    const id = runId === undefined ? undefined : parseRunId(runId);
    if (options.saveReport !== undefined && id === undefined) throw new UsageError('--save-report needs a run id: migration-runs <run-id> --save-report <file>');
    const runs = await this.runs.list({ json, limit: options.limit, runId: id });
    if (options.saveReport !== undefined) {
      await this.runs.saveReport(runs[0], options.saveReport, this.output);
      this.output.line(`Report saved to: ${options.saveReport}`);
      return;
    }
    if (json) this.output.json(runs);
    else for (const line of this.runs.lines(runs)) this.output.line(line);
  }

  @Help('after')
  statusesHelp(): string {
    return `
Each line: run id, start, kind (of the reverted run), mode (atomic | online), status, [online progress], counts.
Statuses:
  running      in progress (a run whose process died shows as interrupted: nobody holds the migration lock)
  interrupted  an online run stopped by a signal or a crash: its committed pages remain; resume or revert it
  failed       an online run that stopped on an error (exit 4): its committed pages remain; resume or revert it
  completed    done
  reverted     undone by revert-equipment-migration`;
  }

  @Option({ flags: '--json', description: 'print the runs as JSON on stdout (the database line goes to stderr)' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--limit <n>', description: 'how many runs', defaultValue: DEFAULT_RUNS_LIMIT })
  parseLimit(value: string): number {
    return parseInteger(value, '--limit', 1, 10_000);
  }

  @Option({ flags: '--save-report <file>', description: "with a run id: write that migration run's JSON report again, built from the audit trail" })
  parseSaveReport(value: string): string {
    return parsePath(value, '--save-report');
  }
}
