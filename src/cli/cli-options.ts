import type { CommandFactoryRunOptions } from 'nest-commander/src/command-factory.interface';
import { createCliErrorHandler } from './cli-error-handler';

/** nest-commander options shared by the real CLI (src/main.ts) and the tests' CommandTestFactory. */
export function cliRunOptions(setExitCode: (code: number) => void, writeError = (line: string) => void process.stderr.write(`${line}\n`)) {
  const handle = createCliErrorHandler(setExitCode, writeError);
  return {
    cliName: 'npm run cli --',
    errorHandler: (error: Error) => {
      throw error; // routed to serviceErrorHandler, which owns exit codes
    },
    serviceErrorHandler: handle,
  } satisfies Partial<CommandFactoryRunOptions>;
}
