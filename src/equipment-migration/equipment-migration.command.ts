import { Inject } from '@nestjs/common';
import { InvalidArgumentError } from 'commander';
import { Command, Help, Option } from 'nest-commander';
import { GuardedRunCommand, GuardedRunCommandOptions } from '../cli/guarded-run.command';
import { CliOutput } from '../cli/cli-output.service';
import { isRunId, parseInteger } from '../cli/option-parsers';
import { PROCESS_ENV } from '../cli/process-env';
import { UsageError } from '../cli/cli-errors';
import { DEFAULT_THROTTLE_LIMITS } from '../run-engine/throttle';
import {
  DEFAULT_BATCH_SIZE,
  ONLINE_DEFAULT_BATCH_SIZE,
  EquipmentMigrationOptions,
  EquipmentMigrationService,
  MAX_BATCH_SIZE,
} from './equipment-migration.service';
import { ReviewedPlan } from './plan-fingerprint';
import { readReviewedPlanFile } from './reviewed-plan-file';

/** What --expect-plan names: a fingerprint, or a report file that run() reads (asynchronously, bounded). */
type ExpectPlanOption = ReviewedPlan | { reportPath: string };

/** The options with a `defaultValue` (shown in `--help`) are always set; the optional ones mean something when absent. */
export interface MigrateEquipmentCommandOptions extends GuardedRunCommandOptions {
  batchSize: number;
  /** Absent: no limit. */
  maxErrors?: number;
  progress?: boolean;
  expectPlan?: ExpectPlanOption;
  online?: boolean;
  resume?: string;
  maxReplicationLag: number;
  maxBlockedSessions: number;
  pause: number;
  maxThrottle: number;
}

const ONLINE_ONLY = ['resume', 'maxReplicationLag', 'maxBlockedSessions', 'pause', 'maxThrottle'] as const;
const FLAG_OF: Record<(typeof ONLINE_ONLY)[number], string> = {
  resume: '--resume',
  maxReplicationLag: '--max-replication-lag',
  maxBlockedSessions: '--max-blocked-sessions',
  pause: '--pause',
  maxThrottle: '--max-throttle',
};

const EXIT_CODES_HELP = `
Exit codes:
  0  completed: committed, or rolled back because of --dry-run (also when some rows were errors)
  1  failed, aborted by --max-errors, or the plan differs from --expect-plan: rolled back, nothing was changed
  2  bad option, configuration, database unreachable, schema missing, missing privileges or report path unwritable: nothing was done
  3  another migration run holds the lock: nothing was changed
  4  --online: stopped part-way (failure, --max-errors, --expect-plan, --max-throttle); committed pages remain; resume or revert
  5  the connection was lost during COMMIT and the database cannot be asked: outcome unknown; check the named run with migration-runs
  130/143  interrupted by SIGINT/SIGTERM: rolled back, nothing was changed (--online: the committed pages remain; resume or revert)`;

@Command({
  name: 'migrate-equipment',
  description: 'Convert legacy multiple-selection equipment answers to the single-selection format',
})
export class EquipmentMigrationCommand extends GuardedRunCommand {
  /** Not --no-progress: npm's own `progress` setting is commonly set in .npmrc, and a missing progress bar is harmless. */
  protected readonly npmSwallowable = [
    'batch_size',
    'max_errors',
    'expect_plan',
    'resume',
    'max_replication_lag',
    'max_blocked_sessions',
    'pause',
    'max_throttle',
  ];
  protected readonly npmExample = 'npm run cli -- migrate-equipment --dry-run --save-report report.json';

  constructor(
    private readonly migration: EquipmentMigrationService,
    output: CliOutput,
    @Inject(PROCESS_ENV) env: NodeJS.ProcessEnv,
  ) {
    super(output, env);
  }

  async run(_parameters: string[], options: MigrateEquipmentCommandOptions): Promise<void> {
    const resolved = this.resolve(options);
    // Read here, not in the option parser: commander's parsers are synchronous, and a read must let signals through.
    const expectPlan = options.expectPlan instanceof ReviewedPlan || options.expectPlan === undefined
      ? options.expectPlan
      : await readReviewedPlanFile(options.expectPlan.reportPath);
    await this.migration.run({ ...resolved, expectPlan });
  }

  /** Applies defaults (after catching the options npm swallowed); the reviewed plan is read by run(). */
  private resolve(options: MigrateEquipmentCommandOptions): Omit<EquipmentMigrationOptions, 'expectPlan'> {
    const dryRun = this.dryRunRequested(options);
    if (!options.online) {
      // The throttle options have defaults, so whether one was given is asked of commander, not of its value.
      const given = ONLINE_ONLY.find((name) => this.given(name));
      if (given) throw new UsageError(`${FLAG_OF[given]} needs --online`);
    } else if (!dryRun) {
      // A ReviewedPlan here is a bare fingerprint: a report file is read by run().
      if (options.expectPlan instanceof ReviewedPlan && !options.expectPlan.hasRows) {
        throw new UsageError('--online --expect-plan needs the dry run\'s --save-report file, not a bare fingerprint: each page is checked against the reviewed rows');
      }
    } else if (options.resume !== undefined) {
      throw new UsageError('--resume continues a real online run; it cannot be a dry run');
    }
    return {
      dryRun,
      reportPath: options.saveReport,
      // An online page holds its rows' locks until it commits: smaller pages keep app writes from waiting on them.
      batchSize: options.online && !this.given('batchSize') ? ONLINE_DEFAULT_BATCH_SIZE : options.batchSize,
      maxErrors: options.maxErrors,
      progress: options.progress !== false,
      ...this.guards(options),
      online: options.online === true,
      resume: options.resume,
      throttle: options.online
        ? {
            maxReplicationLagSeconds: options.maxReplicationLag,
            maxBlockedSessions: options.maxBlockedSessions,
            pauseMs: options.pause,
            maxThrottleSeconds: options.maxThrottle,
          }
        : undefined,
    };
  }

  @Help('after')
  exitCodesHelp(): string {
    return EXIT_CODES_HELP;
  }

  @Option({
    flags: '--batch-size <rows>',
    description: `candidate rows read and written per page (at most ${MAX_BATCH_SIZE}; with --online ${ONLINE_DEFAULT_BATCH_SIZE} unless given)`,
    defaultValue: DEFAULT_BATCH_SIZE,
  })
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
    flags: '--online',
    description: 'one short transaction per page, for a live database: no long row locks, resumable, throttled, undone as a whole by revert-equipment-migration',
  })
  parseOnline(): boolean {
    return true;
  }

  @Option({ flags: '--resume <run-id|latest>', description: 'with --online: continue an interrupted or failed online run from its checkpoint, with its recorded options' })
  parseResume(value: string): string {
    const id = value.trim().toLowerCase();
    if (id === 'latest' || isRunId(id)) return id;
    throw new InvalidArgumentError(`--resume takes a run id (a UUID from \`npm run cli -- migration-runs\`) or "latest" (got "${value}").`);
  }

  @Option({
    flags: '--max-replication-lag <seconds>',
    description: "with --online: wait before a page while a standby's replay lag is above this",
    defaultValue: DEFAULT_THROTTLE_LIMITS.maxReplicationLagSeconds,
  })
  parseMaxReplicationLag(value: string): number {
    return parseInteger(value, '--max-replication-lag', 0, 86_400);
  }

  @Option({
    flags: '--max-blocked-sessions <n>',
    description: "with --online: hold the next page back when more sessions than this waited on a page's locks",
    defaultValue: DEFAULT_THROTTLE_LIMITS.maxBlockedSessions,
  })
  parseMaxBlockedSessions(value: string): number {
    return parseInteger(value, '--max-blocked-sessions', 0, 100_000);
  }

  @Option({ flags: '--pause <ms>', description: 'with --online: pause between pages', defaultValue: DEFAULT_THROTTLE_LIMITS.pauseMs })
  parsePause(value: string): number {
    return parseInteger(value, '--pause', 0, 600_000);
  }

  @Option({
    flags: '--max-throttle <seconds>',
    description: 'with --online: stop (exit 4) when throttled longer than this in all',
    defaultValue: DEFAULT_THROTTLE_LIMITS.maxThrottleSeconds,
  })
  parseMaxThrottle(value: string): number {
    return parseInteger(value, '--max-throttle', 1, 604_800);
  }

  @Option({
    flags: '--expect-plan <fingerprint|report>',
    description:
      'the "Plan fingerprint" of a reviewed dry run, or that dry run\'s --save-report file (then the rows that differ are counted): roll back (exit 1) if the plan differs',
  })
  parseExpectPlan(value: string): ExpectPlanOption {
    const fingerprint = value.trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(fingerprint)) return ReviewedPlan.fromFingerprint(fingerprint);
    if (value === '') throw new InvalidArgumentError('--expect-plan takes the 64 hex digits of a "Plan fingerprint:" line, or a dry run\'s report file.');
    return { reportPath: value };
  }
}
