import { Command, Option } from 'nest-commander';
import { BaseCommand } from '../cli/base.command';
import { UsageError } from '../cli/cli-errors';
import { parseInteger, parsePath } from '../cli/option-parsers';
import { RevertService } from './revert.service';

interface RevertCommandOptions {
  dryRun?: boolean;
  saveReport?: string;
  batchSize?: number;
  waitForLock?: number;
  lockTimeout?: number;
  statementTimeout?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Command({
  name: 'revert-equipment-migration',
  arguments: '<run-id>',
  description: 'Undo exactly the rows a migration run changed, where they still hold what it wrote (see migration-runs)',
})
export class RevertEquipmentMigrationCommand extends BaseCommand {
  constructor(private readonly revert: RevertService) {
    super();
  }

  async run([runId]: string[], options: RevertCommandOptions): Promise<void> {
    if (!UUID.test(runId ?? '')) throw new UsageError(`"${runId}" is not a run id (a UUID from \`npm run cli -- migration-runs\`)`);
    await this.revert.run({
      runId: runId.toLowerCase(),
      dryRun: options.dryRun === true,
      reportPath: options.saveReport,
      batchSize: options.batchSize ?? 5000,
      waitForLockSeconds: options.waitForLock ?? 0,
      lockTimeoutSeconds: options.lockTimeout ?? 10,
      statementTimeoutSeconds: options.statementTimeout,
    });
  }

  @Option({ flags: '--dry-run', description: 'do all the work, then roll back (nothing is saved)' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--save-report <file>', description: 'write the JSON report (conflicts and missing rows) to <file>' })
  parseSaveReport(value: string): string {
    return parsePath(value, '--save-report');
  }

  @Option({ flags: '--batch-size <rows>', description: 'changes per page (default 5000)' })
  parseBatchSize(value: string): number {
    return parseInteger(value, '--batch-size', 1, 100_000);
  }

  @Option({ flags: '--wait-for-lock <seconds>', description: 'wait up to <seconds> for another run to finish (default 0)' })
  parseWaitForLock(value: string): number {
    return parseInteger(value, '--wait-for-lock', 0, 86_400);
  }

  @Option({ flags: '--lock-timeout <seconds>', description: 'give up when a row lock is held longer than this (default 10)' })
  parseLockTimeout(value: string): number {
    return parseInteger(value, '--lock-timeout', 0, 86_400);
  }

  @Option({ flags: '--statement-timeout <seconds>', description: 'give up when one statement runs longer than this' })
  parseStatementTimeout(value: string): number {
    return parseInteger(value, '--statement-timeout', 1, 86_400);
  }
}
