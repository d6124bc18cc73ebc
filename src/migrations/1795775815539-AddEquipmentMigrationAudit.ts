import { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit trail: one row per committed run, one row per assessment a run changed (generated from the entities). */
export class AddEquipmentMigrationAudit1795775815539 implements MigrationInterface {
  name = 'AddEquipmentMigrationAudit1795775815539';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "equipment_migration_runs" ("id" uuid NOT NULL, "kind" character varying(16) NOT NULL, "status" character varying(16) NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, "options" jsonb NOT NULL, "summary" jsonb, "database_user" character varying(128) NOT NULL, "host_name" character varying(255) NOT NULL, "tool_version" character varying(64) NOT NULL, "plan_fingerprint" character varying(64), "reverts_run_id" uuid, "reverted_by_run_id" uuid, CONSTRAINT "PK_a1dfb1e52304a2bd57a2f491993" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "equipment_migration_changes" ("run_id" uuid NOT NULL, "assessment_id" integer NOT NULL, "previous_equipment" jsonb, "previous_items" jsonb NOT NULL, "previous_reassessment_required" boolean NOT NULL, "new_equipment" jsonb, "new_items" jsonb NOT NULL, "new_reassessment_required" boolean NOT NULL, CONSTRAINT "PK_1dfde0ddf64c7c9f88e21d40135" PRIMARY KEY ("run_id", "assessment_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "equipment_migration_changes" ADD CONSTRAINT "FK_eac9b8479e0cdfa3b3429d11f83" FOREIGN KEY ("run_id") REFERENCES "equipment_migration_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "equipment_migration_changes" DROP CONSTRAINT "FK_eac9b8479e0cdfa3b3429d11f83"`);
    await queryRunner.query(`DROP TABLE "equipment_migration_changes"`);
    await queryRunner.query(`DROP TABLE "equipment_migration_runs"`);
  }
}
