import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';

/** The guide's worked example: 150 assessments, 25 to migrate, 10 to flag, 115 already valid, no errors. */
describe('the guide worked example (150 rows)', () => {
  const suite = useTestSuite({ folder: 'guide-example-' });
  const { db, migrate } = suite;

  beforeAll(async () => {
    await seedMix(db.dataSource, 150, { valid: 115, migrate: 25, flag: 10, error: 0 });
  });

  const databaseLine = () => `Database: ${new URL(db.url).hostname}:${new URL(db.url).port || 5432}/${db.name} (user ${decodeURIComponent(new URL(db.url).username) || 'postgres'})`;

  it('dry run prints exactly the guide lines and changes nothing', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await migrate(['--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toEqual([
      databaseLine(),
      'Starting equipment data migration...',
      'DRY RUN MODE - No changes will be saved',
      'Found 150 assessments to process',
      'Rolling back changes (dry run mode)',
      '',
      '--- Migration Report ---',
      'Total Processed: 150',
      'Migrated: 25',
      'Flagged for Re-assessment: 10',
      'Skipped (Already Valid): 115',
      'Errors: 0',
      '',
      'Equipment before → after:',
      expect.stringMatching(/^  full_gym +\d+ → +\d+$/),
      expect.stringMatching(/^  basic_equipment +\d+ → +\d+$/),
      expect.stringMatching(/^  no_equipment +\d+ → +\d+$/),
      expect.stringMatching(/^  legacy or invalid +\d+ → +0$/),
      '',
      expect.stringMatching(/^Plan fingerprint: [0-9a-f]{64}$/),
      'Migration completed successfully!',
    ]);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('real run with a report prints exactly the guide lines, and a second run finds nothing to do', async () => {
    const reportPath = join(suite.folder, 'equipment_migration.json');
    const distribution = async () =>
      (
        await db.dataSource.query(
          `SELECT count(*) FILTER (WHERE equipment = '"full_gym"')::int AS full_gym, count(*) FILTER (WHERE equipment = '"basic_equipment"')::int AS basic_equipment,
                  count(*) FILTER (WHERE equipment = '"no_equipment"')::int AS no_equipment, count(*)::int AS total FROM assessments`,
        )
      ).map(({ total, ...canonical }: Record<string, number>) => ({ ...canonical, other: total - canonical.full_gym - canonical.basic_equipment - canonical.no_equipment }))[0];
    const before = await distribution();
    const result = await migrate(['--save-report', reportPath]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toEqual([
      databaseLine(),
      'Starting equipment data migration...',
      'Found 150 assessments to process',
      '',
      '--- Migration Report ---',
      'Total Processed: 150',
      'Migrated: 25',
      'Flagged for Re-assessment: 10',
      'Skipped (Already Valid): 115',
      'Errors: 0',
      '',
      'Equipment before → after:',
      expect.stringMatching(/^  full_gym +\d+ → +\d+$/),
      expect.stringMatching(/^  basic_equipment +\d+ → +\d+$/),
      expect.stringMatching(/^  no_equipment +\d+ → +\d+$/),
      expect.stringMatching(/^  legacy or invalid +\d+ → +0$/),
      '',
      expect.stringMatching(/^Plan fingerprint: [0-9a-f]{64}$/),
      `Report saved to: ${reportPath}`,
      'Migration completed successfully!',
    ]);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.summary).toEqual({ total_processed: 150, migrated: 25, flagged: 10, skipped: 115, errors: 0 });
    // The distribution: what the table held before the run, and what it holds now.
    const now = await distribution();
    expect(report.distribution).toEqual({ before, after: now });
    expect(now.other).toBe(0);
    expect(result.stdout).toContain(`  full_gym          ${String(before.full_gym).padStart(2)} → ${now.full_gym}`);
    expect(report.details).toHaveLength(35);

    const afterFirst = await snapshotAssessments(db.dataSource);
    const rerun = await migrate();
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain('Migrated: 0');
    expect(rerun.stdout).toContain('Flagged for Re-assessment: 0');
    expect(rerun.stdout).toContain('Skipped (Already Valid): 150');
    // Nothing written at all: same bytes and same row versions.
    expect(await snapshotAssessments(db.dataSource)).toEqual(afterFirst);
  });
});
