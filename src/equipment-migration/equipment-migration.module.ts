import { Module } from '@nestjs/common';
import { EquipmentMigrationCommand } from './equipment-migration.command';
import { EquipmentMigrationService, MIGRATION_HOOKS } from './equipment-migration.service';
import { RunEngineModule } from '../run-engine/run-engine.module';
import { ReportService } from './report.service';

@Module({
  imports: [RunEngineModule],
  providers: [
    EquipmentMigrationCommand,
    EquipmentMigrationService,
    ReportService,
    { provide: MIGRATION_HOOKS, useValue: {} },
  ],
  exports: [EquipmentMigrationService, ReportService],
})
export class EquipmentMigrationModule {}
