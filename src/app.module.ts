import { Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { CliModule } from './cli/cli.module';
import { DatabaseModule } from './database/database.module';
import { DemoModule } from './demo/demo.module';
import { EquipmentMigrationModule } from './equipment-migration/equipment-migration.module';
import { EquipmentVerificationModule } from './equipment-verification/equipment-verification.module';

@Module({
  imports: [CliModule, DatabaseModule, EquipmentMigrationModule, EquipmentVerificationModule, AuditModule, DemoModule],
})
export class AppModule {}
