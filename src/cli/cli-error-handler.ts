import { CommanderError } from 'commander';
import { CliError, ExitCode } from './cli-errors';
import { redactPasswords } from './redact.util';
import { oneLine } from './terminal-text.util';

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version']);
export const NPM_HINT = 'Pass options to the command after `--`, e.g. `npm run cli -- migrate-equipment --dry-run --save-report report.json`';

/**
 * Turns whatever ended a command into an exit code and (except for help) a message on stderr.
 * `setExitCode` is process.exitCode in the real CLI and a recorder in tests.
 */
export function createCliErrorHandler(setExitCode: (code: number) => void, writeError: (line: string) => void) {
  return (error: unknown): void => {
    if (error instanceof CommanderError) {
      // commander has already printed its own message (or the help text).
      if (HELP_CODES.has(error.code)) {
        setExitCode(ExitCode.Success);
        return;
      }
      if (error.code !== 'commander.help') writeError(NPM_HINT);
      setExitCode(ExitCode.Usage);
      return;
    }
    if (error instanceof CliError) {
      if (error.message) writeError(oneLine(redactPasswords(error.message)));
      setExitCode(error.exitCode);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    writeError(oneLine(`Error: ${redactPasswords(message)}`));
    setExitCode(ExitCode.Failed);
  };
}
