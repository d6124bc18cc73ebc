import { join } from 'node:path';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';

const fingerprintOf = (stdout: string[]) => stdout.find((line) => line.startsWith('Plan fingerprint: '))!.slice('Plan fingerprint: '.length);

describe('reviewed plans (--expect-plan)', () => {
  const suite = useTestSuite({ perTest: true, folder: 'expect-plan-' });
  const { db, migrate, run } = suite;

  beforeEach(async () => {
    await seedMix(db.dataSource, 200, { valid: 140, multi: 30, odd: 10, flag: 12, error: 8 });
  });

  it('a dry run and a real run of the same data print the same fingerprint, whatever the batch size', async () => {
    const dry = await migrate(['--dry-run', '--batch-size', '7']);
    const real = await migrate();
    expect(fingerprintOf(dry.stdout)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf(real.stdout)).toBe(fingerprintOf(dry.stdout));
    const [run] = await db.dataSource.query('SELECT plan_fingerprint FROM equipment_migration_runs');
    expect(run.plan_fingerprint).toBe(fingerprintOf(dry.stdout));
  });

  it('a real run with the reviewed fingerprint commits', async () => {
    const dry = await migrate(['--dry-run']);
    const real = await migrate(['--expect-plan', fingerprintOf(dry.stdout)]);
    expect(real.exitCode).toBe(0);
    expect(real.stdout).toContain('Migrated: 40');
  });

  it('a real run whose data changed since the review rolls back and exits 1', async () => {
    const dry = await migrate(['--dry-run']);
    await db.dataSource.query(`UPDATE assessments SET equipment = '["no_equipment","full_gym"]' WHERE id = (SELECT min(id) FROM assessments WHERE equipment = '"no_equipment"')`);
    const before = await snapshotAssessments(db.dataSource);
    const real = await migrate(['--expect-plan', fingerprintOf(dry.stdout)]);
    expect(real.exitCode).toBe(1);
    expect(real.stderr.join('\n')).toMatch(/The plan differs from the reviewed one .*rolled back, nothing was changed/);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    expect((await db.dataSource.query('SELECT count(*)::int AS n FROM equipment_migration_runs'))[0].n).toBe(0);
  });

  it('given the dry run report, names how many rows differ', async () => {
    const reportPath = join(suite.folder, 'report.json');
    const dry = await migrate(['--dry-run', '--save-report', reportPath]);
    expect(dry.exitCode).toBe(0);
    // Two rows change after the review: one canonical row becomes legacy (newly planned), one legacy row canonical (no longer planned).
    await db.dataSource.query(`UPDATE assessments SET equipment = '"full_gym"' WHERE id = (SELECT min(id) FROM assessments WHERE jsonb_typeof(equipment) = 'array')`);
    await db.dataSource.query(`UPDATE assessments SET equipment = '["no_equipment","full_gym"]' WHERE id = (SELECT min(id) FROM assessments WHERE equipment = '"no_equipment"')`);
    const real = await migrate(['--expect-plan', reportPath]);
    expect(real.exitCode).toBe(1);
    expect(real.stderr.join('\n')).toContain('The plan differs from the reviewed one in 2 rows');
    const same = await migrate(['--dry-run', '--save-report', reportPath]);
    expect((await migrate(['--expect-plan', reportPath])).exitCode).toBe(0);
    expect(same.exitCode).toBe(0);
  });

  it('refuses a malformed fingerprint or an unreadable report before touching the database', async () => {
    const missing = await run(['migrate-equipment', '--expect-plan', '/nonexistent/report.json']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stdout.some((line) => line.startsWith('Database:'))).toBe(false);
    const result = await run(['migrate-equipment', '--expect-plan', 'abc']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout.some((line) => line.startsWith('Database:'))).toBe(false);
  });
});
