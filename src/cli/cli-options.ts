import type { CommandFactoryRunOptions } from 'nest-commander/src/command-factory.interface';
import { createCliErrorHandler } from './cli-error-handler';
import { writeIfOpen } from './output-streams';

/** nest-commander options shared by the real CLI (src/main.ts) and the tests' CommandTestFactory. */
export function cliRunOptions(
  setExitCode: (code: number) => void,
  writeError: (line: string) => void = (line) => writeIfOpen(process.stderr, `${line}\n`),
) {
  const handle = createCliErrorHandler(setExitCode, writeError);
  return {
    cliName: 'npm run cli --',
    errorHandler: (error: Error) => {
      throw error; // routed to serviceErrorHandler, which owns exit codes
    },
    serviceErrorHandler: handle,
    // commander's own messages (unknown option, help) go to the same place as ours.
    outputConfiguration: {
      writeOut: (text: string) => writeIfOpen(process.stdout, text),
      writeErr: (text: string) => writeError(text.replace(/\n$/, '')),
    },
  } satisfies Partial<CommandFactoryRunOptions>;
}
