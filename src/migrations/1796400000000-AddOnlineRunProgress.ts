import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Online runs (issue 13): a run's mode, its fixed scope and its checkpoint (resume from it), the error rows of every
 * run (so any recorded run's report can be built again from the database), and each change's user id (the report
 * names it even when the assessment is deleted later). Statuses gain 'interrupted' and 'failed' (varchar, no
 * constraint to change).
 */
export class AddOnlineRunProgress1796400000000 implements MigrationInterface {
  name = 'AddOnlineRunProgress1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "equipment_migration_runs" ADD "mode" character varying(16) NOT NULL DEFAULT 'atomic'`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_runs" ADD "scope" jsonb`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_runs" ADD "checkpoint" jsonb`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" ADD "user_id" integer`);
    await queryRunner.query(
      `CREATE TABLE "equipment_migration_errors" (
         "run_id" uuid NOT NULL,
         "assessment_id" integer NOT NULL,
         "user_id" integer NOT NULL,
         "user_email" character varying(254),
         "reason" text NOT NULL,
         "original_equipment" jsonb,
         "original_items" jsonb,
         CONSTRAINT "PK_equipment_migration_errors" PRIMARY KEY ("run_id", "assessment_id")
       )`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "equipment_migration_errors"`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" DROP COLUMN "user_id"`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_runs" DROP COLUMN "checkpoint"`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_runs" DROP COLUMN "scope"`);
    await queryRunner.query(`ALTER TABLE "equipment_migration_runs" DROP COLUMN "mode"`);
  }
}
