import { Module } from '@nestjs/common';
import { EquipmentMigrationCommand } from './equipment-migration.command';
import { EquipmentMigrationService } from './equipment-migration.service';
import { ReportService } from './report.service';

@Module({
  providers: [EquipmentMigrationCommand, EquipmentMigrationService, ReportService],
  exports: [EquipmentMigrationService, ReportService],
})
export class EquipmentMigrationModule {}
