import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { CommandFactory } from 'nest-commander';
import { AppModule } from './app.module';
import { cliRunOptions } from './cli/cli-options';
import { InterruptSignal, processInterruption } from './cli/interruption';
import { guardOutputStreams, writeIfOpen } from './cli/output-streams';
import { oneLine } from './cli/terminal-text.util';

/**
 * A migration streams millions of short-lived rows through pages that are in flight for a few statements; many
 * outlive a young-generation collection, and V8's default growth lets the old generation swell to several times the
 * live heap between full collections. A lower growth factor keeps memory flat with the table size (and costs less
 * time than it saves): see `npm run bench`.
 */
setFlagsFromString('--heap-growing-percent=20');

/**
 * SIGINT/SIGTERM ask the running command to stop: a migration rolls back, cleans up and exits 130/143 itself. A second
 * signal, or one that no running work listens to, ends the process at once (PostgreSQL rolls back what it leaves).
 * Once a run's outcome is settled (committed, or rolled back as asked) a signal changes nothing: the command is only
 * reporting; a second one ends the process with the exit code the outcome already set.
 */
function handleSignals(): void {
  let afterSettled = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as InterruptSignal[]) {
    process.on(signal, () => {
      if (processInterruption.settled) {
        afterSettled += 1;
        if (afterSettled > 1) process.exit(process.exitCode ?? 0);
        return;
      }
      const exitCode = signal === 'SIGTERM' ? 143 : 130;
      const first = processInterruption.signal === undefined;
      if (!processInterruption.raise(signal) || !first) {
        writeIfOpen(process.stderr, 'Interrupted\n');
        process.exit(exitCode);
      }
    });
  }
}

/** `npm run cli -- <command> [options]` (through bin/cli.js, which keeps dist/ in step with src/). */
async function main(): Promise<void> {
  guardOutputStreams();
  handleSignals();
  await CommandFactory.run(AppModule, {
    ...cliRunOptions((code) => {
      process.exitCode = code;
    }),
    logger: ['error'],
  });
}

main().catch((error: unknown) => {
  writeIfOpen(process.stderr, `${oneLine(`Error: ${error instanceof Error ? error.message : String(error)}`)}\n`);
  process.exitCode = 1;
});
