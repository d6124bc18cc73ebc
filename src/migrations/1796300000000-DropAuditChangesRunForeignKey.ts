import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail without the per-row foreign-key trigger: equipment_migration_changes keeps its composite primary key
 * (run_id, assessment_id), which the revert reads in order, but no longer references equipment_migration_runs. The
 * RI trigger fired once per recorded row and cost more than the rest of the audit write together (issue 14). A run's
 * row and its changes are written in the same transaction, so they commit or vanish together; that every change has
 * its run is checked by the tests. `down` restores the foreign key, first removing changes whose run is gone (the
 * cascade would have removed them).
 */
export class DropAuditChangesRunForeignKey1796300000000 implements MigrationInterface {
  name = 'DropAuditChangesRunForeignKey1796300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" DROP CONSTRAINT "FK_eac9b8479e0cdfa3b3429d11f83"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DELETE FROM "equipment_migration_changes" AS c WHERE NOT EXISTS (SELECT 1 FROM "equipment_migration_runs" AS r WHERE r."id" = c."run_id")`,
    );
    await queryRunner.query(
      `ALTER TABLE "equipment_migration_changes" ADD CONSTRAINT "FK_eac9b8479e0cdfa3b3429d11f83" FOREIGN KEY ("run_id") REFERENCES "equipment_migration_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }
}
