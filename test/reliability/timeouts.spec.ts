import { Client } from 'pg';
import { SAMPLE_SHAPES, SampleAssessment } from '../../src/demo/sample-assessments';
import type { CandidateRow } from '../../src/equipment-migration/assessment-migration.repository';
import { insertSamples, snapshotAssessments, truncateAll } from '../helpers/fixtures';
import { countsOf, openSession, samplesOf } from '../helpers/migration-checks';
import { pollUntil } from '../helpers/poll';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * Bounded waits: a run never hangs on another session's lock, a slow statement or a dead connection. Each ends the
 * run with exit 1 and a message naming the cause (and the option that bounds it), and nothing is changed.
 */

const SHAPES = [...SAMPLE_SHAPES, ...SAMPLE_SHAPES];
/** A candidate row (["no_equipment","full_gym"], migrates) in the middle of the table; ids are 1..n in SHAPES order. */
const TARGET_ID = SAMPLE_SHAPES.length + SAMPLE_SHAPES.findIndex((s) => s.name === 'array of two') + 1;
const APPLICATION_NAME = 'equipment-migration';

const TERMINATE_RUN_BACKENDS = `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
  WHERE datname = current_database() AND application_name = '${APPLICATION_NAME}' AND pid <> pg_backend_pid()`;

describe('bounded waits (real PostgreSQL)', () => {
  let session: Client;
  const { db, migrate, cli } = useTestSuite({ teardown: () => session?.end() });
  let samples: SampleAssessment[];

  beforeAll(async () => {
    session = await openSession(db.url);
    samples = samplesOf(SHAPES, 'timeouts');
    await restoreSamples();
    const [row] = await db.dataSource.query(`SELECT equipment::text AS equipment FROM assessments WHERE id = $1`, [TARGET_ID]);
    expect(JSON.parse(row.equipment)).toEqual(['no_equipment', 'full_gym']);
  });

  /** The legacy data every test here starts from, with an empty audit trail. */
  async function restoreSamples(): Promise<void> {
    await truncateAll(db.dataSource);
    await db.dataSource.query('TRUNCATE equipment_migration_runs, equipment_migration_changes, equipment_migration_errors');
    await insertSamples(db.dataSource, samples);
  }

  /** Runs `work` while the other session holds a row lock (SELECT … FOR UPDATE, transaction left open) on TARGET_ID. */
  async function whileRowLocked<T>(work: () => Promise<T>): Promise<T> {
    await session.query('BEGIN');
    try {
      const locked = await session.query('SELECT id FROM assessments WHERE id = $1 FOR UPDATE', [TARGET_ID]);
      expect(locked.rowCount).toBe(1);
      return await work();
    } finally {
      await session.query('ROLLBACK');
    }
  }

  /** A BEFORE UPDATE trigger that sleeps `seconds` when TARGET_ID is written. */
  async function withSlowTrigger<T>(seconds: number, work: () => Promise<T>): Promise<T> {
    await db.dataSource.query(`CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = ${TARGET_ID} THEN PERFORM pg_sleep(${seconds}); END IF;
        RETURN NEW;
      END $$`);
    await db.dataSource.query('CREATE TRIGGER slow_write BEFORE UPDATE ON assessments FOR EACH ROW EXECUTE FUNCTION slow_write()');
    try {
      return await work();
    } finally {
      await db.dataSource.query('DROP TRIGGER IF EXISTS slow_write ON assessments');
      await db.dataSource.query('DROP FUNCTION IF EXISTS slow_write()');
    }
  }

  /** Nothing the run did is left behind, and it left no session of its own. */
  async function expectNothingChanged(before: Awaited<ReturnType<typeof snapshotAssessments>>): Promise<void> {
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    // Its backends are gone too (a child process closes its sockets as it exits; an in-process run releases them).
    await pollUntil(async () => {
      const [{ count }] = await db.dataSource.query(
        `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND state <> 'idle'`,
        [APPLICATION_NAME],
      );
      return count === 0 ? true : undefined;
    }, (found) => found !== undefined, { what: 'the run to leave no busy session behind', timeoutMs: 20_000 });
  }

  describe('another session holds a row lock on a candidate', () => {
    it('--lock-timeout 1: exit 1 naming lock_timeout and --lock-timeout; rolled back, table byte-identical', async () => {
      const before = await snapshotAssessments(db.dataSource);
      const result = await whileRowLocked(() =>
        cli(['migrate-equipment', '--lock-timeout', '1', '--batch-size', '7', '--no-progress'], { timeoutMs: 30000 }),
      );
      expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 1, signal: null });
      expect(result.stderr).toMatch(/Gave up waiting for a row lock after 1s \(lock_timeout, --lock-timeout\)/);
      expect(result.stderr).toContain('rolled back, nothing was changed');
      expect(result.stdout).not.toContain('Migration completed successfully!');
      await expectNothingChanged(before);
    });

    it('--online --lock-timeout 1: the page on the locked row gives up after 1s (exit 4), the pages before it stay', async () => {
      const before = await snapshotAssessments(db.dataSource);
      const result = await whileRowLocked(() =>
        cli(['migrate-equipment', '--online', '--lock-timeout', '1', '--batch-size', '7', '--no-progress'], { timeoutMs: 30000 }),
      );
      expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 4, signal: null });
      expect(result.stderr).toMatch(/Gave up waiting for a row lock after 1s \(lock_timeout, --lock-timeout\)/);
      expect(result.stderr).toContain('the page was rolled back');
      const runId = /Online run ([0-9a-f-]{36})/.exec(result.stdout)![1];
      const [{ pages, lastId }] = await db.dataSource.query(
        `SELECT (checkpoint->>'pages')::int AS pages, (checkpoint->>'lastId')::int AS "lastId" FROM equipment_migration_runs WHERE id = $1`,
        [runId],
      );
      expect(pages).toBeGreaterThan(0);
      expect(lastId).toBeLessThan(TARGET_ID);
      const after = await snapshotAssessments(db.dataSource);
      expect(after.find((row) => row.id === TARGET_ID)).toEqual(before.find((row) => row.id === TARGET_ID));

      // Resumed without --lock-timeout, the run keeps the one it recorded: the locked row stops it again after 1s.
      const resumed = await whileRowLocked(() => cli(['migrate-equipment', '--online', '--resume', runId, '--no-progress'], { timeoutMs: 30000 }));
      expect({ exitCode: resumed.exitCode, signal: resumed.signal }).toEqual({ exitCode: 4, signal: null });
      expect(resumed.stderr).toMatch(/Gave up waiting for a row lock after 1s \(lock_timeout, --lock-timeout\)/);
      const finished = await cli(['migrate-equipment', '--online', '--resume', runId, '--no-progress'], { timeoutMs: 30000 });
      expect({ exitCode: finished.exitCode, last: finished.stdout.trim().split('\n').at(-1) }).toEqual({ exitCode: 0, last: 'Migration completed successfully!' });
      await restoreSamples(); // the legacy data the other tests start from
    });

    it('--lock-timeout 0 --statement-timeout 1: the statement timeout still bounds the wait', async () => {
      const before = await snapshotAssessments(db.dataSource);
      const result = await whileRowLocked(() =>
        cli(['migrate-equipment', '--lock-timeout', '0', '--statement-timeout', '1', '--no-progress'], { timeoutMs: 30000 }),
      );
      expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 1, signal: null });
      expect(result.stderr).toMatch(/statement_timeout, --statement-timeout/);
      expect(result.stderr).toContain('rolled back, nothing was changed');
      await expectNothingChanged(before);
    });

    it('once the lock is released, the same run completes (the lock was the only obstacle)', async () => {
      const result = await cli(['migrate-equipment', '--dry-run', '--lock-timeout', '1', '--no-progress'], { timeoutMs: 30000 });
      expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
      expect(printedCounts(result.stdout)).toEqual(countsOf(SHAPES));
    });
  });

  describe('a statement that runs too long', () => {
    it('--statement-timeout 1 with a trigger sleeping 2s on one row: exit 1 naming statement_timeout; table byte-identical', async () => {
      const before = await snapshotAssessments(db.dataSource);
      const result = await withSlowTrigger(2, () =>
        cli(['migrate-equipment', '--statement-timeout', '1', '--batch-size', '7', '--no-progress'], { timeoutMs: 30000 }),
      );
      expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 1, signal: null });
      expect(result.stderr).toMatch(/A statement ran longer than 1s \(statement_timeout, --statement-timeout\)/);
      expect(result.stderr).toContain('rolled back, nothing was changed');
      expect(result.stdout).not.toContain('Migration completed successfully!');
      await expectNothingChanged(before);
    });
  });

  describe('losing the connection mid-run', () => {
    it('terminated between pages (from a hook): exit 1 with "Lost the database connection", table unchanged', async () => {
      const before = await snapshotAssessments(db.dataSource);
      let pages = 0;
      let terminated = 0;
      const hooks = {
        afterPageRead: async (_candidates: CandidateRow[]) => {
          pages += 1;
          if (pages !== 3) return;
          // Page 1 has been written inside the run's transaction; page 2's write (SAVEPOINT, UPDATE, RELEASE in one
          // message) was sent while this page was read, and page 1's error rows after it. Wait until they are done
          // too, so the connection is lost while the run sits idle in its transaction, with nothing in flight.
          await pollUntil(async () => {
            const { rows: busy } = await session.query(
              `SELECT state, query FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = $1 AND backend_xid IS NOT NULL`,
              [APPLICATION_NAME],
            );
            const last = busy.length === 1 && busy[0].state === 'idle in transaction' ? busy[0].query : '';
            // (The query text shown is cut at track_activity_query_size: a page write shows as its beginning.)
            const idle = /^SAVEPOINT isolated_write;/.test(last) || /^INSERT INTO "equipment_migration_errors"/.test(last);
            return idle ? true : undefined;
          }, (found) => found !== undefined, { what: 'the run to be idle in its transaction after writing page 2', timeoutMs: 20_000 });
          const { rows } = await session.query(TERMINATE_RUN_BACKENDS);
          terminated = rows.filter((r: { terminated: boolean }) => r.terminated).length;
          // Deterministic: the run's backend is gone before the run sends its next statement.
          await pollUntil(async () => {
            const { rows: left } = await session.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
              [APPLICATION_NAME],
            );
            return left.length === 0 ? true : undefined;
          }, (found) => found !== undefined, { what: "the run's backends to exit", timeoutMs: 20_000 });
          // Their last words (FATAL: terminating connection) were sent before they exited; one turn of the event loop
          // lets the run's client read them before the run sends its next statement. (Without it, the next
          // statement may race the message and fail with it instead: the other interleaving, also covered below.)
          await new Promise((resolve) => setImmediate(resolve));
        },
      };
      const result = await migrate(['--batch-size', '5'], { hooks });
      expect(terminated).toBeGreaterThanOrEqual(1);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).not.toContain('Migration completed successfully!');
      await expectNothingChanged(before);
      expect(result.stderr).toEqual([
        expect.stringMatching(/^Lost the database connection \(.+\); PostgreSQL rolled the transaction back, nothing was changed$/),
      ]);
    }, 30000);

    it("only the pages' reader terminated (between pages): exit 1 with \"Lost the database connection\", table unchanged", async () => {
      const before = await snapshotAssessments(db.dataSource);
      let pages = 0;
      let reader: { pid: number; state: string }[] = [];
      let writers = 0;
      const hooks = {
        afterPageRead: async (_candidates: CandidateRow[]) => {
          pages += 1;
          if (pages !== 3) return;
          // An atomic run reads its pages on a second session: autocommit (idle between reads, outside any
          // transaction), with no transaction id (it never writes), beside the one session that writes.
          const { rows } = await session.query(
            `SELECT pid, state, query, backend_xid IS NOT NULL AS writes FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = $1`,
            [APPLICATION_NAME],
          );
          reader = rows.filter((r: { writes: boolean; query: string }) => !r.writes && /"pageBytes"/.test(r.query));
          writers = rows.filter((r: { writes: boolean }) => r.writes).length;
          if (reader.length !== 1) return;
          await session.query('SELECT pg_terminate_backend($1)', [reader[0].pid]);
          await pollUntil(async () => {
            const { rows: left } = await session.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [reader[0].pid]);
            return left.length === 0 ? true : undefined;
          }, (found) => found !== undefined, { what: "the reader's backend to exit", timeoutMs: 20_000 });
        },
      };
      const result = await migrate(['--batch-size', '5'], { hooks });
      expect({ readers: reader.length, writers, state: reader[0]?.state }).toEqual({ readers: 1, writers: 1, state: 'idle' });
      expect(result.exitCode).toBe(1);
      expect(result.stdout).not.toContain('Migration completed successfully!');
      expect(result.stderr).toEqual([
        expect.stringMatching(/^Lost the database connection \(.+\); PostgreSQL rolled the transaction back, nothing was changed$/),
      ]);
      await expectNothingChanged(before);
    }, 30000);

    it('terminated while a write is executing (child process): exit 1 with "Lost the database connection", table unchanged', async () => {
      const before = await snapshotAssessments(db.dataSource);
      const result = await withSlowTrigger(60, async () => {
        const running = cli(['migrate-equipment', '--batch-size', '7', '--no-progress'], { timeoutMs: 30000 });
        // Wait (polling) until the run's write is inside the trigger's sleep, then kill its backend.
        await pollUntil(async () => {
          const { rows } = await session.query(
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND wait_event = 'PgSleep'`,
            [APPLICATION_NAME],
          );
          return rows.length > 0 ? rows : undefined;
        }, (found) => found !== undefined, { what: 'the run to be sleeping in the trigger', timeoutMs: 20_000 });
        const { rows } = await session.query(TERMINATE_RUN_BACKENDS);
        expect(rows.some((r: { terminated: boolean }) => r.terminated)).toBe(true);
        return running;
      });
      expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 1, signal: null });
      expect(result.stderr).toMatch(/^Lost the database connection \(.+\); PostgreSQL rolled the transaction back, nothing was changed$/m);
      expect(result.stdout).not.toContain('Migration completed successfully!');
      await expectNothingChanged(before);
    }, 40000);
  });
});
