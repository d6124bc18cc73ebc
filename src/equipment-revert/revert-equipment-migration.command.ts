import { Inject } from '@nestjs/common';
import { Command, Help, Option } from 'nest-commander';
import { CliOutput } from '../cli/cli-output.service';
import { PROCESS_ENV } from '../cli/process-env';
import { GuardedRunCommand, GuardedRunCommandOptions } from '../cli/guarded-run.command';
import { parseInteger, parseRunId } from '../cli/option-parsers';
import { RevertService } from './revert.service';

interface RevertCommandOptions extends GuardedRunCommandOptions {
  batchSize: number;
  online?: boolean;
}

const DEFAULT_REVERT_BATCH_SIZE = 5000;
const MAX_REVERT_BATCH_SIZE = 100_000;

const EXIT_CODES_HELP = `
Exit codes:
  0  completed: committed, or rolled back because of --dry-run (conflicts and missing rows are reported, not failures)
  1  failed (or the counts do not add up): rolled back, nothing was changed
  2  bad option or run id, unknown or already reverted run, configuration, database unreachable, missing privileges: nothing was done
  3  another migration run holds the lock: nothing was changed
  4  --online: stopped part-way; the restored pages remain; run it again to finish
  5  the connection was lost during COMMIT and the database cannot be asked: outcome unknown; check the named run with migration-runs
  130/143  interrupted by SIGINT/SIGTERM: rolled back, nothing was changed (--online: run it again to finish)`;

@Command({
  name: 'revert-equipment-migration',
  arguments: '<run-id>',
  description: 'Undo exactly the rows a migration run changed, where they still hold what it wrote (see migration-runs)',
})
export class RevertEquipmentMigrationCommand extends GuardedRunCommand {
  protected readonly npmSwallowable = ['batch_size'];
  protected readonly npmExample = 'npm run cli -- revert-equipment-migration <run-id> --dry-run';

  constructor(
    private readonly revert: RevertService,
    output: CliOutput,
    @Inject(PROCESS_ENV) env: NodeJS.ProcessEnv,
  ) {
    super(output, env);
  }

  async run([runId]: string[], options: RevertCommandOptions): Promise<void> {
    const dryRun = this.dryRunRequested(options);
    await this.revert.run({
      runId: parseRunId(runId),
      dryRun,
      reportPath: options.saveReport,
      batchSize: options.batchSize,
      online: options.online === true,
      ...this.guards(options),
    });
  }

  @Help('after')
  exitCodesHelp(): string {
    return EXIT_CODES_HELP;
  }

  @Option({ flags: '--online', description: 'one short transaction per page (for a large revert on a live database); stopped part-way, run it again to finish' })
  parseOnline(): boolean {
    return true;
  }

  @Option({ flags: '--batch-size <rows>', description: 'changes per page', defaultValue: DEFAULT_REVERT_BATCH_SIZE })
  parseBatchSize(value: string): number {
    return parseInteger(value, '--batch-size', 1, MAX_REVERT_BATCH_SIZE);
  }
}
