import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { REALISTIC_MIX, SampleCategory } from '../../src/demo/sample-assessments';
import { expectExit, startCli } from '../helpers/cli-process';
import { seedMix, snapshotAssessments, truncateAll } from '../helpers/fixtures';
import { advisoryLocks, CLI_APPLICATION_NAME, cliBackends, cliSessionsGone } from '../helpers/pg-state';
import { pollUntil } from '../helpers/poll';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * kill -9 in the middle of a run: the process gets no chance to clean up, so everything rests on PostgreSQL. The open
 * transaction is rolled back when the server notices the dead connection, the transaction-scoped lock goes with it,
 * and the next run finds the whole job still to do.
 */

const TIMEOUT_MS = 60_000;
const CLI_TIMEOUT_MS = 45_000;
const ROWS = 20_000;
const CANONICAL = `('"full_gym"', '"basic_equipment"', '"no_equipment"')`;

describe('kill -9 during a run', () => {
  const suite = useTestSuite({ folder: 'reliability-crash-', children: true });
  const { db, cli } = suite;

  it(
    'SIGKILL mid-run: the table is unchanged, no lock is left once the server has noticed, and an immediate rerun migrates everything',
    async () => {
      const samples = await seedMix(db.dataSource, ROWS, REALISTIC_MIX, 99);
      const expected: Record<SampleCategory, number> = { valid: 0, migrate: 0, flag: 0, error: 0 };
      for (const sample of samples) expected[sample.category] += 1;
      const before = await snapshotAssessments(db.dataSource);

      const reportPath = join(suite.folder, 'r.json');
      const run = startCli(['migrate-equipment', '--batch-size', '20', '--save-report', reportPath], db.env, {
        timeoutMs: CLI_TIMEOUT_MS,
      });
      await run.waitFor('stdout', new RegExp(`^Found ${ROWS} assessments to process$`, 'm'));
      await run.waitFor('stderr', new RegExp(`^Processed \\d+/${ROWS} assessments`, 'm'));
      // Mid-run: its session holds the migration lock and has written pages inside its transaction.
      expect(await advisoryLocks(db.dataSource, db.name)).toHaveLength(1);
      const [{ writing }] = await db.dataSource.query(
        `SELECT count(*)::int AS writing FROM pg_stat_activity
          WHERE datname = $1 AND application_name = $2 AND backend_xid IS NOT NULL`,
        [db.name, CLI_APPLICATION_NAME],
      );
      expect(writing).toBe(1);

      run.signal('SIGKILL');
      const killed = await run.waitForExit(10_000);
      expect({ exitCode: killed.exitCode, signal: killed.signal }).toEqual({ exitCode: null, signal: 'SIGKILL' });
      expect(killed.stdout).not.toContain('Migration completed successfully!');

      // The server notices the closed connection on its own; wait (bounded) until the dead run's backends are gone.
      const backends = await cliSessionsGone(db.dataSource, db.name, 10_000);
      expect(backends).toEqual([]);
      expect(await advisoryLocks(db.dataSource, db.name)).toEqual([]);
      // PostgreSQL rolled the transaction back: every row byte-identical, same row versions.
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);

      // A killed process cannot remove its temporary report files; it must never have produced the report itself.
      const left = readdirSync(suite.folder);
      expect(left).not.toContain('r.json');
      expect(left.filter((name) => !/^\.r\.json\..+\.tmp$/.test(name))).toEqual([]);
      for (const name of left) rmSync(join(suite.folder, name), { force: true });

      // The next run, started at once, gets the lock and does the whole job.
      const rerun = await cli(['migrate-equipment', '--no-progress', '--save-report', reportPath], {
        timeoutMs: CLI_TIMEOUT_MS,
      });
      expectExit(rerun, 0);
      expect(printedCounts(rerun.stdout)).toEqual({
        total_processed: ROWS,
        migrated: expected.migrate,
        flagged: expected.flag,
        skipped: expected.valid,
        errors: expected.error,
      });
      expect(readdirSync(suite.folder)).toEqual(['r.json']);

      // Every row that is not an error row now holds one canonical value; flagged ones are marked for re-assessment.
      const rows: { email: string; canonical: boolean; flag: boolean; row: string }[] = await db.dataSource.query(
        `SELECT u.email, a.equipment::text IN ${CANONICAL} AS canonical, a.equipment_reassessment_required AS flag,
                row_to_json(a)::text AS row
           FROM assessments a JOIN users u ON u.id = a.user_id`,
      );
      const byEmail = new Map(rows.map((r) => [r.email, r]));
      const rowsBefore = new Set(before.map((r) => r.row));
      const wrong = samples.filter((s) => {
        const row = byEmail.get(s.email);
        if (!row) return true;
        if (s.category === 'error') return !rowsBefore.has(row.row); // left exactly as it was
        return !row.canonical || (s.category === 'flag' && !row.flag);
      });
      expect(wrong.map((s) => `${s.email}: ${s.name}`)).toEqual([]);
      expect(await advisoryLocks(db.dataSource, db.name)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'SIGKILL while the run waits for a row lock another session holds (--lock-timeout 0): its session and lock do not outlive it',
    async () => {
      await truncateAll(db.dataSource);
      await seedMix(db.dataSource, 2000, REALISTIC_MIX, 100);
      const before = await snapshotAssessments(db.dataSource);
      const [{ id }] = await db.dataSource.query(
        `SELECT id FROM assessments WHERE jsonb_typeof(equipment) = 'array' ORDER BY id LIMIT 1`,
      );
      // "The app" holds a row the run must write, in an open transaction, for longer than the run lives.
      const app = new Client({ connectionString: db.url });
      await app.connect();
      try {
        await app.query('BEGIN');
        await app.query('SELECT id FROM assessments WHERE id = $1 FOR UPDATE', [id]);

        const run = startCli(['migrate-equipment', '--lock-timeout', '0', '--no-progress'], db.env, { timeoutMs: CLI_TIMEOUT_MS });
        await run.waitFor('stdout', /^Found 2000 assessments to process$/m);
        const waiting = await pollUntil(
          () => cliBackends(db.dataSource, db.name),
          (rows) => rows.some((r) => r.wait_event_type === 'Lock'),
        );
        expect(waiting.map((r) => r.wait_event_type)).toContain('Lock');

        run.signal('SIGKILL');
        const killed = await run.waitForExit(10_000);
        expect(killed.signal).toBe('SIGKILL');

        // The server must notice the dead client even though its session is blocked (bounded poll), so that the
        // migration lock is free again while the app still holds its row.
        const left = await cliSessionsGone(db.dataSource, db.name);
        expect(left).toEqual([]);
        expect(await advisoryLocks(db.dataSource, db.name)).toEqual([]);
      } finally {
        await app.query('ROLLBACK').catch(() => undefined);
        await app.end();
        // Whatever the outcome, leave no session of the run behind.
        await cliSessionsGone(db.dataSource, db.name, 10_000);
      }
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    },
    TIMEOUT_MS,
  );
});
