import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../helpers/cli-harness';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';

/**
 * A drifted schema whose `equipment_items` allows SQL NULL (issue 12): the rules treat SQL NULL items as JSON null
 * ("no items"), the audit trail records SQL NULL exactly, and a revert puts SQL NULL back, not JSON null.
 */
describe('SQL NULL equipment_items (a nullable column in a drifted schema)', () => {
  let db: TestDatabase;
  let folder: string;
  const ids: Record<string, number> = {};

  /** Every column but updated_at, and whether the items are SQL NULL (to_jsonb shows SQL NULL and JSON null alike). */
  const contents = async () =>
    (await db.dataSource.query(
      `SELECT id, (to_jsonb(a) - 'updated_at')::text AS row, a.equipment_items IS NULL AS items_sql_null FROM assessments a ORDER BY id`,
    )) as { id: number; row: string; items_sql_null: boolean }[];

  beforeEach(async () => {
    db = await createTestDatabase();
    folder = mkdtempSync(join(tmpdir(), 'null-items-'));
    await db.dataSource.query(`ALTER TABLE assessments ALTER COLUMN equipment_items DROP NOT NULL`);
    const [{ id: userId }] = await db.dataSource.query(`INSERT INTO users (email) VALUES ('null.items@example.com') RETURNING id`);
    const rows: [string, string, string | null, boolean][] = [
      ['multiToFullGym', '["full_gym","no_equipment"]', null, false], // migrated, items cleared to []
      ['arrayToBasic', '["basic_equipment"]', null, false], // flagged: no items
      ['canonicalBasic', '"basic_equipment"', null, false], // flagged: no items
      ['basicFlagged', '"basic_equipment"', null, true], // skipped: already flagged
      ['fullGym', '"full_gym"', null, false], // skipped: items do not matter
      ['jsonNullItems', '["no_equipment"]', 'null', false], // migrated; JSON null, for contrast
    ];
    for (const [name, equipment, items, flag] of rows) {
      [{ id: ids[name] }] = await db.dataSource.query(
        `INSERT INTO assessments (user_id, equipment, equipment_items, equipment_reassessment_required) VALUES ($1, $2::jsonb, $3::jsonb, $4) RETURNING id`,
        [userId, equipment, items, flag],
      );
    }
  });

  afterEach(async () => {
    await db.drop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('migrates SQL NULL items as "no items", records them exactly, and a revert restores SQL NULL', async () => {
    const start = await contents();
    const reportPath = join(folder, 'report.json');
    const migrated = await runCommand(['migrate-equipment', '--no-progress', '--save-report', reportPath], db.env);
    expect(migrated.stderr).toEqual([]);
    expect(migrated.exitCode).toBe(0);
    expect(migrated.stdout).toEqual(expect.arrayContaining(['Migrated: 2', 'Flagged for Re-assessment: 2', 'Skipped (Already Valid): 2', 'Errors: 0']));

    const after = await db.dataSource.query(
      `SELECT id, equipment::text AS equipment, equipment_items::text AS items, equipment_reassessment_required AS flag FROM assessments ORDER BY id`,
    );
    expect(after).toEqual([
      { id: ids.multiToFullGym, equipment: '"full_gym"', items: '[]', flag: false },
      { id: ids.arrayToBasic, equipment: '"basic_equipment"', items: '[]', flag: true },
      { id: ids.canonicalBasic, equipment: '"basic_equipment"', items: '[]', flag: true },
      { id: ids.basicFlagged, equipment: '"basic_equipment"', items: null, flag: true },
      { id: ids.fullGym, equipment: '"full_gym"', items: null, flag: false },
      { id: ids.jsonNullItems, equipment: '"no_equipment"', items: '[]', flag: false },
    ]);
    // The audit keeps the exact previous value: SQL NULL stays SQL NULL, JSON null stays JSON null.
    const audit = await db.dataSource.query(
      `SELECT assessment_id AS id, previous_items IS NULL AS sql_null, previous_items::text AS previous FROM equipment_migration_changes ORDER BY assessment_id`,
    );
    expect(audit).toEqual([
      { id: ids.multiToFullGym, sql_null: true, previous: null },
      { id: ids.arrayToBasic, sql_null: true, previous: null },
      { id: ids.canonicalBasic, sql_null: true, previous: null },
      { id: ids.jsonNullItems, sql_null: false, previous: 'null' },
    ]);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.details.find((d: { assessment_id: number }) => d.assessment_id === ids.canonicalBasic).original_items).toBeNull();

    // verify-equipment agrees with the rules: a flagged basic_equipment row with SQL NULL items is consistent.
    expect((await runCommand(['verify-equipment'], db.env)).exitCode).toBe(0);

    const runId = (await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = 'migrate'`))[0].id;
    const reverted = await runCommand(['revert-equipment-migration', runId], db.env);
    expect(reverted.stderr).toEqual([]);
    expect(reverted.exitCode).toBe(0);
    expect(await contents()).toEqual(start);
    // The revert's own record holds the SQL NULL it put back.
    const revertAudit = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM equipment_migration_changes c JOIN equipment_migration_runs r ON r.id = c.run_id WHERE r.kind = 'revert' AND c.new_items IS NULL`,
    );
    expect(revertAudit[0].n).toBe(3);
  });

  it('a dry run sees the same outcomes and leaves the rows as they were', async () => {
    const start = await contents();
    const dry = await runCommand(['migrate-equipment', '--dry-run', '--no-progress'], db.env);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toEqual(expect.arrayContaining(['Migrated: 2', 'Flagged for Re-assessment: 2', 'Errors: 0']));
    expect(await contents()).toEqual(start);
  });

  it('the migration making the audit items nullable goes down (SQL NULL recorded as JSON null) and up again', async () => {
    expect((await runCommand(['migrate-equipment', '--no-progress'], db.env)).exitCode).toBe(0);
    await db.dataSource.undoLastMigration();
    const nullable = () =>
      db.dataSource.query(
        `SELECT column_name, is_nullable FROM information_schema.columns
          WHERE table_name = 'equipment_migration_changes' AND column_name IN ('previous_items', 'new_items') ORDER BY column_name`,
      );
    expect(await nullable()).toEqual([
      { column_name: 'new_items', is_nullable: 'NO' },
      { column_name: 'previous_items', is_nullable: 'NO' },
    ]);
    const previous = await db.dataSource.query(`SELECT previous_items::text AS items, count(*)::int AS n FROM equipment_migration_changes GROUP BY 1`);
    expect(previous).toEqual([{ items: 'null', n: 4 }]);
    await db.dataSource.runMigrations();
    expect(await nullable()).toEqual([
      { column_name: 'new_items', is_nullable: 'YES' },
      { column_name: 'previous_items', is_nullable: 'YES' },
    ]);
  });
});
