import { randomUUID } from 'node:crypto';
import { QueryRunner } from 'typeorm';
import { AssessmentMigrationRepository, RowWrite } from '../../src/equipment-migration/assessment-migration.repository';
import { useTestSuite } from '../helpers/suite';

/**
 * A page is written at the location (ctid) each row was read from, with its values before taken from the version
 * stored there. A table rewritten between the read and the write (VACUUM FULL or CLUSTER between an online run's pages, say)
 * moves rows, and rows inserted by one statement share their version (xmin): a location may then hold another row
 * at the same version. Nothing may be written there; the rows count as changed, and once re-read they are written
 * at their new locations with exactly their own values before.
 */
describe('page writes by location (real PostgreSQL)', () => {
  let queryRunner: QueryRunner;
  let other: QueryRunner;
  const { db } = useTestSuite({ teardown: async () => Promise.all([queryRunner?.release(), other?.release()]) });

  beforeAll(async () => {
    queryRunner = db.dataSource.createQueryRunner();
    other = db.dataSource.createQueryRunner();
    await Promise.all([queryRunner.connect(), other.connect()]);
  });

  const locations = async () =>
    new Map<number, string>((await other.query('SELECT id, ctid::text AS location FROM assessments')).map((r: { id: number; location: string }) => [r.id, r.location]));

  it('writes nothing at a location that holds another row at the same version; writes each row at its new location once re-read', async () => {
    const [user] = await other.query(`INSERT INTO users (email) VALUES ('location@example.com') RETURNING id`);
    // One statement: every row has the same xmin. CLUSTER on a descending index reverses them: each row moves onto
    // the location another row was read from. (Not VACUUM FULL after a delete: in a full run of the suite the
    // deleted row was once kept, as still visible to some snapshot, and then nothing moved.)
    await other.query(
      `INSERT INTO assessments (user_id, equipment, equipment_items)
       SELECT $1, to_jsonb(ARRAY['no_equipment', CASE WHEN n % 2 = 0 THEN 'full_gym' ELSE 'basic_equipment' END]), to_jsonb(ARRAY['item ' || n])
         FROM generate_series(1, 10) AS n`,
      [user.id],
    );
    const ids: number[] = (await other.query('SELECT id FROM assessments ORDER BY id')).map((r: { id: number }) => r.id);
    await other.query('CREATE INDEX assessments_id_descending ON assessments (id DESC)');
    const original = await other.query('SELECT id, equipment::text AS equipment, equipment_items::text AS items FROM assessments ORDER BY id');

    const repository = new AssessmentMigrationRepository(queryRunner, randomUUID());
    const page = await repository.readPage(ids[0] - 1, ids[9], 100);
    expect(page.rows.map((r) => r.id)).toEqual(ids);
    await other.query('CLUSTER assessments USING assessments_id_descending');
    const moved = await locations();
    // The test only means something if the rows moved onto locations read for other rows, at the same version.
    expect(page.rows.every((r) => moved.get(r.id) !== r.location)).toBe(true);
    expect(new Set(moved.values())).toEqual(new Set(page.rows.map((r) => r.location)));
    expect(new Set(page.rows.map((r) => r.version)).size).toBe(1);

    const writesFor = (rows: typeof page.rows): RowWrite[] =>
      rows.map((r) => ({ id: r.id, version: r.version, location: r.location, equipment: 'no_equipment', clearItems: true, reassessmentRequired: false }));
    await queryRunner.startTransaction();
    try {
      const first = await repository.writePage(writesFor(page.rows));
      expect([...first.written]).toEqual([]);
      expect(first.refused.size).toBe(0);
      expect(await queryRunner.query('SELECT id, equipment::text AS equipment, equipment_items::text AS items FROM assessments ORDER BY id')).toEqual(original);
      expect(await queryRunner.query('SELECT count(*)::int AS n FROM equipment_migration_changes')).toEqual([{ n: 0 }]);

      const reread = await repository.rereadLocked(ids);
      expect(reread.map((r) => r.location)).toEqual(ids.map((id) => moved.get(id)));
      const second = await repository.writePage(writesFor(reread));
      expect([...second.written].sort((a, b) => a - b)).toEqual(ids);
      expect(await queryRunner.query(`SELECT DISTINCT equipment::text AS equipment, equipment_items::text AS items FROM assessments`)).toEqual([
        { equipment: '"no_equipment"', items: '[]' },
      ]);
      // Each audit row holds its own row's values before, read from the version written.
      const audit = await queryRunner.query(
        `SELECT assessment_id AS id, previous_equipment::text AS equipment, previous_items::text AS items, user_id FROM equipment_migration_changes ORDER BY assessment_id`,
      );
      expect(audit.map(({ id, equipment, items }: { id: number; equipment: string; items: string }) => ({ id, equipment, items }))).toEqual(original);
      expect(audit.every((r: { user_id: number }) => r.user_id === user.id)).toBe(true);
    } finally {
      await queryRunner.rollbackTransaction();
    }
  });
});
