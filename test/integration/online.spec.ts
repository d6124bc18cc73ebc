import { join } from 'node:path';
import { Client } from 'pg';
import { generateSampleAssessments } from '../../src/demo/sample-assessments';
import { ExitCode } from '../../src/cli/cli-errors';
import type { MigrationReport } from '../../src/equipment-migration/report.types';
import { startCli, expectExit } from '../helpers/cli-process';
import { insertSamples, truncateAll } from '../helpers/fixtures';
import { openSession, readReport } from '../helpers/migration-checks';
import { comparableAssessments, pinCreatedAt, rowDifferences } from '../helpers/pg-state';
import { pollUntil } from '../helpers/poll';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * migrate-equipment --online on real PostgreSQL: the same outcome as the atomic run, page by page; interruptions
 * leave exactly the committed pages, which --resume finishes and revert-equipment-migration undoes.
 */
describe('online mode', () => {
  const suite = useTestSuite({ folder: 'online-' });
  const { db, migrate, run } = suite;
  const ROWS = 240;

  /** The same legacy data every time: every stored shape, and the audit trail emptied. */
  async function fresh(): Promise<Record<string, string>> {
    await truncateAll(db.dataSource);
    await db.dataSource.query('TRUNCATE equipment_migration_runs, equipment_migration_changes, equipment_migration_errors');
    await insertSamples(db.dataSource, [...generateSampleAssessments({ count: ROWS, seed: 11, coverEveryShape: true, emailPrefix: 'online.' })]);
    await pinCreatedAt(db.dataSource);
    return comparableAssessments(db.dataSource);
  }

  /** A report without what differs between two runs of the same plan (run id, times). */
  const comparable = (report: MigrationReport) => ({ ...report, run: { ...report.run, id: '', started_at: '', finished_at: '' } });

  async function runRow(id: string) {
    const [row] = await db.dataSource.query(`SELECT status, mode, checkpoint, summary FROM equipment_migration_runs WHERE id = $1`, [id]);
    return row;
  }

  /** A CLI child running an online run in pages of 10 with a pause between them, once `pages` pages are committed. */
  async function startOnlineRun(pages: number, pauseMs: number) {
    const cli = startCli(['migrate-equipment', '--online', '--no-progress', '--batch-size', '10', '--pause', String(pauseMs)], db.env);
    const runId = (await cli.waitFor('stdout', /Online run ([0-9a-f-]{36})/))[1];
    await pollUntil(async () => ((await runRow(runId))?.checkpoint?.pages >= pages ? true : undefined), (found) => found !== undefined, {
      what: `${pages} committed pages`,
      timeoutMs: 20_000,
    });
    return { cli, runId };
  }

  const runIdIn = (text: string) => /Online run ([0-9a-f-]{36})/.exec(text)?.[1];

  describe('gives what the atomic run gives', () => {
    let atomic: { table: Record<string, string>; report: MigrationReport; stdout: string[] };

    beforeAll(async () => {
      await fresh();
      const result = await migrate(['--save-report', join(suite.folder, 'atomic.json')]);
      expect(result.exitCode).toBe(0);
      atomic = { table: await comparableAssessments(db.dataSource), report: readReport(join(suite.folder, 'atomic.json')), stdout: result.stdout };
    });

    it.each([1, 7, 1000])('--batch-size %i: the same table, counts, report and fingerprint', async (batchSize) => {
      await fresh();
      const path = join(suite.folder, `online-${batchSize}.json`);
      const result = await migrate(['--online', '--batch-size', String(batchSize), '--save-report', path]);
      expect(result.exitCode).toBe(0);
      expect(rowDifferences(await comparableAssessments(db.dataSource), atomic.table)).toEqual([]);
      expect(printedCounts(result.stdout)).toEqual(printedCounts(atomic.stdout));
      const sameLines = (stdout: string[]) => stdout.filter((l) => /^(Plan fingerprint|Error in assessment|  \w)/.test(l));
      expect(sameLines(result.stdout)).toEqual(sameLines(atomic.stdout));
      expect(comparable(readReport(path))).toEqual(comparable(atomic.report));
      expect(result.stdout.at(-1)).toBe('Migration completed successfully!');
      const runId = runIdIn(result.stdout.join('\n'))!;
      expect(await runRow(runId)).toMatchObject({ status: 'completed', mode: 'online' });
    });

    it('migration-runs <id> --save-report writes the atomic run\'s report again, equal to the original', async () => {
      await fresh();
      const original = join(suite.folder, 'again-original.json');
      expect((await migrate(['--save-report', original])).exitCode).toBe(0);
      const [{ id }] = await db.dataSource.query(`SELECT id FROM equipment_migration_runs`);
      const again = join(suite.folder, 'again.json');
      const listed = await run(['migration-runs', id, '--save-report', again]);
      expect(listed).toMatchObject({ exitCode: 0 });
      expect(listed.stdout.at(-1)).toBe(`Report saved to: ${again}`);
      const rebuilt = readReport(again);
      const first = readReport(original);
      expect({ ...rebuilt, run: { ...rebuilt.run, finished_at: '' } }).toEqual({ ...first, run: { ...first.run, finished_at: '' } });
    });
  });

  describe('stopped part-way, resumed, reverted', () => {
    let uninterrupted: { table: Record<string, string>; report: MigrationReport };
    let start: Record<string, string>;

    beforeAll(async () => {
      start = await fresh();
      const path = join(suite.folder, 'uninterrupted.json');
      expect((await migrate(['--online', '--batch-size', '10', '--save-report', path])).exitCode).toBe(0);
      uninterrupted = { table: await comparableAssessments(db.dataSource), report: readReport(path) };
    });

    /** Rows the run changed so far (its audit rows) and the pages its checkpoint says are committed. */
    /**
     * What the run committed: its audit rows, the rows that differ from the start, its checkpoint's pages. Exactly the
     * first pages: every changed row has its audit row, and none lies beyond the checkpoint's last id.
     */
    async function committed(runId: string): Promise<{ changes: number; pages: number; changed: number }> {
      const { checkpoint } = await runRow(runId);
      const [{ changes, beyond }] = await db.dataSource.query(
        `SELECT count(*)::int AS changes, count(*) FILTER (WHERE assessment_id > $2)::int AS beyond FROM equipment_migration_changes WHERE run_id = $1`,
        [runId, checkpoint.lastId],
      );
      expect(beyond).toBe(0);
      const differing = rowDifferences(await comparableAssessments(db.dataSource), start, ROWS);
      expect(differing.filter((row) => Number(row.id) > checkpoint.lastId)).toEqual([]);
      return { changes, pages: checkpoint.pages, changed: differing.length };
    }

    async function expectResumeFinishes(runId: string, via = runId): Promise<void> {
      const path = join(suite.folder, `resumed-${runId}.json`);
      const resumed = await migrate(['--online', '--resume', via, '--save-report', path]);
      expect({ exit: resumed.exitCode, last: resumed.stdout.at(-1) }).toEqual({ exit: 0, last: 'Migration completed successfully!' });
      expect(resumed.stdout.join('\n')).toMatch(new RegExp(`Resuming online run ${runId} after assessment -?\\d+: \\d+ of ${ROWS} assessments committed`));
      expect(rowDifferences(await comparableAssessments(db.dataSource), uninterrupted.table)).toEqual([]);
      const report = readReport(path);
      expect(report.run.id).toBe(runId);
      expect(comparable(report)).toEqual(comparable(uninterrupted.report));
      expect(await runRow(runId)).toMatchObject({ status: 'completed' });
    }

    it('SIGTERM after some pages: exit 143, the committed pages stay, --resume finishes as one run would have', async () => {
      await fresh();
      const { cli, runId } = await startOnlineRun(3, 150);
      cli.signal('SIGTERM');
      const result = await cli.waitForExit(20_000);
      expectExit(result, 143);
      const last = result.stderr.trim().split('\n').at(-1);
      expect(last).toMatch(
        new RegExp(
          `^Interrupted: \\d+ of ${ROWS} assessments committed; resume with: npm run cli -- migrate-equipment --online --resume ${runId}; undo with: npm run cli -- revert-equipment-migration ${runId}$`,
        ),
      );
      const state = await committed(runId);
      expect(state.pages).toBeGreaterThanOrEqual(3);
      // Exactly the committed pages: every changed row has its audit row, and no other row changed.
      expect(state.changed).toBe(state.changes);
      expect(await runRow(runId)).toMatchObject({ status: 'interrupted' });
      await expectResumeFinishes(runId);
    });

    it('kill -9: the run stays "running" with its lock gone, migration-runs shows it interrupted, --resume latest finishes', async () => {
      await fresh();
      const { cli, runId } = await startOnlineRun(2, 150);
      cli.signal('SIGKILL');
      await cli.exited;
      await pollUntil(async () => {
        const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE l.locktype = 'advisory' AND l.objid = 1162956103 AND d.datname = current_database()`);
        return n === 0 ? true : undefined;
      }, (found) => found !== undefined, { what: 'the lock to go with the killed process', timeoutMs: 20_000 });
      expect(await runRow(runId)).toMatchObject({ status: 'running' });
      const listed = await run(['migration-runs']);
      expect(listed.stdout.find((l) => l.startsWith(runId))).toMatch(new RegExp(`migrate  online  interrupted  \\d+ / ${ROWS}  migrated \\d+`));
      const state = await committed(runId);
      expect(state.changed).toBe(state.changes);
      await expectResumeFinishes(runId, 'latest');
    });

    it('--max-errors exceeded part-way: exit 4 with both ways on; then revert restores the start exactly', async () => {
      await fresh();
      const result = await migrate(['--online', '--batch-size', '10', '--max-errors', '3']);
      expect(result.exitCode).toBe(ExitCode.StoppedPartWay);
      const runId = runIdIn(result.stdout.join('\n'))!;
      expect(result.stderr.at(-1)).toMatch(
        new RegExp(`^Stopped part-way: Aborted: more than 3 error rows \\(--max-errors 3\\); the page was rolled back; \\d+ of ${ROWS} assessments committed; resume with: .*--resume ${runId}; undo with: .*revert-equipment-migration ${runId}$`),
      );
      expect(await runRow(runId)).toMatchObject({ status: 'failed' });
      const state = await committed(runId);
      expect(state.pages).toBeGreaterThan(0);
      expect(state.changed).toBe(state.changes);
      const reverted = await run(['revert-equipment-migration', runId]);
      expect({ exit: reverted.exitCode, last: reverted.stdout.at(-1) }).toEqual({ exit: 0, last: 'Revert completed successfully!' });
      expect(reverted.stdout).toContain(`Reverted: ${state.changes}`);
      expect(rowDifferences(await comparableAssessments(db.dataSource), start)).toEqual([]);
      // A reverted run cannot be resumed.
      const again = await run(['migrate-equipment', '--online', '--resume', runId]);
      expect(again.exitCode).toBe(ExitCode.Usage);
      expect(again.stderr.at(-1)).toMatch(/was reverted .*cannot be resumed/);
    });

    it('a terminated backend part-way: exit 4; --resume finishes', async () => {
      await fresh();
      const { cli, runId } = await startOnlineRun(2, 150);
      await db.dataSource.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'equipment-migration' AND pid <> pg_backend_pid()`,
      );
      const result = await cli.waitForExit(20_000);
      expectExit(result, 4);
      expect(result.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^Stopped part-way: .*assessments committed; resume with: .*--resume ${runId}; undo with: .*`));
      const state = await committed(runId);
      expect(state.changed).toBe(state.changes);
      await expectResumeFinishes(runId);
    });

    it("the lock's session lost while a page is open: that page rolls back, the run stops part-way (exit 4), --resume finishes", async () => {
      await fresh();
      let pagesWritten = 0;
      const hooks = {
        afterPageWrite: async (written: number[]) => {
          if (written.length === 0 || ++pagesWritten !== 3) return;
          // The third page has written and is not committed: end the session that holds the run's lock.
          const [{ terminated }] = await db.dataSource.query(
            `SELECT count(pg_terminate_backend(l.pid))::int AS terminated FROM pg_locks AS l
              WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          );
          expect(terminated).toBe(1);
        },
      };
      const result = await migrate(['--online', '--batch-size', '10'], { hooks });
      expect(result.exitCode).toBe(ExitCode.StoppedPartWay);
      expect(result.stderr.at(-1)).toMatch(
        /^Stopped part-way: Lost the database connection \((the session holding the migration lock ended: )?terminating connection due to administrator command\); the page was rolled back; /,
      );
      const runId = runIdIn(result.stdout.join('\n'))!;
      const state = await committed(runId);
      // Only the pages before the third committed: none after the lock was gone.
      expect((await runRow(runId)).checkpoint.pages).toBe(2);
      expect(state.changed).toBe(state.changes);
      await expectResumeFinishes(runId);
    });

    it('an interrupted run, reverted with --online, gives the start back; rows changed meanwhile are kept as conflicts', async () => {
      await fresh();
      const failed = await migrate(['--online', '--batch-size', '10', '--max-errors', '5']);
      expect(failed.exitCode).toBe(ExitCode.StoppedPartWay);
      const runId = runIdIn(failed.stdout.join('\n'))!;
      const [{ id: touched }] = await db.dataSource.query(`SELECT assessment_id AS id FROM equipment_migration_changes WHERE run_id = $1 ORDER BY 1 LIMIT 1`, [runId]);
      await db.dataSource.query(`UPDATE assessments SET equipment = '"no_equipment"', equipment_items = '[]' WHERE id = $1`, [touched]);
      const userChanged = (await comparableAssessments(db.dataSource))[String(touched)];
      const reverted = await run(['revert-equipment-migration', runId, '--online', '--batch-size', '3']);
      expect({ exit: reverted.exitCode, last: reverted.stdout.at(-1) }).toEqual({ exit: 0, last: 'Revert completed successfully!' });
      expect(reverted.stdout).toContain('Conflicts: 1');
      const now = await comparableAssessments(db.dataSource);
      expect(now[String(touched)]).toBe(userChanged);
      expect(rowDifferences({ ...now, [touched]: start[String(touched)] }, start)).toEqual([]);
      const [revertRun] = await db.dataSource.query(`SELECT mode, status FROM equipment_migration_runs WHERE reverts_run_id = $1`, [runId]);
      expect(revertRun).toEqual({ mode: 'online', status: 'completed' });
    });
  });

  describe('refusals', () => {
    beforeAll(async () => {
      await fresh();
    });

    it.each([
      [['--resume', 'latest'], /--resume needs --online/],
      [['--pause', '10'], /--pause needs --online/],
      [['--online', '--resume', 'nope'], /--resume takes a run id/],
      [['--online', '--expect-plan', 'a'.repeat(64)], /--online --expect-plan needs the dry run's --save-report file/],
      [['--online', '--resume', '00000000-0000-4000-8000-000000000009'], /No migration run 00000000-0000-4000-8000-000000000009/],
      [['--online', '--resume', 'latest'], /No interrupted or failed online run to resume/],
      [['--online', '--dry-run', '--resume', 'latest'], /--resume continues a real online run/],
    ])('migrate-equipment %j: exit 2 with one line, nothing changed', async (args, line) => {
      const before = await comparableAssessments(db.dataSource);
      const result = await run(['migrate-equipment', ...args]);
      expect(result.exitCode).toBe(ExitCode.Usage);
      expect(result.stderr.join('\n')).toMatch(line);
      expect(await comparableAssessments(db.dataSource)).toEqual(before);
    });

    it('--online --dry-run is the ordinary dry run, with one line saying so', async () => {
      const before = await comparableAssessments(db.dataSource);
      const result = await migrate(['--online', '--dry-run']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('--online with --dry-run: the dry run is one transaction, rolled back, as without --online');
      expect(result.stdout).toContain('DRY RUN MODE - No changes will be saved');
      expect(await comparableAssessments(db.dataSource)).toEqual(before);
    });

    it('pages of 1000 by default (their locks are held until each commits); a completed online run cannot be resumed (exit 2)', async () => {
      const done = await migrate(['--online']);
      expect(done.exitCode).toBe(0);
      const runId = runIdIn(done.stdout.join('\n'))!;
      expect(done.stdout).toContain(`Online run ${runId}: each page of up to 1000 assessments commits on its own`);
      const again = await run(['migrate-equipment', '--online', '--resume', runId]);
      expect(again.exitCode).toBe(ExitCode.Usage);
      expect(again.stderr.at(-1)).toBe(`Run ${runId} is completed: there is nothing to resume`);
    });
  });

  describe('reviewed plans', () => {
    it('each page is checked against the dry run\'s rows: a row changed since stops the run at its page (exit 4), naming it', async () => {
      await fresh();
      const plan = join(suite.folder, 'plan.json');
      expect((await migrate(['--dry-run', '--save-report', plan])).exitCode).toBe(0);
      const planned: { assessment_id: number; status: string }[] = readReport(plan).details;
      const changedId = planned.filter((d) => d.status === 'migrated')[20].assessment_id;
      await db.dataSource.query(`UPDATE assessments SET equipment = '"trampoline"' WHERE id = $1`, [changedId]);
      const result = await migrate(['--online', '--batch-size', '10', '--expect-plan', plan]);
      expect(result.exitCode).toBe(ExitCode.StoppedPartWay);
      expect(result.stderr.at(-1)).toMatch(new RegExp(`^Stopped part-way: The plan differs from the reviewed one in 1 rows of the page after assessment -?\\d+ \\(assessments ${changedId}\\)`));
      const runId = runIdIn(result.stdout.join('\n'))!;
      const [{ below }] = await db.dataSource.query(
        `SELECT bool_and(assessment_id < $2) AS below FROM equipment_migration_changes WHERE run_id = $1`,
        [runId, changedId],
      );
      expect(below).toBe(true);
    });

    it('the same review, unchanged data: the online run completes with the reviewed fingerprint', async () => {
      await fresh();
      const plan = join(suite.folder, 'plan-same.json');
      expect((await migrate(['--dry-run', '--save-report', plan])).exitCode).toBe(0);
      const result = await migrate(['--online', '--batch-size', '10', '--expect-plan', plan]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`Plan fingerprint: ${(readReport(plan).run as { plan_fingerprint?: string }).plan_fingerprint}`);
    });
  });

  describe('next to other runs and the app', () => {
    it("an online run reads its pages ahead on a read-only session of its own, outside the pages' transactions", async () => {
      await fresh();
      let pages = 0;
      let seen: { readers: number; readerInTransaction?: boolean; pageInTransaction: boolean } | undefined;
      const hooks = {
        afterPageRead: async () => {
          pages += 1;
          if (pages !== 2) return; // page 2 was read ahead while page 1's transaction was open
          const rows: { xid: boolean; state: string; query: string }[] = await db.dataSource.query(
            `SELECT backend_xid IS NOT NULL AS xid, state, query FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'equipment-migration'`,
          );
          const readers = rows.filter((r) => !r.xid && /"pageBytes"/.test(r.query));
          seen = {
            readers: readers.length,
            readerInTransaction: readers[0] && readers[0].state !== 'idle',
            // Page 1's transaction is open on another session meanwhile (it classifies and writes after this read).
            pageInTransaction: rows.some((r) => !/"pageBytes"/.test(r.query) && r.state !== 'idle'),
          };
        },
      };
      const result = await migrate(['--online', '--batch-size', '10'], { hooks });
      expect(result.exitCode).toBe(0);
      // The reader has no transaction id and sits idle (autocommit) between reads; the page works on its own session.
      expect(seen).toEqual({ readers: 1, readerInTransaction: false, pageInTransaction: true });
    });

    it("an online run's transactions all run on one session of its own; its throttle probes run on its lock's", async () => {
      await fresh();
      const seen: { writer?: number; lockHolder: number; lockSessionLastQuery: string }[] = [];
      const hooks = {
        afterPageWrite: async (written: number[]) => {
          if (written.length === 0) return;
          const rows: { pid: number; xid: boolean; query: string }[] = await db.dataSource.query(
            `SELECT pid, backend_xid IS NOT NULL AS xid, query FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'equipment-migration'`,
          );
          const [{ pid: lockHolder }] = await db.dataSource.query(
            `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          );
          // The page's transaction has written, so it alone has a transaction id.
          const writers = rows.filter((r) => r.xid);
          expect(writers).toHaveLength(1);
          seen.push({ writer: writers[0].pid, lockHolder, lockSessionLastQuery: rows.find((r) => r.pid === lockHolder)!.query });
        },
      };
      const result = await migrate(['--online', '--batch-size', '10'], { hooks });
      expect(result.exitCode).toBe(0);
      expect(seen.length).toBeGreaterThan(5);
      expect(new Set(seen.map((s) => s.writer)).size).toBe(1);
      expect(new Set(seen.map((s) => s.lockHolder)).size).toBe(1);
      expect(seen[0].writer).not.toBe(seen[0].lockHolder);
      // Before each page the replica-lag probe ran on the lock's session: it doubles as the check that the lock is held.
      for (const s of seen) expect(s.lockSessionLastQuery).toMatch(/pg_stat_replication/);
    });

    it('a session waiting on a page\'s row lock holds the next page back, with the throttle line', async () => {
      await fresh();
      const app: Client = await openSession(db.url);
      let blocking: Promise<unknown> | undefined;
      try {
        const hooks = {
          afterPageWrite: async (written: number[]) => {
            if (blocking || written.length === 0) return;
            // The app tries to update a row the page just wrote: it waits on the page's row lock until the commit.
            blocking = app.query(`UPDATE assessments SET age = 1 WHERE id = $1`, [written[0]]);
            await pollUntil(async () => {
              const [{ n }] = await db.dataSource.query(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE datname = current_database() AND application_name = 'reliability-test-session' AND wait_event_type = 'Lock'`,
              );
              return n > 0 ? true : undefined;
            }, (found) => found !== undefined, { what: 'the app session to wait on the page', timeoutMs: 20_000 });
          },
        };
        const result = await migrate(['--online', '--batch-size', '10', '--max-blocked-sessions', '0'], { hooks });
        expect(result.exitCode).toBe(0);
        expect(result.stderr).toContain('Throttled: 1 sessions blocked by the run > 0; waiting');
        await blocking;
      } finally {
        await app.end();
      }
    });

    it('an online run holds the lock for the whole run: another online run and an atomic run exit 3', async () => {
      await fresh();
      const { cli } = await startOnlineRun(1, 200);
      const online = await migrate(['--online']);
      const atomic = await migrate();
      expect([online.exitCode, atomic.exitCode]).toEqual([ExitCode.Locked, ExitCode.Locked]);
      expect(atomic.stderr.at(-1)).toMatch(/^Another migration run is in progress/);
      cli.signal('SIGINT');
      expectExit(await cli.waitForExit(20_000), 130);
    });

    it('a row the app changes between a page\'s read and its write is never overwritten: it is decided from its new value', async () => {
      await fresh();
      const app: Client = await openSession(db.url);
      try {
        let changedId: number | undefined;
        const hooks = {
          afterPageRead: async (candidates: { id: number }[]) => {
            if (changedId !== undefined || candidates.length < 3) return;
            changedId = candidates[2].id;
            await app.query(`UPDATE assessments SET equipment = '"no_equipment"', equipment_items = '[]' WHERE id = $1`, [changedId]);
          },
        };
        const result = await suite.run(['migrate-equipment', '--online', '--no-progress', '--batch-size', '10'], { hooks });
        expect(result.exitCode).toBe(0);
        const [row] = await db.dataSource.query(`SELECT equipment FROM assessments WHERE id = $1`, [changedId]);
        expect(row.equipment).toBe('no_equipment');
      } finally {
        await app.end();
      }
    });

    it('between pages no row is locked: an app write to a migrated row goes through while the run goes on', async () => {
      await fresh();
      const app: Client = await openSession(db.url);
      try {
        await app.query(`SET lock_timeout = '2s'`);
        const { cli, runId } = await startOnlineRun(2, 300);
        const [{ id }] = await db.dataSource.query(`SELECT assessment_id AS id FROM equipment_migration_changes WHERE run_id = $1 ORDER BY 1 LIMIT 1`, [runId]);
        await app.query(`UPDATE assessments SET age = age + 1 WHERE id = $1`, [id]);
        expect(cli.running).toBe(true);
        expectExit(await cli.waitForExit(60_000), 0);
      } finally {
        await app.end();
      }
    });
  });
});
