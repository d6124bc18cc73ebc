import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Command, Option } from 'nest-commander';
import { DataSource } from 'typeorm';
import { BaseCommand } from '../cli/base.command';
import { CliOutput } from '../cli/cli-output.service';
import { parseInteger } from '../cli/option-parsers';
import { DatabaseConnection } from '../database/database-connection.service';
import { EquipmentMigrationRun } from '../entities/equipment-migration-run.entity';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';

interface MigrationRunsOptions {
  json?: boolean;
  limit?: number;
}

/** The committed runs of the audit trail, newest first. */
@Injectable()
export class MigrationRunsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
  ) {}

  async list(options: { json: boolean; limit: number }): Promise<EquipmentMigrationRun[]> {
    await this.database.open({ announceOn: options.json ? 'stderr' : 'stdout' });
    await this.database.assertAccess('list-runs');
    return MigrationRunRepository.forDataSource(this.dataSource).list(options.limit);
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
      return `${run.id}  ${run.startedAt.toISOString()}  ${run.kind}${reverts}  ${run.status}  ${counts}`;
    });
  }
}

@Command({ name: 'migration-runs', description: 'List the recorded equipment migration runs, newest first' })
export class MigrationRunsCommand extends BaseCommand {
  constructor(
    private readonly runs: MigrationRunsService,
    private readonly output: CliOutput,
  ) {
    super();
  }

  async run(_parameters: string[], options: MigrationRunsOptions): Promise<void> {
    const json = options.json === true;
    const runs = await this.runs.list({ json, limit: options.limit ?? 50 });
    if (json) this.output.json(runs);
    else for (const line of this.runs.lines(runs)) this.output.line(line);
  }

  @Option({ flags: '--json', description: 'print the runs as JSON on stdout (the database line goes to stderr)' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--limit <n>', description: 'how many runs (default 50)' })
  parseLimit(value: string): number {
    return parseInteger(value, '--limit', 1, 10_000);
  }
}
