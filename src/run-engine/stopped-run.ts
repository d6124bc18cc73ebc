import { CliError, CommandFailedError, StoppedPartWayError } from '../cli/cli-errors';
import { InterruptedError } from '../cli/interruption';

/** How far a run that commits page by page got when it stopped, and how to go on from there. */
export interface StoppedRunState {
  /** Pages committed, over all of the run's processes. */
  pages: number;
  /** e.g. `412000 of 1000000 assessments committed`. */
  committed: string;
  /** e.g. `resume with: …; undo with: …`. */
  waysOn: string;
}

/**
 * The error that ends a run committing page by page, from what stopped it: a signal → exit 130/143 naming how far it
 * got and the ways on; no page committed → the cause as it is (nothing was changed); else exit 4 (committed pages
 * remain: resume or revert).
 */
export function stoppedRunError(cause: unknown, state: StoppedRunState): unknown {
  if (cause instanceof InterruptedError) return new InterruptedError(cause.signal, `Interrupted: ${state.committed}; ${state.waysOn}`);
  // The cause's line already says what was rolled back (the transaction was run with the page's rollback note).
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (state.pages === 0) return cause instanceof CliError ? cause : new CommandFailedError(`Failed: ${reason}; nothing was changed`);
  return new StoppedPartWayError(`Stopped part-way: ${reason}; ${state.committed}; ${state.waysOn}`);
}
