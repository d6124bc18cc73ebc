import { Injectable } from '@nestjs/common';
import { CliOutput } from '../cli/cli-output.service';
import { RunLifecycle } from '../run-engine/run-lifecycle';
import { EquipmentMigrationJob, EquipmentMigrationOptions, MigrationResult } from './equipment-migration.job';
import { MigrationPages } from './migration-pages';
import { MigrationRepositories } from './migration-repositories';
import { ReportService } from './report.service';

export type { EquipmentMigrationOptions } from './equipment-migration.job';

export const DEFAULT_BATCH_SIZE = 5000;
/** An online page's rows stay locked until it commits: at 1,000 rows an app write waits at most about 0.1 s (bench). */
export const ONLINE_DEFAULT_BATCH_SIZE = 1000;
export const MAX_BATCH_SIZE = 100_000;

/**
 * The port of migrate_equipment_data: the migration job (EquipmentMigrationJob) run by the shared run lifecycle, in
 * one transaction that commits (or rolls back for --dry-run, or on any failure), or with --online one per page.
 */
@Injectable()
export class EquipmentMigrationService {
  constructor(
    private readonly lifecycle: RunLifecycle,
    private readonly pages: MigrationPages,
    private readonly repositories: MigrationRepositories,
    private readonly report: ReportService,
    private readonly output: CliOutput,
  ) {}

  run(options: EquipmentMigrationOptions): Promise<MigrationResult> {
    const job = new EquipmentMigrationJob(options, this.repositories, this.pages, this.report, this.output);
    return this.lifecycle.run(job, { ...options, strategy: options.online ? 'online' : 'atomic' });
  }
}
