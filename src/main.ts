import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { CommandFactory } from 'nest-commander';
import { AppModule } from './app.module';
import { cliRunOptions } from './cli/cli-options';

/**
 * A migration streams millions of short-lived rows through pages that are in flight for a few statements; many
 * outlive a young-generation collection, and V8's default growth lets the old generation swell to several times the
 * live heap between full collections. A lower growth factor keeps memory flat with the table size (and costs less
 * time than it saves): see `npm run bench`.
 */
setFlagsFromString('--heap-growing-percent=20');

/** `npm run cli -- <command> [options]` (through bin/cli.js, which keeps dist/ in step with src/). */
async function main(): Promise<void> {
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
