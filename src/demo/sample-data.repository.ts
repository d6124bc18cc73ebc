import { QueryRunner } from 'typeorm';
import { Assessment } from '../entities/assessment.entity';
import { User } from '../entities/user.entity';
import { SampleAssessment } from './sample-assessments';

/** Demo users' emails look like this; rows of other users are never touched by seed-demo. */
export const DEMO_EMAIL_PATTERN = 'demo.user.%@example.com';

/** SQL for loading sample assessments: set-based inserts through unnest, a batch per statement. */
export class SampleDataRepository {
  constructor(private readonly queryRunner: QueryRunner) {}

  private names() {
    const connection = this.queryRunner.connection;
    const escape = (n: string) => connection.driver.escape(n);
    const a = connection.getMetadata(Assessment);
    const u = connection.getMetadata(User);
    const col = (meta: typeof a, property: string) => escape(meta.findColumnWithPropertyName(property)!.databaseName);
    return {
      assessments: escape(a.tableName),
      users: escape(u.tableName),
      userId: col(a, 'userId'),
      sport: col(a, 'sport'),
      age: col(a, 'age'),
      experience: col(a, 'experience'),
      equipment: col(a, 'equipment'),
      items: col(a, 'equipmentItems'),
      flag: col(a, 'equipmentReassessmentRequired'),
      usersId: col(u, 'id'),
      email: col(u, 'email'),
    };
  }

  /** Counts assessments whose user is not a demo user. */
  async countForeignAssessments(): Promise<number> {
    const n = this.names();
    const [row] = await this.queryRunner.query(
      `SELECT count(*)::int AS count FROM ${n.assessments} a JOIN ${n.users} u ON u.${n.usersId} = a.${n.userId}
        WHERE u.${n.email} NOT LIKE $1`,
      [DEMO_EMAIL_PATTERN],
    );
    return row.count;
  }

  /** Deletes demo users (their assessments go with them: ON DELETE CASCADE). */
  async deleteDemoData(): Promise<number> {
    const n = this.names();
    const [, deleted] = await this.queryRunner.query(`DELETE FROM ${n.users} WHERE ${n.email} LIKE $1`, [DEMO_EMAIL_PATTERN]);
    return deleted ?? 0;
  }

  /** Inserts one user and one assessment per sample, in one round trip per table. */
  async insert(samples: SampleAssessment[]): Promise<void> {
    if (samples.length === 0) return;
    const n = this.names();
    await this.queryRunner.query(
      `WITH new_users AS (
         INSERT INTO ${n.users} (${n.email}) SELECT unnest($1::text[]) RETURNING ${n.usersId} AS id, ${n.email} AS email
       )
       INSERT INTO ${n.assessments} (${n.userId}, ${n.sport}, ${n.age}, ${n.experience}, ${n.equipment}, ${n.items}, ${n.flag})
       SELECT nu.id, s.sport, s.age, s.experience, s.equipment::jsonb, s.items::jsonb, s.flag
         FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::bool[])
              WITH ORDINALITY AS s(email, sport, age, experience, equipment, items, flag, n)
         JOIN new_users nu ON nu.email = s.email
        ORDER BY s.n`,
      [
        samples.map((s) => s.email),
        samples.map((s) => s.sport),
        samples.map((s) => s.age),
        samples.map((s) => s.experience),
        samples.map((s) => s.equipmentJson),
        samples.map((s) => s.itemsJson),
        samples.map((s) => s.reassessmentRequired),
      ],
    );
  }
}
