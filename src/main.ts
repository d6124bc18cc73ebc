import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { AppModule } from './app.module';
import { cliRunOptions } from './cli/cli-options';

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
