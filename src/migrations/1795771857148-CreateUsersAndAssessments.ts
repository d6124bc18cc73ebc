import { MigrationInterface, QueryRunner } from 'typeorm';

/** users and assessments, as the schema contract spells them (generated from the entities, then reviewed). */
export class CreateUsersAndAssessments1795771857148 implements MigrationInterface {
  name = 'CreateUsersAndAssessments1795771857148';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "users" ("id" SERIAL NOT NULL, "email" character varying(254) NOT NULL, CONSTRAINT "UQ_97672ac88f789774dd47f7c8be3" UNIQUE ("email"), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "assessments" ("id" SERIAL NOT NULL, "user_id" integer NOT NULL, "sport" character varying(64), "age" integer, "experience" character varying(32), "equipment" jsonb, "equipment_items" jsonb NOT NULL DEFAULT '[]', "equipment_reassessment_required" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a3442bd80a00e9111cefca57f6c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "assessments" ADD CONSTRAINT "FK_fea6577dc5ea31653d99fe4b649" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "assessments" DROP CONSTRAINT "FK_fea6577dc5ea31653d99fe4b649"`);
    await queryRunner.query(`DROP TABLE "assessments"`);
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
