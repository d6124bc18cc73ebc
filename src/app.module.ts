import { Module } from '@nestjs/common';
import { CliModule } from './cli/cli.module';
import { DatabaseModule } from './database/database.module';
import { DemoModule } from './demo/demo.module';
import { EquipmentMigrationModule } from './equipment-migration/equipment-migration.module';
import { EquipmentRevertModule } from './equipment-revert/equipment-revert.module';
import { EquipmentVerificationModule } from './equipment-verification/equipment-verification.module';
import { MigrationRunsModule } from './migration-runs/migration-runs.module';

@Module({
  imports: [CliModule, DatabaseModule, EquipmentMigrationModule, EquipmentRevertModule, EquipmentVerificationModule, MigrationRunsModule, DemoModule],
})
export class AppModule {}
