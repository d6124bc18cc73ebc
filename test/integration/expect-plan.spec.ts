import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../helpers/cli-harness';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';

const fingerprintOf = (stdout: string[]) => stdout.find((line) => line.startsWith('Plan fingerprint: '))!.slice('Plan fingerprint: '.length);

describe('reviewed plans (--expect-plan)', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
    await seedMix(db.dataSource, 200, { valid: 140, multi: 30, odd: 10, flag: 12, error: 8 });
  });

  afterEach(async () => {
    await db.drop();
  });

  it('a dry run and a real run of the same data print the same fingerprint, whatever the batch size', async () => {
    const dry = await runCommand(['migrate-equipment', '--dry-run', '--no-progress', '--batch-size', '7'], db.env);
    const real = await runCommand(['migrate-equipment', '--no-progress'], db.env);
    expect(fingerprintOf(dry.stdout)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf(real.stdout)).toBe(fingerprintOf(dry.stdout));
    const [run] = await db.dataSource.query('SELECT plan_fingerprint FROM equipment_migration_runs');
    expect(run.plan_fingerprint).toBe(fingerprintOf(dry.stdout));
  });

  it('a real run with the reviewed fingerprint commits', async () => {
    const dry = await runCommand(['migrate-equipment', '--dry-run', '--no-progress'], db.env);
    const real = await runCommand(['migrate-equipment', '--no-progress', '--expect-plan', fingerprintOf(dry.stdout)], db.env);
    expect(real.exitCode).toBe(0);
    expect(real.stdout).toContain('Migrated: 40');
  });

  it('a real run whose data changed since the review rolls back and exits 1', async () => {
    const dry = await runCommand(['migrate-equipment', '--dry-run', '--no-progress'], db.env);
    await db.dataSource.query(`UPDATE assessments SET equipment = '["no_equipment","full_gym"]' WHERE id = (SELECT min(id) FROM assessments WHERE equipment = '"no_equipment"')`);
    const before = await snapshotAssessments(db.dataSource);
    const real = await runCommand(['migrate-equipment', '--no-progress', '--expect-plan', fingerprintOf(dry.stdout)], db.env);
    expect(real.exitCode).toBe(1);
    expect(real.stderr.join('\n')).toMatch(/The plan differs from the reviewed one .*rolled back, nothing was changed/);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    expect((await db.dataSource.query('SELECT count(*)::int AS n FROM equipment_migration_runs'))[0].n).toBe(0);
  });

  it('given the dry run report, names how many rows differ', async () => {
    const reportPath = join(tmpdir(), `expect-plan-${process.pid}-${Date.now()}.json`);
    const dry = await runCommand(['migrate-equipment', '--dry-run', '--no-progress', '--save-report', reportPath], db.env);
    expect(dry.exitCode).toBe(0);
    try {
      // Two rows change after the review: one canonical row becomes legacy (newly planned), one legacy row canonical (no longer planned).
      await db.dataSource.query(`UPDATE assessments SET equipment = '"full_gym"' WHERE id = (SELECT min(id) FROM assessments WHERE jsonb_typeof(equipment) = 'array')`);
      await db.dataSource.query(`UPDATE assessments SET equipment = '["no_equipment","full_gym"]' WHERE id = (SELECT min(id) FROM assessments WHERE equipment = '"no_equipment"')`);
      const real = await runCommand(['migrate-equipment', '--no-progress', '--expect-plan', reportPath], db.env);
      expect(real.exitCode).toBe(1);
      expect(real.stderr.join('\n')).toContain('The plan differs from the reviewed one in 2 rows');
      const same = await runCommand(['migrate-equipment', '--dry-run', '--no-progress', '--save-report', reportPath], db.env);
      expect((await runCommand(['migrate-equipment', '--no-progress', '--expect-plan', reportPath], db.env)).exitCode).toBe(0);
      expect(same.exitCode).toBe(0);
    } finally {
      rmSync(reportPath, { force: true });
    }
  });

  it('refuses a malformed fingerprint or an unreadable report before touching the database', async () => {
    const missing = await runCommand(['migrate-equipment', '--expect-plan', '/nonexistent/report.json'], db.env);
    expect(missing.exitCode).toBe(2);
    expect(missing.stdout.some((line) => line.startsWith('Database:'))).toBe(false);
    const result = await runCommand(['migrate-equipment', '--expect-plan', 'abc'], db.env);
    expect(result.exitCode).toBe(2);
    expect(result.stdout.some((line) => line.startsWith('Database:'))).toBe(false);
  });
});
