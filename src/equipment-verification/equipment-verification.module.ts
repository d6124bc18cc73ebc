import { Module } from '@nestjs/common';
import { EquipmentVerificationService } from './equipment-verification.service';
import { VerifyEquipmentCommand } from './verify-equipment.command';

@Module({ providers: [VerifyEquipmentCommand, EquipmentVerificationService] })
export class EquipmentVerificationModule {}
