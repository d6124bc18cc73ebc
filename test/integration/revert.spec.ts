import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';
import { TestDatabase } from '../helpers/test-database';

/** Every column but updated_at, per row, as PostgreSQL's JSON text. */
const contents = async (db: TestDatabase) =>
  (await db.dataSource.query(`SELECT id, (to_jsonb(a) - 'updated_at')::text AS row FROM assessments a ORDER BY id`)) as { id: number; row: string }[];

const lastRunId = async (db: TestDatabase) =>
  (await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = 'migrate' ORDER BY started_at DESC LIMIT 1`))[0].id as string;

describe('revert-equipment-migration', () => {
  const suite = useTestSuite({ perTest: true, folder: 'revert-' });
  const { db, run } = suite;

  beforeEach(async () => {
    await seedMix(db.dataSource, 240, { valid: 150, multi: 40, odd: 15, flag: 20, error: 15 });
  });

  const migrate = () => suite.migrate(['--batch-size', '17']);

  it('migrate then revert gives back the table byte for byte (every column but updated_at)', async () => {
    const start = await contents(db);
    expect((await migrate()).exitCode).toBe(0);
    expect(await contents(db)).not.toEqual(start);
    const result = await run(['revert-equipment-migration', await lastRunId(db), '--batch-size', '7']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toEqual(
      expect.arrayContaining(['--- Revert Report ---', 'Total Processed: 75', 'Reverted: 75', 'Conflicts: 0', 'Missing: 0', 'Revert completed successfully!']),
    );
    expect(await contents(db)).toEqual(start);
  });

  it('keeps rows users changed since (conflicts, both values reported) and reports deleted rows as missing', async () => {
    const start = await contents(db);
    expect((await migrate()).exitCode).toBe(0);
    const runId = await lastRunId(db);
    const changed: number[] = (await db.dataSource.query(`SELECT assessment_id FROM equipment_migration_changes ORDER BY assessment_id LIMIT 4`)).map(
      (r: { assessment_id: number }) => r.assessment_id,
    );
    const [deleted, ...reassessed] = changed;
    await db.dataSource.query(`UPDATE assessments SET equipment = '"no_equipment"', equipment_items = '[]' WHERE id = ANY($1)`, [reassessed]);
    await db.dataSource.query(`DELETE FROM assessments WHERE id = $1`, [deleted]);
    const userValues = await contents(db);

    const reportPath = join(suite.folder, 'revert.json');
    const result = await run(['revert-equipment-migration', runId, '--save-report', reportPath]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toEqual(expect.arrayContaining(['Reverted: 71', 'Conflicts: 3', 'Missing: 1']));
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.summary).toEqual({ total_processed: 75, reverted: 71, conflicts: 3, missing: 1, refused: 0 });
    expect(report.details.map((d: { assessment_id: number; status: string }) => [d.assessment_id, d.status])).toEqual([
      [deleted, 'missing'],
      ...reassessed.map((id) => [id, 'conflict']),
    ]);
    expect(report.details[1].current.equipment).toBe('no_equipment');

    const after = new Map((await contents(db)).map((r) => [r.id, r.row]));
    const startById = new Map(start.map((r) => [r.id, r.row]));
    for (const { id, row } of userValues) {
      // The user's rows stay as the user left them; every other row is back where it started.
      expect({ id, row: after.get(id) }).toEqual({ id, row: reassessed.includes(id) ? row : startById.get(id) });
    }
    expect(after.has(deleted)).toBe(false);
  });

  it('a dry run changes nothing, and a run cannot be reverted twice', async () => {
    expect((await migrate()).exitCode).toBe(0);
    const runId = await lastRunId(db);
    const migrated = await snapshotAssessments(db.dataSource);
    const dry = await run(['revert-equipment-migration', runId, '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('DRY RUN MODE - No changes will be saved');
    expect(await snapshotAssessments(db.dataSource)).toEqual(migrated);

    expect((await run(['revert-equipment-migration', runId])).exitCode).toBe(0);
    const again = await run(['revert-equipment-migration', runId]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr.join('\n')).toContain('was already reverted');
    const runs = await db.dataSource.query(`SELECT kind, status, reverts_run_id, reverted_by_run_id FROM equipment_migration_runs ORDER BY started_at`);
    expect(runs).toEqual([
      { kind: 'migrate', status: 'reverted', reverts_run_id: null, reverted_by_run_id: expect.any(String) },
      { kind: 'revert', status: 'completed', reverts_run_id: runId, reverted_by_run_id: null },
    ]);
  });

  it('refuses an unknown or malformed run id (exit 2) and a revert run', async () => {
    expect((await run(['revert-equipment-migration', randomUUID()])).exitCode).toBe(2);
    expect((await run(['revert-equipment-migration', 'not-a-uuid'])).exitCode).toBe(2);
    expect((await run(['revert-equipment-migration'])).exitCode).toBe(2);
    expect((await migrate()).exitCode).toBe(0);
    expect((await run(['revert-equipment-migration', await lastRunId(db)])).exitCode).toBe(0);
    const revertId = (await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = 'revert'`))[0].id;
    const result = await run(['revert-equipment-migration', revertId]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.join('\n')).toContain('only migration runs can be reverted');
  });

  it('a row the database refuses to restore is left as it is and reported; the others are restored', async () => {
    const start = new Map((await contents(db)).map((r) => [r.id, r.row]));
    expect((await migrate()).exitCode).toBe(0);
    const [frozen] = (await db.dataSource.query(`SELECT assessment_id FROM equipment_migration_changes ORDER BY assessment_id LIMIT 1`)).map(
      (r: { assessment_id: number }) => r.assessment_id,
    );
    await db.dataSource.query(`CREATE FUNCTION refuse_revert() RETURNS trigger AS $$
      BEGIN IF NEW.id = ${frozen} THEN RAISE EXCEPTION 'assessment ${frozen} is frozen'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.dataSource.query(`CREATE TRIGGER refuse_revert BEFORE UPDATE ON assessments FOR EACH ROW EXECUTE FUNCTION refuse_revert()`);
    const migrated = (await contents(db)).find((r) => r.id === frozen)!.row;

    const result = await run(['revert-equipment-migration', await lastRunId(db), '--batch-size', '10']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toEqual(expect.arrayContaining(['Reverted: 74', 'Refused by the database: 1']));
    expect(result.stdout).toContain(`Refused: assessment ${frozen}: the database refused the restore: assessment ${frozen} is frozen; left as it is`);
    for (const { id, row } of await contents(db)) expect({ id, row }).toEqual({ id, row: id === frozen ? migrated : start.get(id) });
  });

  it('a migration after a revert works as on fresh data', async () => {
    const first = await migrate();
    expect((await run(['revert-equipment-migration', await lastRunId(db)])).exitCode).toBe(0);
    const second = await migrate();
    const counts = (stdout: string[]) => {
      const { total_processed: _total, ...outcomes } = printedCounts(stdout);
      return outcomes;
    };
    expect(counts(second.stdout)).toEqual(counts(first.stdout));
  });
});
