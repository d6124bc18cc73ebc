import { Inject } from '@nestjs/common';
import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'nest-commander';
import { GuardedRunCommand, GuardedRunCommandOptions } from '../cli/guarded-run.command';
import { NPM_HINT } from '../cli/cli-error-handler';
import { UsageError } from '../cli/cli-errors';
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

/**
 * Options npm takes for itself when they are given without `--` (npm run cli migrate-equipment --batch-size 5).
 * Not --no-progress: npm's own `progress` setting is commonly set in .npmrc, and a missing progress bar is harmless.
 */
const NPM_SWALLOWED = ['save_report', 'batch_size', 'max_errors', 'wait_for_lock', 'lock_timeout', 'statement_timeout', 'expect_plan'];

@Command({
  name: 'migrate-equipment',
  description: 'Convert legacy multiple-selection equipment answers to the single-selection format',
})
export class EquipmentMigrationCommand extends GuardedRunCommand {
  constructor(
    private readonly migration: EquipmentMigrationService,
    private readonly output: CliOutput,
    @Inject(PROCESS_ENV) private readonly env: NodeJS.ProcessEnv,
  ) {
    super();
  }

  override setCommand(command: Parameters<GuardedRunCommand['setCommand']>[0]): this {
    command.addHelpText('after', EXIT_CODES_HELP);
    return super.setCommand(command);
  }

  async run(_parameters: string[], options: MigrateEquipmentCommandOptions): Promise<void> {
    await this.migration.run(this.resolve(options));
  }

  /** Applies defaults, and catches options that npm swallowed because they were not passed after `--`. */
  private resolve(options: MigrateEquipmentCommandOptions): EquipmentMigrationOptions {
    const swallowed = NPM_SWALLOWED.filter((name) => this.env[`npm_config_${name}`] !== undefined);
    if (swallowed.length > 0) {
      throw new UsageError(
        `npm took --${swallowed[0].replace(/_/g, '-')} as its own option, so the command never saw it. ${NPM_HINT}`,
      );
    }
    let dryRun = options.dryRun === true;
    if (!dryRun && this.env.npm_config_dry_run === 'true') {
      // `npm run cli migrate-equipment --dry-run` (no `--`): npm ate the flag. Honour what the operator meant.
      dryRun = true;
      this.output.note(`Warning: npm took --dry-run as its own option; running as a dry run anyway. ${NPM_HINT}`);
    }
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
