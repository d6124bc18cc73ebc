import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';
import { MAX_REVIEWED_REPORT_BYTES } from '../../src/equipment-migration/reviewed-plan-file';

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

  describe('a plan that differs only in what a row writes besides its outcome and value', () => {
    let reportPath: string;
    let flaggedId: number;
    let migratedId: number;

    beforeEach(async () => {
      reportPath = join(suite.folder, 'flag-report.json');
      // A basic_equipment row with [] items (flagged, items kept) and a multiple selection (migrated, flag kept).
      [{ id: flaggedId }] = await db.dataSource.query(
        `INSERT INTO assessments (user_id, equipment, equipment_items) SELECT min(id), '"basic_equipment"', '[]' FROM users RETURNING id`,
      );
      [{ id: migratedId }] = await db.dataSource.query(
        `INSERT INTO assessments (user_id, equipment, equipment_items) SELECT min(id), '["full_gym","no_equipment"]', '[]' FROM users RETURNING id`,
      );
      const dry = await migrate(['--dry-run', '--save-report', reportPath]);
      expect(dry.exitCode).toBe(0);
    });

    it('counts a flagged row whose items write changed (its items became null, so flagging now clears them)', async () => {
      await db.dataSource.query(`UPDATE assessments SET equipment_items = 'null' WHERE id = $1`, [flaggedId]);
      const before = await snapshotAssessments(db.dataSource);
      const real = await migrate(['--expect-plan', reportPath]);
      expect(real.exitCode).toBe(1);
      expect(real.stderr.join('\n')).toContain('The plan differs from the reviewed one in 1 rows');
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    });

    it('says that only the kept reassessment flag of a migrated row differs, never "in 0 rows"', async () => {
      await db.dataSource.query(`UPDATE assessments SET equipment_reassessment_required = true WHERE id = $1`, [migratedId]);
      const real = await migrate(['--expect-plan', reportPath]);
      expect(real.exitCode).toBe(1);
      const stderr = real.stderr.join('\n');
      expect(stderr).toContain('The plan differs from the reviewed one only in the reassessment flag of rows it migrates');
      expect(stderr).not.toContain('in 0 rows');
    });
  });

  describe('reading the reviewed report: bounded, regular files only, one line and exit 2', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'expect-plan-input-'));
    });

    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const refused = async (path: string, why: RegExp) => {
      const before = await snapshotAssessments(db.dataSource);
      const result = await migrate(['--expect-plan', path]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toHaveLength(1);
      expect(result.stderr[0]).toMatch(why);
      expect(result.stdout.some((line) => line.startsWith('Database:'))).toBe(false);
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    };

    it('refuses /dev/zero without reading it', async () => {
      await refused('/dev/zero', /^--expect-plan \/dev\/zero: is a character device, not a regular file; /);
    });

    it('refuses a FIFO without blocking on it (nobody writes into it)', async () => {
      const fifo = join(dir, 'plan.fifo');
      execFileSync('mkfifo', [fifo]);
      await refused(fifo, /: is a FIFO, not a regular file; /);
    });

    it('refuses a directory', async () => {
      await refused(dir, /: is a directory, not a regular file; /);
    });

    it('refuses a report larger than the limit without reading it', async () => {
      const big = join(dir, 'big.json');
      const fd = openSync(big, 'w');
      ftruncateSync(fd, MAX_REVIEWED_REPORT_BYTES + 1); // sparse: takes no disk space
      closeSync(fd);
      await refused(big, /: is 256\.0 MiB, more than the 256 MiB a reviewed report may have \(it is parsed whole\); for a larger plan pass its fingerprint/);
    });

    it.each([
      ['"details":[null]', { details: [null] }],
      ['a detail that is a number', { details: [7] }],
      ['details that are not an array', { details: {} }],
    ])('refuses a report with %s', async (_name, part) => {
      const path = join(dir, 'report.json');
      writeFileSync(path, JSON.stringify({ report_version: 1, run: { plan_fingerprint: 'a'.repeat(64) }, ...part }));
      await refused(path, /: is not a migrate-equipment report with a plan fingerprint and well-formed details; /);
    });

    it('refuses a file that is not JSON', async () => {
      const path = join(dir, 'report.json');
      writeFileSync(path, '{"run":');
      await refused(path, /: is not JSON \(/);
    });
  });
});
