import { Option } from 'nest-commander';
import { BaseCommand } from './base.command';
import { parseInteger, parsePath } from './option-parsers';

/** The options every data-changing command shares (twenty's base-runner pattern): dry run, report, lock and timeouts. */
export interface GuardedRunCommandOptions {
  dryRun?: boolean;
  saveReport?: string;
  waitForLock?: number;
  lockTimeout?: number;
  statementTimeout?: number;
}

export const DEFAULT_LOCK_TIMEOUT_SECONDS = 10;

export abstract class GuardedRunCommand extends BaseCommand {
  /** The transaction guards, with their defaults. */
  protected guards(options: GuardedRunCommandOptions) {
    return {
      waitForLockSeconds: options.waitForLock ?? 0,
      lockTimeoutSeconds: options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT_SECONDS,
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

  @Option({ flags: '--wait-for-lock <seconds>', description: 'wait up to <seconds> for another run to finish (default 0)' })
  parseWaitForLock(value: string): number {
    return parseInteger(value, '--wait-for-lock', 0, 86_400);
  }

  @Option({
    flags: '--lock-timeout <seconds>',
    description: `give up when a row lock is held longer than this (default ${DEFAULT_LOCK_TIMEOUT_SECONDS}; 0: wait forever)`,
  })
  parseLockTimeout(value: string): number {
    return parseInteger(value, '--lock-timeout', 0, 86_400);
  }

  @Option({ flags: '--statement-timeout <seconds>', description: 'give up when one statement runs longer than this (default: no limit)' })
  parseStatementTimeout(value: string): number {
    return parseInteger(value, '--statement-timeout', 1, 86_400);
  }
}
