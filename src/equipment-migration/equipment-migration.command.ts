import { Inject } from '@nestjs/common';
import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'nest-commander';
import { GuardedRunCommand, GuardedRunCommandOptions } from '../cli/guarded-run.command';
import { CliOutput } from '../cli/cli-output.service';
import { parseInteger } from '../cli/option-parsers';
import { PROCESS_ENV } from '../cli/process-env';
import {
  DEFAULT_BATCH_SIZE,
  EquipmentMigrationOptions,
  EquipmentMigrationService,
  MAX_BATCH_SIZE,
} from './equipment-migration.service';
import { ReviewedPlan } from './plan-fingerprint';

export interface MigrateEquipmentCommandOptions extends GuardedRunCommandOptions {
  batchSize?: number;
  maxErrors?: number;
  progress?: boolean;
  expectPlan?: ReviewedPlan;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  completed: committed, or rolled back because of --dry-run (also when some rows were errors)
  1  failed, aborted by --max-errors, or the plan differs from --expect-plan: rolled back, nothing was changed
  2  bad option, configuration, database unreachable, schema missing, missing privileges or report path unwritable: nothing was done
  3  another migration run holds the lock: nothing was changed
  5  the connection was lost during COMMIT and the database cannot be asked: outcome unknown; check the named run with migration-runs
  130/143  interrupted by SIGINT/SIGTERM: rolled back, nothing was changed`;

@Command({
  name: 'migrate-equipment',
  description: 'Convert legacy multiple-selection equipment answers to the single-selection format',
})
export class EquipmentMigrationCommand extends GuardedRunCommand {
  /** Not --no-progress: npm's own `progress` setting is commonly set in .npmrc, and a missing progress bar is harmless. */
  protected readonly npmSwallowable = ['batch_size', 'max_errors', 'expect_plan'];
  protected readonly npmExample = 'npm run cli -- migrate-equipment --dry-run --save-report report.json';

  constructor(
    private readonly migration: EquipmentMigrationService,
    output: CliOutput,
    @Inject(PROCESS_ENV) env: NodeJS.ProcessEnv,
  ) {
    super(output, env);
  }

  override setCommand(command: Parameters<GuardedRunCommand['setCommand']>[0]): this {
    command.addHelpText('after', EXIT_CODES_HELP);
    return super.setCommand(command);
  }

  async run(_parameters: string[], options: MigrateEquipmentCommandOptions): Promise<void> {
    await this.migration.run(this.resolve(options));
  }

  /** Applies defaults (after catching the options npm swallowed). */
  private resolve(options: MigrateEquipmentCommandOptions): EquipmentMigrationOptions {
    const dryRun = this.dryRunRequested(options);
    return {
      dryRun,
      reportPath: options.saveReport,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      maxErrors: options.maxErrors,
      progress: options.progress !== false,
      ...this.guards(options),
      expectPlan: options.expectPlan,
    };
  }



  @Option({ flags: '--batch-size <rows>', description: `candidate rows read and written per page (default ${DEFAULT_BATCH_SIZE}, at most ${MAX_BATCH_SIZE})` })
  parseBatchSize(value: string): number {
    return parseInteger(value, '--batch-size', 1, MAX_BATCH_SIZE);
  }

  @Option({ flags: '--max-errors <rows>', description: 'abort and roll back when more than <rows> rows are errors' })
  parseMaxErrors(value: string): number {
    return parseInteger(value, '--max-errors', 0, Number.MAX_SAFE_INTEGER);
  }

  @Option({ flags: '--no-progress', description: 'no progress bar or progress lines on stderr' })
  parseNoProgress(): boolean {
    return false;
  }



  @Option({
    flags: '--expect-plan <fingerprint|report>',
    description:
      'the "Plan fingerprint" of a reviewed dry run, or that dry run\'s --save-report file (then the rows that differ are counted): roll back (exit 1) if the plan differs',
  })
  parseExpectPlan(value: string): ReviewedPlan {
    const fingerprint = value.trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(fingerprint)) return ReviewedPlan.fromFingerprint(fingerprint);
    let report: unknown;
    try {
      report = JSON.parse(readFileSync(value, 'utf8'));
    } catch (error) {
      throw new InvalidArgumentError(
        `--expect-plan takes the 64 hex digits of a "Plan fingerprint:" line, or a dry run's report file (${value}: ${(error as Error).message}).`,
      );
    }
    const plan = ReviewedPlan.fromReport(report as Parameters<typeof ReviewedPlan.fromReport>[0]);
    if (!plan) throw new InvalidArgumentError(`--expect-plan: ${value} is not a report with a plan fingerprint.`);
    return plan;
  }


}
