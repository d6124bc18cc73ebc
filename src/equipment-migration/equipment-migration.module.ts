import { Module } from '@nestjs/common';
import { RunEngineModule } from '../run-engine/run-engine.module';
import { EquipmentMigrationCommand } from './equipment-migration.command';
import { EquipmentMigrationService } from './equipment-migration.service';
import { MigrationPages } from './migration-pages';
import { MigrationRepositories } from './migration-repositories';
import { ReportService } from './report.service';

@Module({
  imports: [RunEngineModule],
  providers: [EquipmentMigrationCommand, EquipmentMigrationService, MigrationPages, MigrationRepositories, ReportService],
  exports: [EquipmentMigrationService, ReportService],
})
export class EquipmentMigrationModule {}
