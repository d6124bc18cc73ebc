import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { isAlive } from '../../src/database/embedded-postgres.server';
import { pollUntil } from './poll';
import { binariesFor, PostgresBinaries } from './postgres-binaries';
import { adminUrl } from './test-database';

/**
 * Real PostgreSQL servers for replication tests: a private primary of the test server's own version, and streaming
 * standbys (base backup + pg_ctl) in temporary folders. Everything they start is stopped and removed by stop(), at the
 * process's exit, or (after kill -9) by the next start, so no standby outlives its test file and throttles others.
 */

const FOLDER_PREFIX = 'equipment-pg-';

export class StandbyUnavailableError extends Error {}

export interface LocalServer {
  /** postgres:// URL of its `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface Standby extends LocalServer {
  /** The application_name under which the primary lists it in pg_stat_replication. */
  applicationName: string;
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /**
   * Waits until the standby has replayed everything the primary had written when called, and the primary knows it:
   * its pg_stat_replication shows that replay position and no replay_lag left over from an earlier catch-up (which
   * PostgreSQL keeps showing for up to two status intervals, and which would hold the next run from its first page).
   */
  waitUntilCaughtUp(): Promise<void>;
}

// ---- processes and folders ----

/** Postgres refuses to run as root: when the tests do, its processes run as the `postgres` user (as embedded-postgres does). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new StandbyUnavailableError('Running as root, and there is no `postgres` user to run a PostgreSQL server as');
  }
}

function chownTree(path: string, user: { uid: number; gid: number } | undefined): void {
  if (!user) return;
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  chownSync(path, user.uid, user.gid);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), user);
}

function run(command: string, args: string[], options: { asServer?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...(options.asServer ? serverUser() : undefined),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Stops (immediate shutdown) what a folder of ours still runs, then removes it. Synchronous: also used at exit. */
function removeFolder(folder: string): void {
  for (const entry of existsSync(folder) ? readdirSync(folder) : []) {
    const pidFile = join(folder, entry, 'postmaster.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!pid || !isAlive(pid)) continue;
    process.kill(pid, 'SIGQUIT');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
  }
  rmSync(folder, { recursive: true, force: true });
}

const ownFolders = new Set<string>();
process.on('exit', () => ownFolders.forEach(removeFolder));

/** Folders left by a test process that died (kill -9): their servers would otherwise stream forever. */
function sweepStaleFolders(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(FOLDER_PREFIX)) continue;
    const folder = join(tmpdir(), entry);
    const owner = Number(existsSync(join(folder, 'owner')) ? readFileSync(join(folder, 'owner'), 'utf8') : 0);
    if (owner && isAlive(owner)) continue;
    removeFolder(folder);
  }
}

function newFolder(): string {
  sweepStaleFolders();
  const folder = mkdtempSync(join(tmpdir(), FOLDER_PREFIX));
  writeFileSync(join(folder, 'owner'), String(process.pid));
  chownTree(folder, serverUser());
  ownFolders.add(folder);
  return folder;
}

async function startServer(binaries: PostgresBinaries, folder: string, dataDir: string, extra: string[]): Promise<number> {
  const port = await freePort();
  const options = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${folder}`, ...extra];
  try {
    await run(join(binaries.binDir, 'pg_ctl'), ['-D', dataDir, '-l', `${dataDir}.log`, '-w', '-t', '120', '-o', options.join(' '), 'start'], {
      asServer: true,
    });
  } catch (error) {
    const log = existsSync(`${dataDir}.log`) ? readFileSync(`${dataDir}.log`, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
    throw new Error(`${(error as Error).message}${log ? `; log: ${log}` : ''}`);
  }
  return port;
}

async function stopServer(binaries: PostgresBinaries, dataDir: string): Promise<void> {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
  await run(join(binaries.binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], { asServer: true });
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>, options: { replication?: boolean } = {}): Promise<T> {
  const client = new Client({ connectionString: url, ...(options.replication ? { replication: 'true' } : {}) } as never);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  await pollUntil(check, (done) => done, { timeoutMs, what });
}

// ---- the private primary ----

/**
 * A fresh primary with the test server's own binaries, allowing replication from loopback (initdb's default
 * pg_hba.conf). Replication tests use it rather than the shared test server: a paused standby of that server would
 * throttle the online runs of the test files running beside this one, and the machine's PostgreSQL 15 refuses
 * replication connections anyway (its pg_hba.conf has no `replication` line, and system config is not ours to edit).
 */
export async function startPrimary(likeUrl: string = adminUrl()): Promise<LocalServer> {
  const binaries = await binariesFor(likeUrl);
  const folder = newFolder();
  const dataDir = join(folder, 'primary');
  await run(join(binaries.binDir, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync'], {
    asServer: true,
  });
  const port = await startServer(binaries, folder, dataDir, ['-c', 'fsync=off', '-c', 'max_wal_senders=5']);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer(binaries, dataDir);
      removeFolder(folder);
      ownFolders.delete(folder);
    },
  };
}

// ---- standbys ----

async function checkReplicationAccepted(primaryUrl: string): Promise<void> {
  try {
    await withClient(primaryUrl, (client) => client.query('IDENTIFY_SYSTEM'), { replication: true });
  } catch (error) {
    const host = new URL(primaryUrl).host;
    throw new StandbyUnavailableError(
      `The server at ${host} refuses replication connections (${(error as Error).message}); a standby needs a "host replication" line in its pg_hba.conf`,
    );
  }
}

function conninfo(url: URL, applicationName: string): string {
  const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = { host: url.hostname, port: url.port || '5432', user: decodeURIComponent(url.username), application_name: applicationName };
  const password = decodeURIComponent(url.password);
  return Object.entries(password ? { ...parts, password } : parts)
    .map(([key, value]) => `${key}=${quote(value)}`)
    .join(' ');
}

// What a base backup leaves out (the documented list for the low-level API), postmaster files included.
const EXCLUDED = new Set(['postmaster.pid', 'postmaster.opts', 'standby.signal', 'recovery.signal', 'backup_label', 'tablespace_map']);
const EMPTIED = new Set(['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);

/** Copies a live data folder, tolerating files the server removes meanwhile. */
function copyDataDir(source: string, target: string, top = true): void {
  mkdirSync(target, { recursive: true, mode: 0o700 });
  for (const entry of readdirSync(source)) {
    if (top && EXCLUDED.has(entry)) continue;
    if (entry === 'pg_internal.init' || entry.startsWith('pgsql_tmp')) continue;
    const from = join(source, entry);
    const to = join(target, entry);
    try {
      const stat = lstatSync(from);
      if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else if (stat.isDirectory()) {
        if (top && EMPTIED.has(entry)) mkdirSync(to, { mode: 0o700 });
        else copyDataDir(from, to, false);
      } else copyFileSync(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  if (top) mkdirSync(join(target, 'pg_wal', 'archive_status'), { recursive: true });
}

/**
 * Without pg_basebackup (the embedded package ships none), the documented low-level backup: pg_backup_start, copy the
 * data folder, pg_backup_stop's backup_label. A slot reserved first keeps the WAL the standby then streams.
 */
async function lowLevelBaseBackup(primaryUrl: string, dataDir: string, slot: string): Promise<void> {
  await withClient(primaryUrl, async (client) => {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    const source = rows[0].data_directory;
    if (!existsSync(join(source, 'PG_VERSION'))) {
      throw new StandbyUnavailableError(`The primary's data folder ${source} is not readable here, and there is no pg_basebackup to copy it`);
    }
    await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    await client.query('SELECT pg_backup_start($1, true)', [slot]);
    copyDataDir(source, dataDir);
    const stop = await client.query<{ labelfile: string; spcmapfile: string }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(false)');
    writeFileSync(join(dataDir, 'backup_label'), stop.rows[0].labelfile);
    if (stop.rows[0].spcmapfile) writeFileSync(join(dataDir, 'tablespace_map'), stop.rows[0].spcmapfile);
  });
}

/**
 * Starts a streaming standby of `primaryUrl` (a server on this machine, superuser URL): a base backup into a temporary
 * folder (pg_basebackup -R of the primary's own version when there is one), pg_ctl start on a free port, and waits until
 * the primary lists it as `streaming`. stop() shuts it down, drops its slot, waits until pg_stat_replication no longer
 * lists it, and removes the folder.
 */
export async function startStandby(primaryUrl: string): Promise<Standby> {
  await checkReplicationAccepted(primaryUrl);
  const binaries = await binariesFor(primaryUrl);
  const user = serverUser();
  const folder = newFolder();
  const dataDir = join(folder, 'standby');
  const applicationName = `test_standby_${process.pid}_${folder.slice(-6).toLowerCase()}`;
  const primary = new URL(primaryUrl);
  try {
    if (binaries.pgBasebackup) {
      await run(binaries.pgBasebackup, ['-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '-C', '-S', applicationName, '-d', conninfo(primary, applicationName)]);
    } else {
      await lowLevelBaseBackup(primaryUrl, dataDir, applicationName);
    }
    // What -R writes, stated here for both ways (the later line wins): the slot, and a name to find it by.
    writeFileSync(join(dataDir, 'standby.signal'), '');
    writeFileSync(
      join(dataDir, 'postgresql.auto.conf'),
      `${existsSync(join(dataDir, 'postgresql.auto.conf')) ? readFileSync(join(dataDir, 'postgresql.auto.conf'), 'utf8') : ''}\n` +
        `primary_conninfo = '${conninfo(primary, applicationName).replace(/\\/g, '\\\\').replace(/'/g, "''")}'\n` +
        `primary_slot_name = '${applicationName}'\n`,
    );
    // A packaged server keeps its configuration outside the data folder.
    if (!existsSync(join(dataDir, 'postgresql.conf'))) writeFileSync(join(dataDir, 'postgresql.conf'), '');
    if (!existsSync(join(dataDir, 'pg_hba.conf'))) writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    chownTree(dataDir, user);
  } catch (error) {
    await dropSlot(primaryUrl, applicationName).catch(() => undefined);
    removeFolder(folder);
    ownFolders.delete(folder);
    throw error;
  }

  const port = await startServer(binaries, folder, dataDir, ['-c', 'hot_standby=on', '-c', 'fsync=off']);
  const standbyUrl = new URL(primaryUrl);
  standbyUrl.port = String(port);
  standbyUrl.hostname = '127.0.0.1';
  standbyUrl.pathname = '/postgres';
  const listed = (state?: string) =>
    withClient(primaryUrl, async (client) => {
      const { rows } = await client.query('SELECT state FROM pg_stat_replication WHERE application_name = $1', [applicationName]);
      return state ? rows.some((r) => r.state === state) : rows.length > 0;
    });
  let stopped = false;
  const standby: Standby = {
    url: standbyUrl.toString(),
    port,
    dataDir,
    applicationName,
    async pauseReplay() {
      // Takes effect before the next record is replayed (state 'pause requested' until then).
      await withClient(standby.url, (client) => client.query('SELECT pg_wal_replay_pause()'));
    },
    async resumeReplay() {
      await withClient(standby.url, (client) => client.query('SELECT pg_wal_replay_resume()'));
    },
    async waitUntilCaughtUp() {
      const target = await withClient(primaryUrl, async (client) => (await client.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
      await withClient(standby.url, (client) =>
        waitUntil(`${applicationName} replayed ${target}`, async () => {
          const { rows } = await client.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]);
          return rows[0].done === true;
        }),
      );
      await withClient(primaryUrl, (client) =>
        waitUntil(`the primary saw ${applicationName} replay ${target}`, async () => {
          const { rows } = await client.query(
            `SELECT replay_lsn >= $1::pg_lsn AND coalesce(replay_lag < interval '1 second', true) AS done
               FROM pg_stat_replication WHERE application_name = $2`,
            [target, applicationName],
          );
          return rows[0]?.done === true;
        }),
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await stopServer(binaries, dataDir);
        await waitUntil(`${applicationName} left pg_stat_replication`, async () => !(await listed()));
        await dropSlot(primaryUrl, applicationName);
      } finally {
        removeFolder(folder);
        ownFolders.delete(folder);
      }
    },
  };
  try {
    await waitUntil(`${applicationName} streams`, () => listed('streaming'));
  } catch (error) {
    await standby.stop().catch(() => undefined);
    throw error;
  }
  return standby;
}

async function dropSlot(primaryUrl: string, slot: string): Promise<void> {
  await withClient(primaryUrl, (client) =>
    client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]),
  );
}
