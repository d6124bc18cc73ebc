import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-harness';
import { withQueryRunner } from '../helpers/fixtures';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';
import {
  AssessmentMigrationRepository,
  MAX_ROW_TEXT_BYTES,
  PAGE_TEXT_BUDGET_BYTES,
} from '../../src/equipment-migration/assessment-migration.repository';

const MiB = 1024 * 1024;

/**
 * Large legacy values (issue 12, item 15): pages are bounded by bytes as well as rows, so memory follows the bytes of a
 * page, not the batch size; a row too large to read becomes an error row naming its size.
 */
describe('large legacy values', () => {
  let db: TestDatabase;
  let folder: string;
  let userId: number;

  /** Inserts `count` rows whose equipment is a JSON string of `bytes` characters (unknown values: error rows). */
  const insertLarge = (count: number, bytes: number) =>
    db.dataSource.query(
      `INSERT INTO assessments (user_id, equipment)
       SELECT $1, to_jsonb(left(repeat(md5(g::text), $3 / 32 + 1), $3)) FROM generate_series(1, $2) AS g`,
      [userId, count, bytes],
    );
  const insertLegacy = (count: number) =>
    db.dataSource.query(`INSERT INTO assessments (user_id, equipment) SELECT $1, '["full_gym","no_equipment"]' FROM generate_series(1, $2)`, [userId, count]);

  beforeEach(async () => {
    db = await createTestDatabase();
    folder = mkdtempSync(join(tmpdir(), 'large-values-'));
    [{ id: userId }] = await db.dataSource.query(`INSERT INTO users (email) VALUES ('large@example.com') RETURNING id`);
  });

  afterEach(async () => {
    await db.drop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('a page stops before its byte budget (always at least one row), and says more may follow', async () => {
    const rowBytes = 3 * MiB; // as JSON text: two quotes more
    await insertLarge(5, rowBytes - 2);
    await insertLarge(1, PAGE_TEXT_BUDGET_BYTES + MiB); // larger than a page's budget on its own
    await insertLegacy(3);
    const [{ min, max }] = await db.dataSource.query(`SELECT min(id) AS min, max(id) AS max FROM assessments`);
    await withQueryRunner(db.dataSource, async (queryRunner) => {
      const repository = new AssessmentMigrationRepository(queryRunner, '00000000-0000-4000-8000-000000000000');
      const pages: { ids: number[]; more: boolean; bytes: number[] }[] = [];
      for (let after = min - 1, more = true; more; ) {
        const page = await repository.readPage(after, max, 5000);
        pages.push({ ids: page.rows.map((r) => r.id), more: page.more, bytes: page.rows.map((r) => (r.equipmentJson ?? '').length) });
        more = page.more;
        if (page.rows.length > 0) after = page.rows[page.rows.length - 1].id;
      }
      const perPage = Math.floor(PAGE_TEXT_BUDGET_BYTES / (rowBytes + 2)); // + the items' "[]"
      expect(perPage).toBe(2);
      // After a page cut short by bytes the next one asks for as many rows as fitted, plus one: so the legacy rows
      // after the single large row come as 2, then 1 (fewer than asked: the last page).
      expect(pages.map((p) => p.ids.length)).toEqual([2, 2, 1, 1, 2, 1]);
      expect(pages.map((p) => p.more)).toEqual([...pages.slice(1).map(() => true), false]);
      expect(pages.flatMap((p) => p.ids)).toEqual(Array.from({ length: 9 }, (_, i) => min + i));
      for (const page of pages.filter((p) => p.ids.length > 1)) {
        expect(page.bytes.reduce((a, b) => a + b + 2, 0)).toBeLessThanOrEqual(PAGE_TEXT_BUDGET_BYTES);
      }
    });
  });

  it(
    '300 rows of 2 MB strings with --save-report at the default batch size: completes, every row reported, later rows migrated',
    async () => {
      // Legacy rows between and after the large ones: pages cut short by bytes must not end the run.
      await insertLegacy(5);
      await insertLarge(150, 2 * MiB);
      await insertLegacy(5);
      await insertLarge(150, 2 * MiB);
      await insertLegacy(5);
      const reportPath = join(folder, 'report.json');
      const result = await runCli(['migrate-equipment', '--no-progress', '--save-report', reportPath], db.env, { timeoutMs: 280_000 });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('Total Processed: 315\nMigrated: 15\nFlagged for Re-assessment: 0\nSkipped (Already Valid): 0\nErrors: 300\n');
      expect(result.stdout).toContain('Migration completed successfully!');
      const [{ legacy }] = await db.dataSource.query(`SELECT count(*)::int AS legacy FROM assessments WHERE jsonb_typeof(equipment) = 'array'`);
      expect(legacy).toBe(0);
      // Too large for one JavaScript string (V8 ends below 512 MiB): checked by size and by its ends.
      const size = statSync(reportPath).size;
      expect(size).toBeGreaterThan(300 * 2 * MiB);
      const fd = openSync(reportPath, 'r');
      try {
        const head = Buffer.alloc(64);
        readSync(fd, head, 0, 64, 0);
        expect(head.toString()).toMatch(/^\{\s*"report_version": 1/);
        const tail = Buffer.alloc(16);
        readSync(fd, tail, 0, 16, size - 16);
        expect(tail.toString()).toMatch(/\}\n\s*\]\n\}\n$/);
      } finally {
        closeSync(fd);
      }
    },
    300_000,
  );

  it('--online: pages cut short by bytes commit one after the other, and the run goes on to the last row', async () => {
    await insertLegacy(3);
    await insertLarge(12, 3 * MiB);
    await insertLegacy(3);
    const result = await runCli(['migrate-equipment', '--online', '--no-progress'], db.env, { timeoutMs: 120_000 });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Total Processed: 18\nMigrated: 6\nFlagged for Re-assessment: 0\nSkipped (Already Valid): 0\nErrors: 12\n');
    const [{ legacy }] = await db.dataSource.query(`SELECT count(*)::int AS legacy FROM assessments WHERE jsonb_typeof(equipment) = 'array'`);
    expect(legacy).toBe(0);
    const [{ checkpoint }] = await db.dataSource.query(`SELECT checkpoint FROM equipment_migration_runs`);
    expect(checkpoint.pages).toBeGreaterThan(6); // 12 rows of 3 MiB: two to a page
  });

  it('a row larger than the per-row limit is an error row naming its size; its neighbours are migrated', async () => {
    await insertLegacy(2);
    await insertLarge(1, MAX_ROW_TEXT_BYTES + MiB);
    await insertLegacy(2);
    const [{ id: largeId }] = await db.dataSource.query(`SELECT id FROM assessments WHERE jsonb_typeof(equipment) = 'string'`);
    const before = await db.dataSource.query(`SELECT md5(equipment::text) AS hash, xmin::text FROM assessments WHERE id = $1`, [largeId]);
    const reportPath = join(folder, 'report.json');
    const result = await runCli(['migrate-equipment', '--no-progress', '--save-report', reportPath], db.env, { timeoutMs: 120_000 });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      `Error in assessment ${largeId} (large@example.com): equipment and equipment_items take 33.0 MiB as JSON text, more than the 32.0 MiB a row may have; not read, left as it is (its values show as null in the report)`,
    );
    expect(result.stdout).toContain('Migrated: 4');
    expect(await db.dataSource.query(`SELECT md5(equipment::text) AS hash, xmin::text FROM assessments WHERE id = $1`, [largeId])).toEqual(before);
  });
});
