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

  it('refuses a malformed fingerprint before touching the database', async () => {
    const result = await runCommand(['migrate-equipment', '--expect-plan', 'abc'], db.env);
    expect(result.exitCode).toBe(2);
    expect(result.stdout.some((line) => line.startsWith('Database:'))).toBe(false);
  });
});
