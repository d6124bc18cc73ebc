import { Module } from '@nestjs/common';
import { EquipmentMigrationCommand } from './equipment-migration.command';
import { EquipmentMigrationService, MIGRATION_HOOKS } from './equipment-migration.service';
import { ReportService } from './report.service';

@Module({
  providers: [EquipmentMigrationCommand, EquipmentMigrationService, ReportService, { provide: MIGRATION_HOOKS, useValue: {} }],
  exports: [EquipmentMigrationService, ReportService],
})
export class EquipmentMigrationModule {}
