import { IsBoolean, IsIn, IsInt, IsNumberString, Min, validateSync } from 'class-validator';
import { EQUIPMENT_VALUES } from './equipment-rules';
import type { RowWrite } from './assessment-migration.repository';

/** The values a migration writes to one row, checked before they reach the database. */
export class EquipmentWriteDto implements RowWrite {
  @IsInt()
  @Min(1)
  id!: number;

  @IsNumberString({ no_symbols: true })
  version!: string;

  @IsIn(EQUIPMENT_VALUES)
  equipment!: RowWrite['equipment'];

  @IsBoolean()
  clearItems!: boolean;

  @IsBoolean()
  reassessmentRequired!: boolean;

  static from(write: RowWrite): EquipmentWriteDto {
    return Object.assign(new EquipmentWriteDto(), write);
  }
}

/** Throws (a bug in the rules, never bad data) when a value about to be written is not valid. */
export function assertValidWrite(write: RowWrite): void {
  const errors = validateSync(EquipmentWriteDto.from(write));
  if (errors.length > 0) {
    const problems = errors.flatMap((e) => Object.values(e.constraints ?? {}));
    throw new Error(`Refusing to write assessment ${write.id}: ${problems.join('; ')}`);
  }
}
