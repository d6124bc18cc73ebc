import { join } from 'node:path';
import { readReport, reportSchemaErrors } from '../helpers/migration-checks';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';
import { TestDatabase } from '../helpers/test-database';

/**
 * Ids anywhere in the int range: 0, negatives, -2147483648 and 2147483647. The migration's and the revert's keysets
 * start below the lowest id, which must neither overflow int nor skip ids at or below 0.
 */
const IDS = [-2147483648, -2147483647, -5, 0, 1, 2, 2147483646, 2147483647];

const contents = async (db: TestDatabase) =>
  (await db.dataSource.query(`SELECT id, (to_jsonb(a) - 'updated_at')::text AS row FROM assessments a ORDER BY id`)) as { id: number; row: string }[];

const lastRunId = async (db: TestDatabase, kind = 'migrate') =>
  (await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = $1 ORDER BY started_at DESC LIMIT 1`, [kind]))[0]?.id as string;

describe('ids at the ends of the int range', () => {
  const suite = useTestSuite({ perTest: true, folder: 'extreme-ids-' });
  const { db, migrate } = suite;

  beforeEach(async () => {
    // Users with ids at the extremes too: user_id is reported as well.
    await db.dataSource.query(
      `INSERT INTO users (id, email) SELECT id, 'user' || id || '@example.com' FROM unnest($1::int[]) AS id`,
      [IDS],
    );
    await db.dataSource.query(
      `INSERT INTO assessments (id, user_id, equipment, equipment_items)
       SELECT id, id, '["no_equipment", "Full Gym"]'::jsonb, '["mat"]'::jsonb FROM unnest($1::int[]) AS id`,
      [IDS],
    );
  });

  it.each([1, 3, 5000])('migrates every row, the lowest id included, at batch size %i; the report validates', async (batchSize) => {
    const reportPath = join(suite.folder, `report-${batchSize}.json`);
    const result = await migrate(['--batch-size', String(batchSize), '--save-report', reportPath]);
    expect(result.stderr).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(printedCounts(result.stdout)).toEqual({ total_processed: IDS.length, migrated: IDS.length, flagged: 0, skipped: 0, errors: 0 });
    const rows: { id: number; equipment: string }[] = await db.dataSource.query(`SELECT id, equipment::text AS equipment FROM assessments ORDER BY id`);
    expect(rows).toEqual(IDS.map((id) => ({ id, equipment: '"full_gym"' })));
    const report = readReport(reportPath);
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.details.map((d) => [d.assessment_id, d.user_id])).toEqual(IDS.map((id) => [id, id]));
  });

  it('revert restores every row the run changed, ids at or below 0 included, and its counts add up', async () => {
    const start = await contents(db);
    expect((await migrate(['--batch-size', '2'])).exitCode).toBe(0);
    const result = await suite.run(['revert-equipment-migration', await lastRunId(db), '--batch-size', '3']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^Found ${IDS.length} changed assessments`)), `Total Processed: ${IDS.length}`, `Reverted: ${IDS.length}`]),
    );
    expect(await contents(db)).toEqual(start);
  });

  it('a revert whose counts do not add up fails (exit 1) and changes nothing: the run stays revertible', async () => {
    expect((await migrate()).exitCode).toBe(0);
    const runId = await lastRunId(db);
    // An operator's trigger that records an extra change for the reverted run while the revert writes its own:
    // the revert then decides more rows than it counted at the start.
    await db.dataSource.query(`CREATE FUNCTION grow_changes() RETURNS trigger AS $$
      BEGIN
        IF NEW.run_id <> '${runId}' THEN
          INSERT INTO equipment_migration_changes (run_id, assessment_id, previous_items, previous_reassessment_required, new_items, new_reassessment_required)
          VALUES ('${runId}', 2147483647 - NEW.assessment_id % 1000 - 1000, '[]', false, '[]', false) ON CONFLICT DO NOTHING;
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await db.dataSource.query(`CREATE TRIGGER grow_changes AFTER INSERT ON equipment_migration_changes FOR EACH ROW EXECUTE FUNCTION grow_changes()`);
    const migrated = await contents(db);

    const result = await suite.run(['revert-equipment-migration', runId, '--batch-size', '2']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.join('\n')).toMatch(new RegExp(`The revert decided \\d+ of the ${IDS.length} changed assessments; rolled back, nothing was changed`));
    expect(await contents(db)).toEqual(migrated);
    const [run] = await db.dataSource.query(`SELECT status FROM equipment_migration_runs WHERE id = $1`, [runId]);
    expect(run.status).not.toBe('reverted');
    expect(await lastRunId(db, 'revert')).toBeUndefined();
  });
});
