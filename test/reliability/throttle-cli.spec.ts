import { Client } from 'pg';
import { REALISTIC_MIX } from '../../src/demo/sample-assessments';
import { expectExit, killStrayProcesses, startCli } from '../helpers/cli-process';
import { seedMix, truncateAll } from '../helpers/fixtures';
import { pollUntil } from '../helpers/poll';
import { printedCounts, printedReport } from '../helpers/printed-counts';
import { LocalServer, Standby, startPrimary, startStandby } from '../helpers/standby';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';

/**
 * `migrate-equipment --online` held by a real standby whose replay is paused (pg_wal_replay_pause()), the run's own
 * pages being the writes it lags behind, and by an app session waiting on a page's row lock. The database lives on a
 * private primary (test/helpers/standby.ts), so the paused standby throttles no other test file's runs. No timing
 * assertions: lines, their order, exit codes, the table.
 */

const TIMEOUT_MS = 240_000;
jest.setTimeout(TIMEOUT_MS);

const ROWS = 400;
// One candidate per page and a pause between pages: enough pages for the lag to pass 1 s while the run is on.
const ONLINE = ['migrate-equipment', '--online', '--batch-size', '1', '--pause', '100', '--max-replication-lag', '1', '--no-progress'];
const THROTTLE_LINE = /^Throttled: replica lag \d+\.\d s > 1 s; waiting$/m;

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

describe('migrate-equipment --online throttled by PostgreSQL', () => {
  let primary: LocalServer;
  let standby: Standby;
  let db: TestDatabase;

  /** Rows the run changed and committed so far (its audit trail). */
  const changedRows = async () => (await db.dataSource.query('SELECT count(*)::int AS n FROM equipment_migration_changes'))[0].n as number;

  /**
   * Pauses replay once the run has committed a page: what it writes before its first page (its run record) would
   * otherwise lag already, and a run held before any commit ends with exit 1, not 4.
   */
  async function pauseAfterFirstPage(): Promise<void> {
    expect(await pollUntil(changedRows, (n) => n > 0, { timeoutMs: 120_000 })).toBeGreaterThan(0);
    await standby.pauseReplay();
  }

  beforeAll(async () => {
    primary = await startPrimary();
    db = await createTestDatabase({ server: primary.url });
    standby = await startStandby(primary.url);
  });

  beforeEach(async () => {
    await truncateAll(db.dataSource);
    await seedMix(db.dataSource, ROWS, REALISTIC_MIX);
    // Replay is paused only after the seed is replayed: the lag that holds the run is then the run's own pages'.
    await standby.waitUntilCaughtUp();
  });

  afterEach(async () => {
    await killStrayProcesses();
    await standby.resumeReplay();
  });

  afterAll(async () => {
    await standby?.stop();
    await db?.drop();
    await primary?.stop();
  });

  it('waits with the throttle line while replay is paused, and finishes once it resumes', async () => {
    const samples = await db.dataSource.query('SELECT count(*)::int AS n FROM assessments');
    expect(samples[0].n).toBe(ROWS);
    const run = startCli(ONLINE, db.env, { timeoutMs: TIMEOUT_MS - 30_000 });
    await pauseAfterFirstPage();
    await run.waitFor('stderr', THROTTLE_LINE, 150_000);
    expect(run.running).toBe(true);
    const whileHeld = await changedRows();

    await standby.resumeReplay();
    const result = await run.exited;
    expectExit(result, 0);
    expect(result.stderr).toMatch(THROTTLE_LINE);
    const counts = printedCounts(result.stdout);
    expect(counts.total_processed).toBe(ROWS);
    // Held part-way: pages were committed before the wait, and more after it.
    expect(whileHeld).toBeGreaterThan(0);
    expect(await changedRows()).toBe(counts.migrated + counts.flagged);
    expect(whileHeld).toBeLessThan(await changedRows());
  });

  it('stops part-way with exit 4 once it was held longer than --max-throttle', async () => {
    const run = startCli([...ONLINE, '--max-throttle', '2'], db.env, { timeoutMs: TIMEOUT_MS - 30_000 });
    await pauseAfterFirstPage();
    const result = await run.exited;
    expectExit(result, 4);
    const lines = result.stderr.split('\n');
    const throttled = lines.findIndex((line) => THROTTLE_LINE.test(line));
    const stopped = lines.findIndex((line) => /Throttled for more than 2 s \(--max-throttle 2\): replica lag \d+\.\d s > 1 s/.test(line));
    expect(throttled).toBeGreaterThanOrEqual(0);
    expect(stopped).toBeGreaterThan(throttled);
    // Committed pages remain; the rest is left for --resume.
    expect(printedReport(result.stdout)).toBe(false); // no final report: it stopped
    expect(await changedRows()).toBeGreaterThan(0);
  });

  it('is refused before anything is done (exit 2, one line) when its role cannot see the standbys\' positions', async () => {
    // Every privilege the run needs (README), but not pg_monitor: pg_stat_replication lists the standby without its lag.
    await db.dataSource.query(`CREATE ROLE throttle_runner LOGIN;
      GRANT SELECT, UPDATE ON assessments TO throttle_runner; GRANT SELECT ON users, typeorm_migrations TO throttle_runner;
      GRANT SELECT, INSERT, UPDATE ON equipment_migration_runs TO throttle_runner;
      GRANT SELECT, INSERT ON equipment_migration_changes, equipment_migration_errors TO throttle_runner`);
    try {
      const before = await changedRows();
      const env = { ...db.env, DATABASE_URL: db.url.replace('postgres@', 'throttle_runner@') };
      const result = await startCli(['migrate-equipment', '--online', '--no-progress'], env, { timeoutMs: TIMEOUT_MS - 30_000 }).exited;
      expectExit(result, 2);
      expect(result.stderr).toMatch(
        /^Cannot measure replica lag: pg_stat_replication hides the standbys' positions from role "throttle_runner"; grant it pg_monitor \(or pg_read_all_stats\); nothing was done$/m,
      );
      expect(await changedRows()).toBe(before);
    } finally {
      await db.dataSource.query('DROP OWNED BY throttle_runner; DROP ROLE throttle_runner');
    }
  });

  describe('held by a session blocked on its page lock', () => {
    const GATE = 4242;

    afterEach(async () => {
      await db.dataSource.query('DROP TRIGGER IF EXISTS gate_page ON equipment_migration_runs');
      await db.dataSource.query('DROP FUNCTION IF EXISTS gate_page()');
      await db.dataSource.query('DROP TABLE IF EXISTS gate_state');
    });

    it('holds the next page back with the throttle line, and never overwrites the waiting app write', async () => {
      // The page that writes `target` waits, when it records its checkpoint (its row locks held, its write's savepoint
      // released), on an advisory lock the test holds: so the app's write of that row is sure to queue behind the page
      // before the page measures who waits on it. (Gated on the row write itself, the app would be woken for a moment
      // when the savepoint is released, and re-queue on the top transaction: a loaded machine can measure that moment.)
      const [{ id: target }] = await db.dataSource.query(
        `SELECT id FROM assessments WHERE equipment @> '["full_gym"]' AND jsonb_array_length(equipment) > 1 ORDER BY id OFFSET 3 LIMIT 1`,
      );
      await db.dataSource.query('CREATE TABLE gate_state (fired boolean NOT NULL); INSERT INTO gate_state VALUES (false)');
      await db.dataSource.query(`CREATE FUNCTION gate_page() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM equipment_migration_changes WHERE run_id = NEW.id AND assessment_id = ${Number(target)}) THEN
            UPDATE gate_state SET fired = true WHERE NOT fired;
            IF FOUND THEN PERFORM pg_advisory_xact_lock_shared(${GATE}); END IF;
          END IF;
          RETURN NEW;
        END $$`);
      await db.dataSource.query('CREATE TRIGGER gate_page BEFORE UPDATE ON equipment_migration_runs FOR EACH ROW EXECUTE FUNCTION gate_page()');
      const gate = await connect(db.url);
      const app = await connect(db.url);
      try {
        await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
        const run = startCli(['migrate-equipment', '--online', '--batch-size', '1', '--max-blocked-sessions', '0', '--no-progress'], db.env, {
          timeoutMs: TIMEOUT_MS - 30_000,
        });
        const waitingOnGate = async () =>
          (await gate.query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [GATE])).rows;
        const [{ pid: pagePid }] = await pollUntil(waitingOnGate, (rows) => rows.length === 1, { timeoutMs: 120_000 });

        const appPid = (await app.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        const appWrite = app.query(`UPDATE assessments SET equipment = '"no_equipment"' WHERE id = $1`, [target]);
        const blockers = async () => (await gate.query('SELECT pg_blocking_pids($1) AS pids', [appPid])).rows[0].pids as number[];
        expect(await pollUntil(blockers, (pids) => pids.includes(pagePid), { timeoutMs: 60_000 })).toContain(pagePid);
        expect(run.stderr).not.toMatch(/^Throttled:/m);

        await gate.query('SELECT pg_advisory_unlock($1)', [GATE]);
        await appWrite;
        const result = await run.exited;
        expectExit(result, 0);
        expect(result.stderr.split('\n').filter((line) => line.startsWith('Throttled:'))).toEqual([
          'Throttled: 1 sessions blocked by the run > 0; waiting',
        ]);
        // The run wrote the row first (its page committed), then the app's write went through and stays.
        expect(printedCounts(result.stdout).migrated).toBeGreaterThan(0);
        const [row] = await db.dataSource.query('SELECT equipment FROM assessments WHERE id = $1', [target]);
        expect(row.equipment).toBe('no_equipment');
        const [change] = await db.dataSource.query('SELECT new_equipment FROM equipment_migration_changes WHERE assessment_id = $1', [target]);
        expect(change.new_equipment).toBe('full_gym');
      } finally {
        await gate.end();
        await app.end();
      }
    });
  });
});
