import { Module } from '@nestjs/common';
import { EquipmentMigrationCommand } from './equipment-migration.command';
import { EquipmentMigrationService, MIGRATION_HOOKS } from './equipment-migration.service';
import { GuardedTransactionRunner } from './guarded-transaction';
import { ReportService } from './report.service';

@Module({
  providers: [
    EquipmentMigrationCommand,
    EquipmentMigrationService,
    GuardedTransactionRunner,
    ReportService,
    { provide: MIGRATION_HOOKS, useValue: {} },
  ],
  exports: [EquipmentMigrationService, GuardedTransactionRunner, ReportService],
})
export class EquipmentMigrationModule {}
