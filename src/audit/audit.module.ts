import { Module } from '@nestjs/common';
import { EquipmentMigrationModule } from '../equipment-migration/equipment-migration.module';
import { MigrationRunsCommand, MigrationRunsService } from './migration-runs.command';
import { RevertEquipmentMigrationCommand } from './revert-equipment-migration.command';
import { RevertService } from './revert.service';

@Module({
  imports: [EquipmentMigrationModule],
  providers: [MigrationRunsCommand, MigrationRunsService, RevertEquipmentMigrationCommand, RevertService],
})
export class AuditModule {}
