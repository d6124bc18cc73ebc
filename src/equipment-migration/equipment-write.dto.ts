import { IsBoolean, IsIn, validateSync } from 'class-validator';
import { EQUIPMENT_VALUES, EquipmentWrite } from './equipment-rules';
import type { RowWrite } from './assessment-migration.repository';

/** The values a migration writes to one row (equipment, items, flag), checked before they reach the database. */
export class EquipmentWriteDto {
  @IsIn(EQUIPMENT_VALUES)
  equipment!: RowWrite['equipment'];

  @IsBoolean()
  clearItems!: boolean;

  @IsBoolean()
  reassessmentRequired!: boolean;
}

/**
 * Validates every write with EquipmentWriteDto. The written values take only a dozen distinct combinations, so each
 * combination is validated once and remembered: millions of rows cost a dozen class-validator calls. A write object
 * already seen (outcomes are shared between rows of one shape, see OutcomeCache) is known without building its key.
 * A failure is a bug in the rules, never bad data: it aborts the run.
 */
export class WriteValidator {
  private readonly valid = new Set<string>();
  private readonly seen = new WeakSet<EquipmentWrite>();

  /** Throws unless `write` (for assessment `id`) holds values the migration may write. */
  check(write: EquipmentWrite, id: number): void {
    if (this.seen.has(write)) return;
    const clearItems = write.items === 'clear';
    const key = write.equipment + (clearItems ? '1' : '0') + (write.reassessmentRequired ? '1' : '0');
    if (!this.valid.has(key)) {
      const dto = Object.assign(new EquipmentWriteDto(), { equipment: write.equipment, clearItems, reassessmentRequired: write.reassessmentRequired });
      const problems = validateSync(dto).flatMap((e) => Object.values(e.constraints ?? {}));
      if (problems.length > 0) throw new Error(`Refusing to write assessment ${id}: ${problems.join('; ')}`);
      this.valid.add(key);
    }
    this.seen.add(write);
  }
}
