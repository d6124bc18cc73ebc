import { Module } from '@nestjs/common';
import { CliModule } from './cli/cli.module';
import { DatabaseModule } from './database/database.module';
import { DemoModule } from './demo/demo.module';
import { EquipmentMigrationModule } from './equipment-migration/equipment-migration.module';

@Module({
  imports: [CliModule, DatabaseModule, EquipmentMigrationModule, DemoModule],
})
export class AppModule {}
