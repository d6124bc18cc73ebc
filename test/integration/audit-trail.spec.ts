import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';

describe('audit trail', () => {
  const suite = useTestSuite({ folder: 'audit-trail-' });
  const { db, migrate, run } = suite;

  beforeAll(async () => {
    await seedMix(db.dataSource, 300, { valid: 200, multi: 40, odd: 20, flag: 25, error: 15 });
  });

  const count = async (table: string) => (await db.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

  it('a dry run leaves no trace', async () => {
    const result = await migrate(['--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(await count('equipment_migration_runs')).toBe(0);
    expect(await count('equipment_migration_changes')).toBe(0);
  });

  it('a real run records itself and exactly the rows it changed, before and after, in its own transaction', async () => {
    const before = new Map((await snapshotAssessments(db.dataSource)).map((r) => [r.id, JSON.parse(r.row)]));
    const reportPath = join(suite.folder, 'report.json');
    const result = await migrate(['--save-report', reportPath]);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));

    const runs = await db.dataSource.query('SELECT * FROM equipment_migration_runs');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      id: report.run.id,
      kind: 'migrate',
      status: 'completed',
      summary: report.summary,
      tool_version: expect.any(String),
      host_name: expect.any(String),
      database_user: expect.any(String),
    });
    expect(runs[0].finished_at).not.toBeNull();
    expect(runs[0].options).toMatchObject({ dryRun: false, batchSize: 5000 });

    const changes: Array<Record<string, unknown>> = await db.dataSource.query(
      'SELECT c.*, row_to_json(a) AS now FROM equipment_migration_changes c JOIN assessments a ON a.id = c.assessment_id ORDER BY c.assessment_id',
    );
    const changedIds = report.details.filter((d: { status: string }) => d.status !== 'error').map((d: { assessment_id: number }) => d.assessment_id);
    expect(changes.map((c) => c.assessment_id)).toEqual(changedIds.sort((a: number, b: number) => a - b));
    for (const change of changes) {
      const was = before.get(change.assessment_id as number);
      const now = change.now as Record<string, unknown>;
      expect({
        id: change.assessment_id,
        run: change.run_id,
        previous: [change.previous_equipment, change.previous_items, change.previous_reassessment_required],
        next: [change.new_equipment, change.new_items, change.new_reassessment_required],
      }).toEqual({
        id: change.assessment_id,
        run: report.run.id,
        previous: [was.equipment, was.equipment_items, was.equipment_reassessment_required],
        next: [now.equipment, now.equipment_items, now.equipment_reassessment_required],
      });
    }
  });

  it('every recorded change has its run (the changes table has no foreign key; the one transaction keeps them together)', async () => {
    const orphans = await db.dataSource.query(
      'SELECT c.run_id, c.assessment_id FROM equipment_migration_changes c LEFT JOIN equipment_migration_runs r ON r.id = c.run_id WHERE r.id IS NULL',
    );
    expect(await count('equipment_migration_changes')).toBeGreaterThan(0);
    expect(orphans).toEqual([]);
  });

  it('migration-runs lists runs newest first, as text and as JSON', async () => {
    expect((await migrate()).exitCode).toBe(0);
    const text = await run(['migration-runs']);
    expect(text.exitCode).toBe(0);
    const lines = text.stdout.filter((line) => / migrate /.test(line));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('migrated 0, flagged 0');
    expect(lines[1]).toMatch(/completed {2}migrated 60, flagged 25, skipped 200, errors 15$/);

    const json = await run(['migration-runs', '--json']);
    const runs = JSON.parse(json.stdout.join('\n'));
    expect(runs.map((r: { summary: { migrated: number } }) => r.summary.migrated)).toEqual([0, 60]);
    expect(json.stderr.some((line) => line.startsWith('Database: '))).toBe(true);
  });
});
