import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { insertArbitraryRows, reportSchemaErrors } from '../helpers/migration-checks';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * A BEFORE UPDATE trigger that rewrites what the migration writes: the counts, the before → after table and the report
 * follow what the database stored (the UPDATE's RETURNING), and each rewritten row is an error row saying so.
 */
describe('a trigger rewriting the written values (real PostgreSQL)', () => {
  const suite = useTestSuite({ folder: 'rewriting-trigger-' });
  const { db, migrate } = suite;

  beforeAll(async () => {
    const base = { sport: null, age: null, experience: null, itemsJson: '[]', flag: false };
    await insertArbitraryRows(db.dataSource, [
      { ...base, email: 'gym.0@example.com', equipmentJson: '["Full Gym"]' },
      { ...base, email: 'gym.1@example.com', equipmentJson: '"Full Gym"' },
      { ...base, email: 'none.0@example.com', equipmentJson: '["no_equipment"]' },
    ]);
    await db.dataSource.query(`
      CREATE FUNCTION no_gyms() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.equipment = '"full_gym"'::jsonb THEN NEW.equipment := '"no_equipment"'::jsonb; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER no_gyms BEFORE UPDATE ON assessments FOR EACH ROW EXECUTE FUNCTION no_gyms();`);
  });

  it('reports what was stored: rewritten rows are errors naming both values, the table counts the stored values', async () => {
    const path = join(suite.folder, 'report.json');
    const result = await migrate(['--save-report', path]);
    expect(result.exitCode).toBe(0);

    const stored: { equipment: string }[] = await db.dataSource.query(`SELECT equipment::text AS equipment FROM assessments ORDER BY id`);
    expect(stored.map((r) => r.equipment)).toEqual(['"no_equipment"', '"no_equipment"', '"no_equipment"']);

    expect(printedCounts(result.stdout)).toEqual({ total_processed: 3, migrated: 1, flagged: 0, skipped: 0, errors: 2 });
    expect(result.stdout).toContain('  full_gym          0 → 0');
    expect(result.stdout).toContain('  no_equipment      0 → 3');
    expect(result.stderr).toContain('Warning: 2 rows hold other values than the migration wrote (a trigger rewrote them); they are reported as errors');

    const report = JSON.parse(readFileSync(path, 'utf8'));
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.distribution.after).toEqual({ full_gym: 0, basic_equipment: 0, no_equipment: 3, other: 0 });
    const reason = 'the database stored "no_equipment" instead of "full_gym" (a trigger?); the row was written with the stored values';
    expect(report.details.map((d: { status: string; reason?: string }) => [d.status, d.reason])).toEqual([
      ['error', reason],
      ['error', reason],
      ['migrated', undefined],
    ]);
    expect(result.stdout.filter((l) => l.startsWith('Error in assessment '))).toHaveLength(2);
  });
});
