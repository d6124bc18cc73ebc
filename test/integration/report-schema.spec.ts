import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { insertArbitraryRows, reportSchemaErrors } from '../helpers/migration-checks';
import { useTestSuite } from '../helpers/suite';

/**
 * Every report the tool writes matches report.schema.json, for rows no fixture holds: an assessment whose user is gone
 * (user_email null) and a legacy value nested 2,000 levels deep (embedded as its JSON text, with a flag).
 */

const nested = (depth: number) => `${'['.repeat(depth)}"Full Gym"${']'.repeat(depth)}`;
const depthOf = (value: unknown): number =>
  value === null || typeof value !== 'object' ? 0 : 1 + Math.max(0, ...Object.values(value as object).map(depthOf));

describe('report file against the published schema (real PostgreSQL)', () => {
  const suite = useTestSuite({ folder: 'report-schema-' });
  const { db, migrate } = suite;

  beforeAll(async () => {
    const base = { sport: null, age: null, experience: null, itemsJson: '[]', flag: false };
    await insertArbitraryRows(db.dataSource, [
      { ...base, email: 'orphan@example.com', equipmentJson: '"gym"' },
      { ...base, email: 'deep@example.com', equipmentJson: nested(2000) },
      { ...base, email: 'fine@example.com', equipmentJson: '["Full Gym"]' },
    ]);
    // An orphaned assessment: its user deleted behind the foreign key's back (as a restore without constraints leaves).
    const [{ conname }] = await db.dataSource.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'assessments'::regclass AND contype = 'f'`,
    );
    await db.dataSource.query(`ALTER TABLE assessments DROP CONSTRAINT "${conname}"`);
    await db.dataSource.query(`DELETE FROM users WHERE email = 'orphan@example.com'`);
  });

  it('an orphaned row gets user_email null, a 2,000-deep value is embedded as text; the file validates', async () => {
    const path = join(suite.folder, 'report.json');
    const result = await migrate(['--dry-run', '--save-report', path]);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(readFileSync(path, 'utf8'));
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(depthOf(report)).toBeLessThan(100); // jq 1.6 stops at 256 levels

    const [orphan, deep, fine] = report.details;
    expect(orphan).toMatchObject({ user_email: null, status: 'error', original_equipment: 'gym' });
    expect(result.stdout).toContain(`Error in assessment ${orphan.assessment_id} (no user): ${orphan.reason}`);

    expect(deep).toMatchObject({ user_email: 'deep@example.com', status: 'error', original_equipment_as_text: true });
    expect(JSON.parse(deep.original_equipment)).toEqual(JSON.parse(nested(2000)));
    expect(fine).toMatchObject({ status: 'migrated', original_equipment: ['Full Gym'] });
    expect(fine).not.toHaveProperty('original_equipment_as_text');
  });
});
