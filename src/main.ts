import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { CommandFactory } from 'nest-commander';
import { AppModule } from './app.module';
import { cliRunOptions } from './cli/cli-options';
import { InterruptSignal, processInterruption } from './cli/interruption';

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
 */
function handleSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as InterruptSignal[]) {
    process.on(signal, () => {
      const exitCode = signal === 'SIGTERM' ? 143 : 130;
      const first = processInterruption.signal === undefined;
      if (!processInterruption.raise(signal) || !first) {
        process.stderr.write('Interrupted\n');
        process.exit(exitCode);
      }
    });
  }
}

/** `npm run cli -- <command> [options]` (through bin/cli.js, which keeps dist/ in step with src/). */
async function main(): Promise<void> {
  handleSignals();
  await CommandFactory.run(AppModule, {
    ...cliRunOptions((code) => {
      process.exitCode = code;
    }),
    logger: ['error'],
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
