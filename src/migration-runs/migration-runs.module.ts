import { Module } from '@nestjs/common';
import { EquipmentMigrationModule } from '../equipment-migration/equipment-migration.module';
import { MigrationRunsCommand, MigrationRunsService } from './migration-runs.command';

@Module({
  imports: [EquipmentMigrationModule],
  providers: [MigrationRunsCommand, MigrationRunsService],
})
export class MigrationRunsModule {}
