import { Module } from '@nestjs/common';
import { MigrationRunsCommand, MigrationRunsService } from './migration-runs.command';

@Module({
  providers: [MigrationRunsCommand, MigrationRunsService],
})
export class MigrationRunsModule {}
