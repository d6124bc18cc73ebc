import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { BASE_DATA_SOURCE_OPTIONS } from '../../src/database/data-source-options';
import { DEFAULT_THROTTLE_LIMITS, ReplicationLagHiddenError, Throttle, ThrottleExceededError, ThrottleLimits, ThrottleProbe } from '../../src/run-engine/throttle';
import { pollUntil } from '../helpers/poll';
import { LocalServer, Standby, StandbyUnavailableError, startPrimary, startStandby } from '../helpers/standby';

/**
 * The throttle's signals from a real PostgreSQL: a real streaming standby (base backup of a private primary of the test
 * server's version, see test/helpers/standby.ts) whose replay is paused with pg_wal_replay_pause() while the primary
 * keeps writing, and a session waiting on a row lock. No timing assertions: the order of events and the printed lines.
 */

const TIMEOUT_MS = 180_000;
jest.setTimeout(TIMEOUT_MS);

const LIMITS: ThrottleLimits = { ...DEFAULT_THROTTLE_LIMITS, maxReplicationLagSeconds: 1, maxThrottleSeconds: 600 };
const LAG_LINE = /^Throttled: replica lag \d+\.\d s > 1 s; waiting$/;

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** The app writing on the primary (one row every 100 ms) until stopped. */
function startWriter(url: string): { stop(): Promise<void> } {
  let running = true;
  const done = (async () => {
    const client = await connect(url);
    try {
      while (running) {
        await client.query('INSERT INTO app_writes (at) VALUES (clock_timestamp())');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('throttle signals on a real PostgreSQL', () => {
  let primary: LocalServer;
  let dataSource: DataSource;
  let probe: ThrottleProbe;

  const replication = async () =>
    (await dataSource.query('SELECT (SELECT count(*) FROM pg_stat_replication)::int AS senders, (SELECT count(*) FROM pg_replication_slots)::int AS slots'))[0];

  beforeAll(async () => {
    primary = await startPrimary();
    dataSource = new DataSource({ ...BASE_DATA_SOURCE_OPTIONS, url: primary.url, poolSize: 4 } as DataSourceOptions);
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE app_writes (id serial PRIMARY KEY, at timestamptz NOT NULL)');
    await dataSource.query('CREATE TABLE page_rows (id int PRIMARY KEY, v int NOT NULL)');
    await dataSource.query('INSERT INTO page_rows SELECT g, 0 FROM generate_series(1, 3) g');
    probe = new ThrottleProbe(dataSource);
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await primary?.stop();
  });

  it('measures no replica lag (null) while no standby streams', async () => {
    expect(await replication()).toEqual({ senders: 0, slots: 0 });
    expect(await probe.replicationLagSeconds()).toBeNull();
  });

  it('names the reason when the server refuses replication connections (pg_hba.conf), and leaves nothing behind', async () => {
    // As the machine's PostgreSQL 15 does: its pg_hba.conf has no `replication` line. Done here on the private primary.
    const hbaFile = join(primary.dataDir, 'pg_hba.conf');
    const hba = readFileSync(hbaFile, 'utf8');
    writeFileSync(hbaFile, hba.split('\n').filter((line) => !/\sreplication\s/.test(line)).join('\n'));
    await dataSource.query('SELECT pg_reload_conf()');
    try {
      const error = await startStandby(primary.url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StandbyUnavailableError);
      expect((error as Error).message).toMatch(
        /^The server at 127\.0\.0\.1:\d+ refuses replication connections \(no pg_hba\.conf entry for replication connection from host "127\.0\.0\.1", user "postgres".*\); a standby needs a "host replication" line in its pg_hba\.conf$/,
      );
      expect(await replication()).toEqual({ senders: 0, slots: 0 });
    } finally {
      writeFileSync(hbaFile, hba);
      await dataSource.query('SELECT pg_reload_conf()');
    }
  });

  describe('with a streaming standby', () => {
    let standby: Standby;
    let writer: { stop(): Promise<void> } | undefined;

    beforeAll(async () => {
      standby = await startStandby(primary.url);
    });

    afterEach(async () => {
      await writer?.stop();
      writer = undefined;
      await standby.resumeReplay();
    });

    afterAll(async () => {
      await standby?.stop();
      // Nothing of it is left to throttle anyone: no walsender, no slot.
      expect(await replication()).toEqual({ senders: 0, slots: 0 });
    });

    /** Pauses replay while the app writes, until the probe (as the run's, called page after page) sees the lag > 1 s. */
    async function pauseUntilLagging(lagProbe: ThrottleProbe): Promise<void> {
      await standby.pauseReplay();
      writer = startWriter(primary.url);
      const lag = await pollUntil(() => lagProbe.replicationLagSeconds(), (value) => value !== null && value > 1, { timeoutMs: 60_000 });
      expect(lag).toBeGreaterThan(1);
    }

    it('measures a number once it streams, within the limit while replay keeps up', async () => {
      const lag = await pollUntil(() => probe.replicationLagSeconds(), (value) => value !== null && value <= 1, { timeoutMs: 60_000 });
      expect(lag).not.toBeNull();
      expect(lag).toBeLessThanOrEqual(1);
    });

    it('holds beforePage with one throttle line while replay is paused, and lets it go once replay resumes', async () => {
      const events: string[] = [];
      const lagProbe = new ThrottleProbe(dataSource);
      const throttle = new Throttle(LIMITS, lagProbe, (line) => events.push(line));
      await pauseUntilLagging(lagProbe);

      let checkpoints = 0;
      const page = throttle.beforePage(() => void (checkpoints += 1)).then(() => events.push('page'));
      // Held: the line is printed and it keeps polling (with a checkpoint between polls), the page not let through.
      await pollUntil(async () => checkpoints, (n) => n >= 6, { timeoutMs: 120_000 });
      expect(events[0]).toMatch(LAG_LINE);
      expect(events).toHaveLength(1);

      events.push('resume');
      await standby.resumeReplay();
      await page;
      expect(events).toEqual([expect.stringMatching(LAG_LINE), 'resume', 'page']);
      expect(throttle.waitedMs).toBeGreaterThan(0);
    });

    it('keeps measuring a paused standby when the primary goes quiet (the run waiting), though replay_lag then freezes', async () => {
      const lagProbe = new ThrottleProbe(dataSource);
      await standby.pauseReplay();
      await dataSource.query('INSERT INTO app_writes (at) VALUES (clock_timestamp())'); // the record replay stops before
      const lag = await pollUntil(() => lagProbe.replicationLagSeconds(), (value) => value !== null && value > 3, { timeoutMs: 60_000 });
      expect(lag).toBeGreaterThan(3);
    });

    it('refuses to guess when pg_stat_replication hides the standby from the role (no pg_monitor)', async () => {
      await dataSource.query('CREATE ROLE throttle_reader LOGIN');
      const reader = new DataSource({ ...BASE_DATA_SOURCE_OPTIONS, url: primary.url.replace('postgres@', 'throttle_reader@'), poolSize: 1 } as DataSourceOptions);
      await reader.initialize();
      try {
        await expect(new ThrottleProbe(reader).replicationLagSeconds()).rejects.toThrow(
          new ReplicationLagHiddenError(
            `Cannot measure replica lag: pg_stat_replication hides the standbys' positions from role "throttle_reader"; grant it pg_monitor (or pg_read_all_stats)`,
          ),
        );
        await dataSource.query('GRANT pg_monitor TO throttle_reader');
        expect(await new ThrottleProbe(reader).replicationLagSeconds()).toEqual(expect.any(Number));
      } finally {
        await reader.destroy();
        await dataSource.query('DROP ROLE throttle_reader');
      }
    });

    it('fails with ThrottleExceededError once the run was held longer than maxThrottleSeconds', async () => {
      const events: string[] = [];
      const lagProbe = new ThrottleProbe(dataSource);
      const throttle = new Throttle({ ...LIMITS, maxThrottleSeconds: 2 }, lagProbe, (line) => events.push(line));
      await pauseUntilLagging(lagProbe);

      const error = await throttle.beforePage(() => undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ThrottleExceededError);
      expect((error as Error).message).toMatch(/^Throttled for more than 2 s \(--max-throttle 2\): replica lag \d+\.\d s > 1 s$/);
      expect(events).toEqual([expect.stringMatching(LAG_LINE)]);
    });
  });

  describe('sessions blocked by the run', () => {
    it('counts sessions waiting on a row lock held by the given backend, directly or queued behind another waiter', async () => {
      const page = await connect(primary.url);
      const app = [await connect(primary.url), await connect(primary.url)];
      try {
        const pidOf = async (client: Client) => (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        const pagePid = await pidOf(page);
        const appPids = [await pidOf(app[0]), await pidOf(app[1])];
        await page.query('BEGIN');
        await page.query('UPDATE page_rows SET v = 1 WHERE id <= 2');
        expect(await probe.blockedSessions([pagePid])).toBe(0);

        const firstWrite = app[0].query('UPDATE page_rows SET v = 2 WHERE id = 1');
        expect(await pollUntil(() => probe.blockedSessions([pagePid]), (n) => n === 1, { timeoutMs: 60_000 })).toBe(1);
        const secondWrite = app[1].query('UPDATE page_rows SET v = 3 WHERE id = 1');
        expect(await pollUntil(() => probe.blockedSessions([pagePid]), (n) => n === 2, { timeoutMs: 60_000 })).toBe(2);
        // Only locks of the given backends count; the waiters themselves block nobody the run holds.
        expect(await probe.blockedSessions([appPids[1]])).toBe(0);
        expect(await probe.blockedSessions([])).toBe(0);

        await page.query('COMMIT');
        await Promise.all([firstWrite, secondWrite]);
        expect(await probe.blockedSessions([pagePid])).toBe(0);
      } finally {
        await Promise.all([page, ...app].map((client) => client.end()));
      }
    });
  });
});
