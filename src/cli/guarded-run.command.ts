import { Option } from 'nest-commander';
import { BaseCommand } from './base.command';
import { UsageError } from './cli-errors';
import { CliOutput } from './cli-output.service';
import { parseInteger, parsePath } from './option-parsers';

/**
 * The options every data-changing command shares (twenty's base-runner pattern): dry run, report, lock and timeouts.
 * The ones with a `defaultValue` (shown in `--help`) are always set; the optional ones mean something when absent.
 */
export interface GuardedRunCommandOptions {
  dryRun?: boolean;
  saveReport?: string;
  waitForLock: number;
  lockTimeout: number;
  /** Absent: no statement_timeout. */
  statementTimeout?: number;
}

export const DEFAULT_LOCK_TIMEOUT_SECONDS = 10;

/**
 * The shared options that take a value, as npm names them in its environment when it swallows them
 * (`npm run cli migrate-equipment --save-report x` without `--` exports npm_config_save_report).
 */
const NPM_SWALLOWABLE = ['save_report', 'wait_for_lock', 'lock_timeout', 'statement_timeout'];

export abstract class GuardedRunCommand extends BaseCommand {
  /** This command's own options with a value, as npm names them (`batch_size` for --batch-size). */
  protected abstract readonly npmSwallowable: readonly string[];
  /** How to call this command correctly through npm, for the hint (`npm run cli -- … --dry-run`). */
  protected abstract readonly npmExample: string;

  protected constructor(
    protected readonly output: CliOutput,
    protected readonly env: NodeJS.ProcessEnv,
  ) {
    super();
  }

  /**
   * Whether this run is a dry run, after catching what npm swallowed because it was given without `--`:
   * a swallowed `--dry-run` (npm_config_dry_run=true) still makes a dry run, with a warning; a swallowed option with a
   * value is refused (exit 2) before anything touches the database, since its value is lost.
   */
  protected dryRunRequested(options: GuardedRunCommandOptions): boolean {
    const hint = `Pass options to the command after \`--\`, e.g. \`${this.npmExample}\``;
    const swallowed = [...NPM_SWALLOWABLE, ...this.npmSwallowable].filter((name) => this.env[`npm_config_${name}`] !== undefined);
    if (swallowed.length > 0) {
      throw new UsageError(`npm took --${swallowed[0].replace(/_/g, '-')} as its own option, so the command never saw it. ${hint}`);
    }
    if (options.dryRun === true) return true;
    if (this.env.npm_config_dry_run === 'true') {
      this.output.note(`Warning: npm took --dry-run as its own option; running as a dry run anyway. ${hint}`);
      return true;
    }
    return false;
  }

  /** The transaction guards, as the options name them (their defaults come from commander). */
  protected guards(options: GuardedRunCommandOptions) {
    return {
      waitForLockSeconds: options.waitForLock,
      lockTimeoutSeconds: options.lockTimeout,
      statementTimeoutSeconds: options.statementTimeout,
    };
  }

  @Option({ flags: '--dry-run', description: 'do all the work, then roll back (nothing is saved)' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--save-report <file>', description: 'write the detailed JSON report to <file> (its folder must exist)' })
  parseSaveReport(value: string): string {
    return parsePath(value, '--save-report');
  }

  @Option({ flags: '--wait-for-lock <seconds>', description: 'wait up to <seconds> for another run to finish', defaultValue: 0 })
  parseWaitForLock(value: string): number {
    return parseInteger(value, '--wait-for-lock', 0, 86_400);
  }

  @Option({
    flags: '--lock-timeout <seconds>',
    description: 'give up when a row lock is held longer than this (0: wait forever)',
    defaultValue: DEFAULT_LOCK_TIMEOUT_SECONDS,
  })
  parseLockTimeout(value: string): number {
    return parseInteger(value, '--lock-timeout', 0, 86_400);
  }

  @Option({ flags: '--statement-timeout <seconds>', description: 'give up when one statement runs longer than this (default: no limit)' })
  parseStatementTimeout(value: string): number {
    return parseInteger(value, '--statement-timeout', 1, 86_400);
  }
}
