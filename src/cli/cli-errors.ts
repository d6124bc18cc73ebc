/**
 * Exit codes every command shares. Pipelines rely on them: keep them stable.
 * 0 success · 1 failed, nothing changed · 2 usage or configuration · 3 another run holds the lock ·
 * 4 an online run stopped part-way: its committed pages remain (resume or revert) ·
 * 5 the commit's answer was lost and the database could not be asked: outcome unknown.
 */
export const ExitCode = {
  Success: 0,
  Failed: 1,
  Usage: 2,
  Locked: 3,
  StoppedPartWay: 4,
  OutcomeUnknown: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode] | 130 | 143;

/** An error that ends the command with a specific exit code and a one-line message for the operator. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad options, arguments or configuration (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}

/** The command ran and failed; nothing was changed (exit 1). */
export class CommandFailedError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.Failed);
  }
}

/** Another run holds the lock (exit 3). */
export class LockedError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.Locked);
  }
}

/** The connection was lost while COMMIT was in flight and the database cannot be reached to ask (exit 5). */
export class OutcomeUnknownError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.OutcomeUnknown);
  }
}

/** An online run stopped part-way after committing pages: they remain; resume or revert (exit 4). */
export class StoppedPartWayError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.StoppedPartWay);
  }
}
