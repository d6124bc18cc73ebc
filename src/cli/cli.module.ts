import { Global, Module } from '@nestjs/common';
import { CliOutput } from './cli-output.service';
import { INTERRUPTION, processInterruption } from './interruption';
import { PROCESS_ENV } from './process-env';

@Global()
@Module({
  providers: [
    CliOutput,
    { provide: PROCESS_ENV, useValue: process.env },
    { provide: INTERRUPTION, useValue: processInterruption },
  ],
  exports: [CliOutput, PROCESS_ENV, INTERRUPTION],
})
export class CliModule {}
