import { Global, Module } from '@nestjs/common';
import { CliOutput } from './cli-output.service';
import { PROCESS_ENV } from './process-env';

@Global()
@Module({
  providers: [CliOutput, { provide: PROCESS_ENV, useValue: process.env }],
  exports: [CliOutput, PROCESS_ENV],
})
export class CliModule {}
