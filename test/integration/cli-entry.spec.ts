import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PROJECT_ROOT, ProcessResult, runCli } from '../helpers/cli-harness';
import { expectExit } from '../helpers/cli-process';
import { useTestSuite } from '../helpers/suite';
import { adminUrl } from '../helpers/test-database';

/**
 * The real CLI entry (`node bin/cli.js`) as a child process: exit codes, help, option and configuration errors.
 * Every child gets only the variables a test names (runCli adds PATH, HOME and LANG): no DATABASE_URL or PG* of the
 * Jest process leaks in.
 */

const NPM_HINT = 'npm run cli -- migrate-equipment';
/** A postgres:// URL nothing listens on: commands that reach the database fail fast here. */
const UNREACHABLE_URL = 'postgres://u:hunter2@127.0.0.1:1/nowhere';
const UNREACHABLE = { DATABASE_URL: UNREACHABLE_URL, NODE_ENV: 'test' };

const ALL_OPTIONS = [
  '--dry-run',
  '--save-report',
  '--batch-size',
  '--max-errors',
  '--no-progress',
  '--wait-for-lock',
  '--lock-timeout',
  '--statement-timeout',
];

function output(result: ProcessResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

/**
 * A child environment of exactly `vars` (runCli adds only PATH, HOME and LANG, never this process's variables, so no
 * DATABASE_URL, PG* or TEST_DATABASE_URL leaks in).
 */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { ...vars };
}

/** `Database: host:port/db (user u)` of a run, parsed. */
function announced(result: ProcessResult): { host: string; port: string; database: string; user: string } | undefined {
  const match = /^Database: ([^\s:]+):(\d+)\/(\S+) \(user (\S+)\)$/m.exec(result.stdout);
  return match ? { host: match[1], port: match[2], database: match[3], user: match[4] } : undefined;
}

describe('the CLI entry (node bin/cli.js)', () => {
  describe('the bundle', () => {
    it('maps stack traces through its source map: a frame in the minified bundle names the original file and line', () => {
      // bin/cli.js runs dist/cli.js (one minified file); a throw inside bundled code (reflect-metadata's argument
      // check) must show the file it came from, not a column of dist/cli.js.
      const script = `
        process.argv = [process.argv[0], 'cli', '--help'];
        require(${JSON.stringify(join(PROJECT_ROOT, 'bin', 'cli.js'))});
        try { Reflect.getMetadata('key', 1); } catch (error) { process.stderr.write('FRAME ' + error.stack.split('\\n')[1] + '\\n'); }`;
      const child = spawnSync(process.execPath, ['-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(child.status).toBe(0);
      const frame = /^FRAME (.*)$/m.exec(child.stderr)?.[1];
      expect(frame).toMatch(/node_modules\/reflect-metadata\/Reflect\.js:\d+:\d+\)$/);
      expect(frame).not.toContain('dist/cli.js');
    });

    it('--help runs from the bundle alone: no package loaded from node_modules, no fetch implementation', () => {
      // pg is bundled (the DataSource is given it as `driver`) and its Cloudflare probe, which would load undici and
      // http2, is cut at build time: both are start-up time of every command.
      // (TypeORM's try of the optional pg-native fails and loads nothing.)
      const script = `
        process.argv = [process.argv[0], 'cli', '--help'];
        require(${JSON.stringify(join(PROJECT_ROOT, 'bin', 'cli.js'))});
        process.on('exit', () => {
          const files = Object.keys(require.cache);
          const internal = process.moduleLoadList.filter((name) => /undici|http2/.test(name));
          process.stderr.write('LOADED ' + JSON.stringify({ files, internal }) + '\\n');
        });`;
      const child = spawnSync(process.execPath, ['-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(child.status).toBe(0);
      const { files, internal } = JSON.parse(/^LOADED (.*)$/m.exec(child.stderr)?.[1] ?? 'null') as { files: string[]; internal: string[] };
      expect(files).toContain(join(PROJECT_ROOT, 'bin', 'run-bundle.js'));
      expect(files.filter((file) => file.includes('/node_modules/'))).toEqual([]);
      expect(internal).toEqual([]);
    });
  });

  describe('help', () => {
    it('--help exits 0 and lists the commands', async () => {
      const result = await runCli(['--help'], childEnv({}));
      expectExit(result, 0);
      expect(result.stdout).toMatch(/^\s+migrate-equipment\b/m);
      expect(result.stdout).toMatch(/^\s+seed-demo\b/m);
    });

    it('migrate-equipment --help exits 0 and lists every option and the exit codes', async () => {
      const result = await runCli(['migrate-equipment', '--help'], childEnv(UNREACHABLE));
      expectExit(result, 0);
      for (const option of ALL_OPTIONS) expect(result.stdout).toMatch(new RegExp(`^\\s+${option}\\b`, 'm'));
      expect(result.stdout).toContain('Exit codes:');
      for (const code of [0, 1, 2, 3, 4, 5]) expect(result.stdout).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
      // The defaults come from the options themselves (nest-commander's defaultValue), so help shows them, in the
      // option's own entry (not running into the next option's lines).
      for (const [option, value] of [['--batch-size', 5000], ['--wait-for-lock', 0], ['--lock-timeout', 10]]) {
        expect(result.stdout).toMatch(new RegExp(`^\\s+${option}\\b(?:(?!\\n\\s+-)[^])*\\(default:\\s+${value}\\)`, 'm'));
      }
      // Help never touches the database.
      expect(output(result)).not.toContain('Database:');
    });

    it('revert-equipment-migration --help lists its exit codes, 4 (--online) included; migration-runs --help its statuses', async () => {
      const revert = await runCli(['revert-equipment-migration', '--help'], childEnv(UNREACHABLE));
      expectExit(revert, 0);
      for (const code of [0, 1, 2, 3, 4, 5]) expect(revert.stdout).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
      const runs = await runCli(['migration-runs', '--help'], childEnv(UNREACHABLE));
      expectExit(runs, 0);
      for (const status of ['running', 'interrupted', 'failed', 'completed', 'reverted']) expect(runs.stdout).toMatch(new RegExp(`^\\s+${status}\\s+\\S`, 'm'));
    });
  });

  describe('usage errors (exit 2, before touching the database)', () => {
    it('an unknown command', async () => {
      const result = await runCli(['migrate-everything'], childEnv(UNREACHABLE));
      expectExit(result, 2);
      expect(result.stderr).toContain('migrate-everything');
      expect(output(result)).not.toContain('Database:');
    });

    it('an unknown option names it and hints at `npm run cli -- migrate-equipment`', async () => {
      const result = await runCli(['migrate-equipment', '--bogus'], childEnv(UNREACHABLE));
      expectExit(result, 2);
      expect(result.stderr).toMatch(/unknown option '--bogus'/);
      expect(result.stderr).toContain(NPM_HINT);
      expect(output(result)).not.toContain('Database:');
    });

    // These options have defaults (shown in --help): the refusal must come from the option being given, not from a value.
    it.each([
      ['--max-replication-lag', '5'],
      ['--max-blocked-sessions', '0'],
      ['--pause', '0'],
      ['--max-throttle', '300'],
    ])('%s %s without --online is refused, naming it, before touching the database', async (option, value) => {
      const result = await runCli(['migrate-equipment', option, value], childEnv(UNREACHABLE));
      expectExit(result, 2);
      expect(result.stderr).toContain(`${option} needs --online`);
      expect(output(result)).not.toContain('Database:');
    });

    it('a stray positional argument', async () => {
      const result = await runCli(['migrate-equipment', 'extra'], childEnv(UNREACHABLE));
      expectExit(result, 2);
      expect(result.stderr).toMatch(/argument/i);
      expect(output(result)).not.toContain('Database:');
    });

    it.each([
      ['--batch-size', '0'],
      ['--batch-size', '-5'],
      ['--batch-size', 'abc'],
      ['--max-errors', 'x'],
      ['--max-errors', '-1'],
      ['--lock-timeout', 'soon'],
      ['--statement-timeout', '0'],
      ['--wait-for-lock', '1.5'],
    ])('%s %s is refused with the option named, and no database is touched', async (option, value) => {
      const result = await runCli(['migrate-equipment', option, value], childEnv(UNREACHABLE));
      expectExit(result, 2);
      expect(result.stderr).toContain(`${option} must be a whole number`);
      expect(result.stderr).toContain(`(got "${value}")`);
      // The database is unreachable: had the command tried it, it would have said so.
      expect(output(result)).not.toContain('Database:');
      expect(output(result)).not.toContain('Cannot connect');
    });
  });

  describe('configuration errors (exit 2)', () => {
    it('a bad DATABASE_URL gives a readable line and never shows its password', async () => {
      const result = await runCli(['migrate-equipment'], childEnv({ DATABASE_URL: 'mysql://u:hunter2@h/db', NODE_ENV: 'test' }));
      expectExit(result, 2);
      expect(result.stderr).toMatch(/^Invalid configuration: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/m);
      expect(output(result)).not.toContain('hunter2');
      expect(output(result)).not.toContain('Database:');
    });

    it('an invalid PGPORT gives one readable line', async () => {
      const result = await runCli(['migrate-equipment'], childEnv({ PGHOST: '127.0.0.1', PGPORT: 'abc', NODE_ENV: 'test' }));
      expectExit(result, 2);
      expect(result.stderr.trim().split('\n')).toEqual([
        'Invalid configuration: PGPORT must be a port number between 1 and 65535 (got "abc")',
      ]);
    });

    it('an unreachable database is named, without its password', async () => {
      const result = await runCli(['migrate-equipment'], childEnv(UNREACHABLE));
      expectExit(result, 2);
      expect(result.stdout).toContain('Database: 127.0.0.1:1/nowhere (user u)');
      expect(result.stderr).toMatch(/^Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere/m);
      expect(output(result)).not.toContain('hunter2');
    });

    it('NODE_ENV=production without DATABASE_URL or PG* does not start the embedded server', async () => {
      const result = await runCli(['migrate-equipment'], childEnv({ NODE_ENV: 'production' }));
      expectExit(result, 2);
      expect(result.stderr).toContain('No database configured');
      expect(result.stderr).toContain('DATABASE_URL');
      expect(output(result)).not.toContain('embedded PostgreSQL (');
      expect(output(result)).not.toContain('Database:');
    });
  });

  describe('on a database without the schema', () => {
    const { db, cli } = useTestSuite({ schema: false });

    it('exits 2 and says to run the schema migrations, creating nothing', async () => {
      const result = await cli(['migrate-equipment']);
      expectExit(result, 2);
      expect(result.stdout).toMatch(new RegExp(`^Database: .*/${db.name} \\(user `, 'm'));
      expect(result.stderr).toMatch(new RegExp(`^Schema missing in .*/${db.name} .*run \`npm run migration:run\``, 'm'));
      const tables: { table_name: string }[] = await db.dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      expect(tables).toEqual([]);
    });
  });

  describe('on a migrated, empty database', () => {
    const { db, cli } = useTestSuite();

    it('exits 0 by itself and finds nothing to migrate', async () => {
      const result = await cli(['migrate-equipment', '--no-progress'], { timeoutMs: 30_000 });
      expectExit(result, 0);
      expect(result.stdout).toContain(`/${db.name} (user `);
      expect(result.stdout).toContain('No assessments found to migrate');
      expect(result.stderr).not.toContain('Using the embedded PostgreSQL');
    });

    it('option errors still come before the database', async () => {
      const result = await cli(['migrate-equipment', '--batch-size', '0']);
      expectExit(result, 2);
      expect(result.stderr).toContain('--batch-size must be a whole number');
      expect(output(result)).not.toContain('Database:');
    });
  });

  describe('the Database: line names what the command actually connects to', () => {
    // DATABASE_URL without a database name or user: whatever fills the gap, the line printed before connecting must
    // name the same database and user the driver then uses.
    it('when DATABASE_URL has no database name', async () => {
      const url = new URL(adminUrl());
      url.pathname = '';
      const missing = `no_such_db_${randomBytes(4).toString('hex')}`;
      const result = await runCli(['migrate-equipment'], childEnv({ DATABASE_URL: url.toString(), PGDATABASE: missing, NODE_ENV: 'test' }));
      const line = announced(result);
      expect(line).toBeDefined();
      // The driver's error names the database it really tried (if it failed at all): it must be the announced one.
      const tried = /database "([^"]+)" does not exist/.exec(result.stderr)?.[1];
      expect(tried ?? line?.database).toBe(line?.database);
    });

    it('when DATABASE_URL has no user name', async () => {
      const url = new URL(adminUrl());
      url.username = '';
      const osUser = `no_such_role_${randomBytes(4).toString('hex')}`;
      const result = await runCli(['migrate-equipment'], childEnv({ DATABASE_URL: url.toString(), USER: osUser, NODE_ENV: 'test' }));
      const line = announced(result);
      expect(line).toBeDefined();
      // The server's error names the role the driver really used (if it failed at all): it must be the announced one.
      const tried = /(?:role|user) "([^"]+)"/.exec(result.stderr)?.[1];
      expect(tried ?? line?.user).toBe(line?.user);
    });
  });
});
