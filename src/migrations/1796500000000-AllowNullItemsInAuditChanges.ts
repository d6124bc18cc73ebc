import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail keeps SQL NULL items exactly. `assessments.equipment_items` is NOT NULL in this schema, but a
 * drifted one may allow NULL (issue 12): a migrated row that held SQL NULL records it in `previous_items`, and the
 * revert that puts it back records it in `new_items`. With both NOT NULL such a row could not be written at all.
 * `down` restores NOT NULL, first writing JSON null where SQL NULL was recorded (the only value that can stand in:
 * the rules treat both as "no items"); a revert after that restores JSON null instead of SQL NULL.
 */
export class AllowNullItemsInAuditChanges1796500000000 implements MigrationInterface {
  name = 'AllowNullItemsInAuditChanges1796500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" ALTER COLUMN "previous_items" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" ALTER COLUMN "new_items" DROP NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "equipment_migration_changes" SET "previous_items" = COALESCE("previous_items", 'null'::jsonb), "new_items" = COALESCE("new_items", 'null'::jsonb)
        WHERE "previous_items" IS NULL OR "new_items" IS NULL`,
    );
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" ALTER COLUMN "previous_items" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" ALTER COLUMN "new_items" SET NOT NULL`);
  }
}
