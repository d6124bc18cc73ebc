import { CliError } from './cli-errors';

/** SIGINT and SIGTERM, as a run sees them. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

export const INTERRUPTED_MESSAGE = 'Interrupted: rolled back, nothing was changed';

export class InterruptedError extends CliError {
  constructor(
    readonly signal: InterruptSignal,
    message = INTERRUPTED_MESSAGE,
  ) {
    super(message, signal === 'SIGTERM' ? 143 : 130);
  }
}

/**
 * A request to stop, delivered to whatever work is running (the process's signal handlers raise it; tests raise their
 * own). Work subscribes while it runs, and checks between steps; a raise nobody listens to is reported as unheard.
 */
export class Interruption {
  private raised?: InterruptSignal;
  private decided = false;
  private readonly listeners = new Set<(signal: InterruptSignal) => void>();

  get signal(): InterruptSignal | undefined {
    return this.raised;
  }

  /** Whether the run's outcome is decided (committed or rolled back as asked): signals can no longer change it. */
  get settled(): boolean {
    return this.decided;
  }

  /** Marks the outcome decided: later raises are ignored (the command is only reporting and closing). */
  settle(): void {
    this.decided = true;
  }

  /** Returns whether some work was listening (if not, the caller should just exit). */
  raise(signal: InterruptSignal): boolean {
    if (this.decided) return true;
    if (this.raised) return this.listeners.size > 0;
    this.raised = signal;
    for (const listener of this.listeners) listener(signal);
    return this.listeners.size > 0;
  }

  /** Calls `listener` on a raise (at once if already raised); returns the unsubscribe function. */
  subscribe(listener: (signal: InterruptSignal) => void): () => void {
    this.listeners.add(listener);
    if (this.raised) listener(this.raised);
    return () => this.listeners.delete(listener);
  }

  throwIfRaised(): void {
    if (this.raised) throw new InterruptedError(this.raised);
  }
}

/** Injection token; the CLI provides one Interruption that its signal handlers raise. */
export const INTERRUPTION = Symbol('INTERRUPTION');
export const processInterruption = new Interruption();
