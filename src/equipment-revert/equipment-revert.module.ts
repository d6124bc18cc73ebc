import { Module } from '@nestjs/common';
import { RunEngineModule } from '../run-engine/run-engine.module';
import { RevertEquipmentMigrationCommand } from './revert-equipment-migration.command';
import { RevertService } from './revert.service';

@Module({
  imports: [RunEngineModule],
  providers: [RevertEquipmentMigrationCommand, RevertService],
})
export class EquipmentRevertModule {}
