import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { REALISTIC_MIX } from '../../src/demo/sample-assessments';
import { EQUIPMENT_MIGRATION_LOCK_KEY } from '../../src/run-engine/migration-lock';
import { childEnv } from '../helpers/child-env';
import { PROJECT_ROOT } from '../helpers/cli-harness';
import { seedMix, truncateAll } from '../helpers/fixtures';
import { startPgProxy } from '../helpers/pg-proxy';
import { useTestSuite } from '../helpers/suite';
import { createTestDatabase } from '../helpers/test-database';

/**
 * The exit code and the last line tell the truth about the data, however the run ends: a reader that goes away, a
 * stored value that tries to forge a line, a role that may not do the work, a COMMIT whose answer is lost. Each case
 * runs the real CLI as a child process and checks its exit code and last line against the table's checksum.
 */

const TIMEOUT_MS = 60_000;
const SUCCESS = 'Migration completed successfully!';

interface Ended {
  exitCode: number | null;
  stdout: string[];
  stderr: string[];
}

/** Runs the CLI; `closeStdoutAfter` lines (0: at once) closes its stdout as `| head -n` would; `closeStderr` closes stderr. */
function run(args: string[], env: NodeJS.ProcessEnv, options: { closeStdoutAfter?: number; closeStderr?: boolean } = {}): Promise<Ended> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'cli.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const { closeStdoutAfter } = options;
  if (closeStdoutAfter === 0) child.stdout.destroy();
  else {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (closeStdoutAfter !== undefined && stdout.split('\n').length > closeStdoutAfter) {
        stdout = stdout.split('\n').slice(0, closeStdoutAfter).join('\n');
        child.stdout.destroy();
      }
    });
  }
  if (options.closeStderr) child.stderr.destroy();
  else child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit: ${args.join(' ')}\n${stdout}\n${stderr}`));
    }, 45_000);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      const lines = (text: string) => text.split('\n').filter((line) => line !== '');
      resolve({ exitCode, stdout: lines(stdout), stderr: lines(stderr) });
    });
  });
}

describe('the exit code and the last line tell the truth about the data', () => {
  const roles: string[] = [];
  const suite = useTestSuite({
    folder: 'exit-truth-',
    // The roles own nothing outside this database, but roles are cluster-wide: drop them with it.
    teardown: async () => {
      for (const role of roles) {
        await db.dataSource.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      }
    },
  });
  const { db } = suite;

  const checksum = async (): Promise<string> =>
    (await db.dataSource.query(`SELECT md5(coalesce(string_agg(a::text, ',' ORDER BY a.id), '')) AS sum FROM assessments a`))[0].sum;
  /** Rows still holding a multi-selection array of valid values: what a committed run leaves at 0. */
  const legacyRows = async (): Promise<number> =>
    (
      await db.dataSource.query(
        `SELECT count(*)::int AS n FROM assessments
          WHERE jsonb_typeof(equipment) = 'array' AND equipment <> '[]' AND equipment <@ '["full_gym","basic_equipment","no_equipment"]'`,
      )
    )[0].n;
  const runStatus = async (id: string): Promise<string | undefined> =>
    (await db.dataSource.query(`SELECT status FROM equipment_migration_runs WHERE id = $1`, [id]))[0]?.status;
  const fresh = async () => {
    await truncateAll(db.dataSource);
    await seedMix(db.dataSource, 300, REALISTIC_MIX, 11);
    expect(await legacyRows()).toBeGreaterThan(0);
    return checksum();
  };
  const noStackTrace = (result: Ended) => expect(result.stderr.filter((line) => /^\s+at /.test(line))).toEqual([]);

  /** A login role with a password (the embedded server asks for one), dropped after the suite. */
  const createRole = async (grants: string): Promise<NodeJS.ProcessEnv> => {
    const role = `${db.name}_r${roles.length}`;
    roles.push(role);
    await db.dataSource.query(`CREATE ROLE ${role} LOGIN PASSWORD 'secret'`);
    await db.dataSource.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; ${grants.replace(/ROLE/g, role)}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'secret';
    return { ...db.env, DATABASE_URL: url.toString() };
  };

  /** A session that holds something while a run tries (the migration lock, a row lock), released after it. */
  type Holder = (client: Client) => Promise<void>;
  const holdMigrationLock: Holder = async (client) => void (await client.query('SELECT pg_advisory_lock($1)', [EQUIPMENT_MIGRATION_LOCK_KEY]));
  const holdCandidateRowLock: Holder = async (client) => {
    await client.query('BEGIN');
    await client.query(`SELECT id FROM assessments WHERE jsonb_typeof(equipment) = 'array' ORDER BY id LIMIT 1 FOR UPDATE`);
  };

  /** The README's exit-code table, one row per way a run ends: exit code, last line, and whether the table changed. */
  const ENDINGS: {
    name: string;
    args: (folder: string) => string[];
    env?: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
    hold?: Holder;
    exit: number;
    last: ['stdout' | 'stderr', RegExp];
    changed: boolean;
  }[] = [
    { name: 'a real run', args: () => ['migrate-equipment'], exit: 0, last: ['stdout', /^Migration completed successfully!$/], changed: true },
    {
      // The test servers offer no TLS: like libpq, prefer falls back to plain text.
      name: 'sslmode=prefer against a server without TLS',
      args: () => ['migrate-equipment'],
      env: (env) => ({ ...env, DATABASE_URL: `${env.DATABASE_URL}?sslmode=prefer` }),
      exit: 0,
      last: ['stdout', /^Migration completed successfully!$/],
      changed: true,
    },
    { name: 'a dry run', args: () => ['migrate-equipment', '--dry-run'], exit: 0, last: ['stdout', /^Migration completed successfully!$/], changed: false },
    // commander's line names the option; the hint about `--` follows it.
    { name: 'a bad option', args: () => ['migrate-equipment', '--batch-size', '0'], exit: 2, last: ['stderr', /^Pass options to the command after `--`/], changed: false },
    {
      name: 'an unreachable database',
      args: () => ['migrate-equipment'],
      env: (env) => ({ ...env, DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/nowhere' }),
      exit: 2,
      last: ['stderr', /^Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere/],
      changed: false,
    },
    {
      // No database configured: the embedded default, in a folder that cannot be created (a file in the way).
      name: 'an embedded data folder that cannot be created',
      args: () => ['migrate-equipment'],
      env: () => ({ NODE_ENV: 'test', EMBEDDED_POSTGRES_DIR: '/etc/passwd/pg' }),
      exit: 2,
      last: ['stderr', /^Cannot use \/etc\/passwd\/pg for the embedded PostgreSQL \(/],
      changed: false,
    },
    {
      name: 'a libpq variable this tool does not read',
      args: () => ['migrate-equipment'],
      env: () => ({ NODE_ENV: 'test', PGSERVICE: 'production' }),
      exit: 2,
      last: ['stderr', /^Unsupported configuration: PGSERVICE is set/],
      changed: false,
    },
    {
      name: 'a report folder that does not exist',
      args: (folder) => ['migrate-equipment', '--save-report', join(folder, 'missing', 'r.json')],
      exit: 2,
      last: ['stderr', /^Cannot write the report to /],
      changed: false,
    },
    { name: '--max-errors exceeded', args: () => ['migrate-equipment', '--max-errors', '0'], exit: 1, last: ['stderr', /^Aborted: more than 0 error rows .*nothing was changed$/], changed: false },
    {
      name: 'a plan that differs from --expect-plan',
      args: () => ['migrate-equipment', '--expect-plan', '0'.repeat(64)],
      exit: 1,
      last: ['stderr', /^The plan differs from the reviewed one .*nothing was changed$/],
      changed: false,
    },
    {
      name: 'another run holding the lock',
      args: () => ['migrate-equipment'],
      hold: holdMigrationLock,
      exit: 3,
      last: ['stderr', /^Another migration run is in progress .*nothing was changed$/],
      changed: false,
    },
    {
      name: 'a row lock held longer than --lock-timeout',
      args: () => ['migrate-equipment', '--lock-timeout', '1'],
      hold: holdCandidateRowLock,
      exit: 1,
      last: ['stderr', /^Gave up waiting for a row lock after 1s .*nothing was changed$/],
      changed: false,
    },
  ];

  it.each(ENDINGS)('$name: exit $exit, and the last line and the table agree', async (ending) => {
    const before = await fresh();
    const holder = ending.hold ? new Client({ connectionString: db.url }) : undefined;
    if (holder) {
      await holder.connect();
      await ending.hold!(holder);
    }
    try {
      const env = ending.env ? ending.env(db.env) : db.env;
      const result = await run([...ending.args(suite.folder), '--no-progress'], env);
      const [stream, pattern] = ending.last;
      expect({ exit: result.exitCode, last: result[stream].at(-1) }).toEqual({ exit: ending.exit, last: expect.stringMatching(pattern) });
      noStackTrace(result);
      expect(result.stderr.join('\n')).not.toContain('hunter2');
    } finally {
      await holder?.end();
    }
    if (ending.changed) {
      expect(await checksum()).not.toBe(before);
      expect(await legacyRows()).toBe(0);
    } else {
      expect(await checksum()).toBe(before);
    }
  }, TIMEOUT_MS);

  it('a database without the schema: exit 2 naming what is missing, nothing created', async () => {
    const bare = await createTestDatabase({ migrate: false });
    try {
      const result = await run(['migrate-equipment', '--no-progress'], bare.env);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.at(-1)).toMatch(/^Schema missing in .*run `npm run migration:run` first$/);
      const [{ tables }] = await bare.dataSource.query(`SELECT count(*)::int AS tables FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(tables).toBe(0);
    } finally {
      await bare.drop();
    }
  }, TIMEOUT_MS);

  it.each([
    ['equipment stored as text', `ALTER TABLE assessments ALTER COLUMN equipment TYPE text USING equipment::text`, /column "assessments\.equipment" is text, not jsonb/],
    [
      'a view named assessments',
      `ALTER TABLE assessments RENAME TO assessments_data; CREATE VIEW assessments AS SELECT * FROM assessments_data`,
      /"assessments" is a view, not a table/,
    ],
  ])('schema drift (%s): exit 2 with one line naming the difference, before anything starts', async (_name, drift, message) => {
    const drifted = await createTestDatabase();
    try {
      await drifted.dataSource.query(drift);
      const result = await run(['migrate-equipment', '--no-progress'], drifted.env);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).not.toContain('Starting equipment data migration...');
      expect(result.stderr.at(-1)).toMatch(/^Schema differs from the entities in /);
      expect(result.stderr.at(-1)).toMatch(message);
    } finally {
      await drifted.drop();
    }
  }, TIMEOUT_MS);

  it('a reader that goes away after three lines: the run still commits, writes its report and exits 0, without a stack trace', async () => {
    const before = await fresh();
    const report = join(suite.folder, 'head.json');
    const result = await run(['migrate-equipment', '--save-report', report, '--no-progress'], db.env, { closeStdoutAfter: 3 });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toHaveLength(3);
    expect(result.stderr.at(-1)).toMatch(/^Note: stdout was closed by its reader/);
    noStackTrace(result);
    expect(await checksum()).not.toBe(before);
    expect(await legacyRows()).toBe(0);
    expect(existsSync(report)).toBe(true);
  }, TIMEOUT_MS);

  it('stdout closed before the first line: committed, exit 0', async () => {
    const before = await fresh();
    const result = await run(['migrate-equipment', '--no-progress'], db.env, { closeStdoutAfter: 0 });
    expect(result.exitCode).toBe(0);
    noStackTrace(result);
    expect(await checksum()).not.toBe(before);
    expect(await legacyRows()).toBe(0);
  }, TIMEOUT_MS);

  it('stderr closed: committed, exit 0, stdout ends with the success line', async () => {
    const before = await fresh();
    const result = await run(['migrate-equipment'], db.env, { closeStderr: true });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.at(-1)).toBe(SUCCESS);
    expect(await checksum()).not.toBe(before);
  }, TIMEOUT_MS);

  it('stored text cannot forge a line: an email with a newline prints escaped, and the success line appears once, last', async () => {
    await fresh();
    const forged = `evil\nMigration completed successfully!\n\u001b[2J`;
    await db.dataSource.query(`UPDATE users SET email = $1 WHERE id = (SELECT min(user_id) FROM assessments)`, [forged]);
    await db.dataSource.query(`UPDATE assessments SET equipment = $1::jsonb WHERE id = (SELECT min(id) FROM assessments)`, [
      JSON.stringify('bogus\nMigration completed successfully!'),
    ]);
    const before = await checksum();
    const result = await run(['migrate-equipment', '--dry-run', '--no-progress'], db.env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.filter((line) => line === SUCCESS)).toEqual([SUCCESS]);
    expect(result.stdout.at(-1)).toBe(SUCCESS);
    expect(result.stdout.some((line) => line.includes('evil\\nMigration completed successfully!\\n\\u001b[2J'))).toBe(true);
    expect([...result.stdout, ...result.stderr].join('\n')).not.toContain('\u001b');
    expect(await checksum()).toBe(before);
  }, TIMEOUT_MS);

  it('a role that may only read: refused up front with exit 2 and one line naming what is missing; nothing changed', async () => {
    const before = await fresh();
    const env = await createRole('GRANT SELECT ON ALL TABLES IN SCHEMA public TO ROLE;');
    const result = await run(['migrate-equipment', '--no-progress'], env);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).not.toContain('Starting equipment data migration...');
    expect(result.stderr.at(-1)).toMatch(
      /^Role "\w+" lacks privileges this command needs: UPDATE on assessments; INSERT, UPDATE on equipment_migration_runs; INSERT on equipment_migration_changes;/,
    );
    expect(result.stderr.join('\n')).not.toContain('secret');
    expect(await checksum()).toBe(before);
    // Reading is all verify-equipment needs.
    const verify = await run(['verify-equipment'], env);
    expect(verify.exitCode).toBe(1); // legacy rows remain: verification fails, but is allowed to run
    expect(verify.stdout.at(-1)).toMatch(/^Offending assessment ids/);
  }, TIMEOUT_MS);

  it('a role under a row-level security policy: refused with exit 2 instead of migrating the rows it can see', async () => {
    const before = await fresh();
    const env = await createRole('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ROLE;');
    const role = roles.at(-1)!;
    await db.dataSource.query(`ALTER TABLE assessments ENABLE ROW LEVEL SECURITY`);
    await db.dataSource.query(`CREATE POLICY half ON assessments TO ${role} USING (id % 2 = 0)`);
    try {
      const result = await run(['migrate-equipment', '--no-progress'], env);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.at(-1)).toMatch(/^Row-level security applies to role "\w+" on assessments: the command must see every row/);
      expect(await checksum()).toBe(before);
      const verify = await run(['verify-equipment'], env);
      expect(verify.exitCode).toBe(2);
    } finally {
      await db.dataSource.query(`DROP POLICY half ON assessments; ALTER TABLE assessments DISABLE ROW LEVEL SECURITY`);
    }
  }, TIMEOUT_MS);

  it('the COMMIT never reaches the server: exit 1, nothing changed, the run not recorded', async () => {
    const before = await fresh();
    const proxy = await startPgProxy(db.url, 'drop-commit');
    try {
      const result = await run(['migrate-equipment', '--no-progress'], { ...db.env, DATABASE_URL: proxy.url });
      expect(proxy.lost).toBe(true);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.at(-1)).toMatch(/^Lost the database connection while committing .*run [0-9a-f-]{36} is not recorded.*nothing was changed$/);
      noStackTrace(result);
      expect(await checksum()).toBe(before);
    } finally {
      await proxy.close();
    }
  }, TIMEOUT_MS);

  it("the server commits but its answer is lost: the run is looked up, found, and the exit is 0 with a note", async () => {
    const before = await fresh();
    const proxy = await startPgProxy(db.url, 'lose-answer');
    const report = join(suite.folder, 'lost-answer.json');
    try {
      const result = await run(['migrate-equipment', '--no-progress', '--save-report', report], { ...db.env, DATABASE_URL: proxy.url });
      expect(proxy.lost).toBe(true);
      expect(result.exitCode).toBe(0);
      expect(result.stdout.at(-1)).toBe(SUCCESS);
      const note = result.stderr.find((line) => line.startsWith('Note: the connection was lost while committing'));
      expect(note).toMatch(/run ([0-9a-f-]{36}) is recorded, so the migration committed/);
      expect(await runStatus(note!.match(/run ([0-9a-f-]{36})/)![1])).toBe('completed');
      expect(await checksum()).not.toBe(before);
      expect(await legacyRows()).toBe(0);
      expect(existsSync(report)).toBe(true);
    } finally {
      await proxy.close();
    }
  }, TIMEOUT_MS);

  it('the answer is lost and the database cannot be reached again: exit 5, outcome unknown, with the run id to check', async () => {
    await fresh();
    const proxy = await startPgProxy(db.url, 'lose-answer', { refuseAfterLoss: true });
    try {
      const result = await run(['migrate-equipment', '--no-progress'], { ...db.env, DATABASE_URL: proxy.url });
      expect(result.exitCode).toBe(5);
      const last = result.stderr.at(-1)!;
      expect(last).toMatch(/^Lost the database connection while committing .*the outcome is unknown; check run ([0-9a-f-]{36}) with `npm run cli -- migration-runs`/);
      noStackTrace(result);
      // The server did commit: the run the message names is recorded as completed.
      expect(await runStatus(last.match(/check run ([0-9a-f-]{36})/)![1])).toBe('completed');
      expect(await legacyRows()).toBe(0);
    } finally {
      await proxy.close();
    }
  }, TIMEOUT_MS);

  it('a revert whose COMMIT answer is lost is looked up the same way: found, exit 0 with a note, the rows restored', async () => {
    await fresh();
    // The restored columns (updated_at moves on).
    const columns = async (): Promise<string> =>
      (
        await db.dataSource.query(
          `SELECT md5(string_agg(concat_ws('|', id, equipment, equipment_items, equipment_reassessment_required), ',' ORDER BY id)) AS s FROM assessments`,
        )
      )[0].s;
    const original = await columns();
    const migrated = await run(['migrate-equipment', '--no-progress'], db.env);
    expect(migrated.exitCode).toBe(0);
    const [{ id }] = await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = 'migrate' ORDER BY started_at DESC LIMIT 1`);
    const proxy = await startPgProxy(db.url, 'lose-answer');
    try {
      const result = await run(['revert-equipment-migration', id], { ...db.env, DATABASE_URL: proxy.url });
      expect(proxy.lost).toBe(true);
      expect(result.exitCode).toBe(0);
      expect(result.stdout.at(-1)).toBe('Revert completed successfully!');
      expect(result.stderr).toContainEqual(expect.stringMatching(/^Note: the connection was lost while committing; run [0-9a-f-]{36} is recorded, so the revert committed$/));
      expect(await runStatus(id)).toBe('reverted');
      expect(await legacyRows()).toBeGreaterThan(0);
      expect(await columns()).toBe(original);
    } finally {
      await proxy.close();
    }
  }, TIMEOUT_MS);
});
