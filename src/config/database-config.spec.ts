import { userInfo } from 'node:os';
import 'reflect-metadata';
import { ExitCode, UsageError } from '../cli/cli-errors';
import { DatabaseConfig, resolveDatabaseConfig } from './database-config';

/** The UsageError resolveDatabaseConfig throws for `env` (fails the test when it returns or throws anything else). */
function usageErrorOf(env: NodeJS.ProcessEnv): UsageError {
  let config: DatabaseConfig | undefined;
  try {
    config = resolveDatabaseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`expected a UsageError, got the configuration ${JSON.stringify(config)}`);
}

/** The lines of the UsageError's message. */
function problemLines(env: NodeJS.ProcessEnv): string[] {
  return usageErrorOf(env).message.split('\n');
}

describe('resolveDatabaseConfig', () => {
  describe('DATABASE_URL', () => {
    it.each([
      [
        'postgres://app:s3cret@db.internal:6543/appdb',
        { host: 'db.internal', port: 6543, database: 'appdb', user: 'app', label: 'db.internal:6543/appdb (user app)' },
      ],
      [
        'postgresql://app:s3cret@db.internal/appdb',
        { host: 'db.internal', port: 5432, database: 'appdb', user: 'app', label: 'db.internal:5432/appdb (user app)' },
      ],
      [
        'postgres://reporter@10.0.0.7:5433/analytics',
        { host: '10.0.0.7', port: 5433, database: 'analytics', user: 'reporter', label: '10.0.0.7:5433/analytics (user reporter)' },
      ],
      [
        // Percent-encoded user and database names are decoded for the label.
        'postgres://ops%40corp:pw@db/my%20db',
        { host: 'db', port: 5432, database: 'my db', user: 'ops@corp', label: 'db:5432/my db (user ops@corp)' },
      ],
      [
        // No database in the URL: libpq's default, the user name.
        'postgres://app:pw@db:5432',
        { host: 'db', port: 5432, database: 'app', user: 'app', label: 'db:5432/app (user app)' },
      ],
    ])('parses %s', (url, expected) => {
      const config = resolveDatabaseConfig({ DATABASE_URL: url });
      expect(config).toMatchObject({ kind: 'url', ...expected, connectTimeoutSeconds: 10 });
      // The driver gets the URL with the user and database filled in: the label names exactly what is used.
      const given = new URL((config as { url: string }).url);
      expect(decodeURIComponent(given.username)).toBe(expected.user);
      expect(decodeURIComponent(given.pathname.slice(1))).toBe(expected.database);
      expect(given.hostname).toBe(new URL(url).hostname);
    });

    it('fills a missing user and database as libpq does (PGUSER, PGDATABASE)', () => {
      const config = resolveDatabaseConfig({ DATABASE_URL: 'postgres://db:5432', PGUSER: 'carol', PGDATABASE: 'sales' });
      expect(config).toMatchObject({ user: 'carol', database: 'sales', label: 'db:5432/sales (user carol)' });
      expect((config as { url: string }).url).toBe('postgres://carol@db:5432/sales');
    });

    it('never puts the password in the label', () => {
      const config = resolveDatabaseConfig({ DATABASE_URL: 'postgres://app:hunter2@db/appdb' });
      expect(config.kind).toBe('url');
      expect(JSON.stringify({ ...config, url: undefined })).not.toContain('hunter2');
    });

    it('wins over the PG* variables', () => {
      const config = resolveDatabaseConfig({
        DATABASE_URL: 'postgres://app:pw@db:6000/appdb',
        PGHOST: 'other-host',
        PGPORT: '7000',
        PGUSER: 'other',
        PGDATABASE: 'otherdb',
        PGPASSWORD: 'other-pw',
      });
      expect(config).toMatchObject({ kind: 'url', host: 'db', port: 6000, database: 'appdb', user: 'app' });
      expect(config).not.toHaveProperty('password');
    });

    it('takes PGCONNECT_TIMEOUT', () => {
      const config = resolveDatabaseConfig({ DATABASE_URL: 'postgres://app@db/appdb', PGCONNECT_TIMEOUT: '30' });
      expect(config.connectTimeoutSeconds).toBe(30);
    });

    it('is used in production', () => {
      const config = resolveDatabaseConfig({ DATABASE_URL: 'postgres://app@db/appdb', NODE_ENV: 'production' });
      expect(config.kind).toBe('url');
    });
  });

  describe('what the driver really uses', () => {
    it('labels the host, port and user that query parameters override', () => {
      const config = resolveDatabaseConfig({ DATABASE_URL: 'postgres://app:pw@127.0.0.1:5432/db?host=/tmp/other&port=5499&user=x' });
      expect(config).toMatchObject({ host: '/tmp/other', port: 5499, user: 'x', database: 'db', label: '/tmp/other:5499/db (user x)' });
    });
  });

  describe('sslmode in DATABASE_URL', () => {
    it('refuses a value libpq does not know (exit 2)', () => {
      expect(usageErrorOf({ DATABASE_URL: 'postgres://u@h/d?sslmode=bogus' }).message).toMatch(/^Invalid configuration: DATABASE_URL sslmode must be one of /);
    });

    it.each(['prefer', 'allow'])('%s keeps a plain-text URL to fall back on, as libpq does', (mode) => {
      const config = resolveDatabaseConfig({ DATABASE_URL: `postgres://u@h/d?sslmode=${mode}` });
      expect(config.kind === 'url' && config.sslFallbackUrl).toBe('postgres://u@h/d?sslmode=disable');
    });

    it('require has no fall-back', () => {
      const config = resolveDatabaseConfig({ DATABASE_URL: 'postgres://u@h/d?sslmode=require' });
      expect(config.kind === 'url' && config.sslFallbackUrl).toBeUndefined();
    });
  });

  describe('libpq variables this tool does not read', () => {
    it.each(['PGHOSTADDR', 'PGSERVICE', 'PGSSLMODE', 'PGPASSFILE'])('%s alone is refused (exit 2), never a silent fall-back to the embedded server', (key) => {
      const error = usageErrorOf({ [key]: 'x' });
      expect(error.exitCode).toBe(ExitCode.Usage);
      expect(error.message).toMatch(new RegExp(`^Unsupported configuration: ${key} is set`));
    });

    it('names every one set, also next to DATABASE_URL', () => {
      const error = usageErrorOf({ DATABASE_URL: 'postgres://u@h/d', PGSERVICE: 'a', PGSSLMODE: 'require' });
      expect(error.message).toMatch(/^Unsupported configuration: PGSERVICE, PGSSLMODE are set/);
    });
  });

  describe('PG* variables', () => {
    const osUser = userInfo().username; // libpq's default user
    it.each([
      [{ PGHOST: 'pg.internal' }, { host: 'pg.internal', port: 5432, user: osUser, database: osUser }],
      [{ PGUSER: 'alice' }, { host: 'localhost', port: 5432, user: 'alice', database: 'alice' }],
      [{ PGPORT: '5544' }, { host: 'localhost', port: 5544, user: osUser, database: osUser }],
      [{ PGDATABASE: 'shop' }, { host: 'localhost', port: 5432, user: osUser, database: 'shop' }],
      [{ PGPASSWORD: 'pw' }, { host: 'localhost', port: 5432, user: osUser, database: osUser }],
      [
        { PGHOST: 'h', PGPORT: '6432', PGUSER: 'bob', PGDATABASE: 'bobs', PGPASSWORD: 'pw' },
        { host: 'h', port: 6432, user: 'bob', database: 'bobs' },
      ],
    ])('%j resolves with libpq defaults', (env, expected) => {
      const config = resolveDatabaseConfig(env);
      expect(config).toMatchObject({
        kind: 'pg-env',
        ...expected,
        label: `${expected.host}:${expected.port}/${expected.database} (user ${expected.user})`,
        connectTimeoutSeconds: 10,
      });
    });

    it('hands PGPASSWORD to the driver but not to the label', () => {
      const config = resolveDatabaseConfig({ PGHOST: 'h', PGUSER: 'bob', PGPASSWORD: 'hunter2' });
      expect(config).toMatchObject({ kind: 'pg-env', password: 'hunter2', label: 'h:5432/bob (user bob)' });
    });

    it('takes PGCONNECT_TIMEOUT', () => {
      expect(resolveDatabaseConfig({ PGHOST: 'h', PGCONNECT_TIMEOUT: '600' }).connectTimeoutSeconds).toBe(600);
      expect(resolveDatabaseConfig({ PGHOST: 'h', PGCONNECT_TIMEOUT: '1' }).connectTimeoutSeconds).toBe(1);
    });
  });

  describe('empty variables count as unset', () => {
    it.each([
      [{ DATABASE_URL: '' }, 'embedded'],
      [{ DATABASE_URL: '', PGHOST: '', PGPORT: '', PGUSER: '', PGPASSWORD: '', PGDATABASE: '' }, 'embedded'],
      [{ DATABASE_URL: '', PGHOST: 'h' }, 'pg-env'],
      [{ DATABASE_URL: 'postgres://u@h/d', PGPORT: '', PGCONNECT_TIMEOUT: '' }, 'url'],
    ])('%j is %s', (env, kind) => {
      expect(resolveDatabaseConfig(env).kind).toBe(kind);
    });

    it('gives the defaults for empty PGPORT, PGUSER, PGDATABASE and PGCONNECT_TIMEOUT', () => {
      expect(
        resolveDatabaseConfig({ PGHOST: 'h', PGPORT: '', PGUSER: '', PGDATABASE: '', PGCONNECT_TIMEOUT: '' }),
      ).toMatchObject({ kind: 'pg-env', port: 5432, user: userInfo().username, database: userInfo().username, connectTimeoutSeconds: 10 });
    });

    it('an empty EMBEDDED_POSTGRES_DIR means the default folder', () => {
      const config = resolveDatabaseConfig({ EMBEDDED_POSTGRES_DIR: '' });
      expect(config).toEqual({ kind: 'embedded', dataDir: undefined, connectTimeoutSeconds: 10 });
    });

    it('an empty DATABASE_URL in production is still no configuration', () => {
      expect(usageErrorOf({ DATABASE_URL: '', PGHOST: '', NODE_ENV: 'production' }).exitCode).toBe(ExitCode.Usage);
    });
  });

  describe('nothing configured', () => {
    it.each([{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }])('with %j starts the embedded server', (env) => {
      expect(resolveDatabaseConfig(env)).toEqual({ kind: 'embedded', dataDir: undefined, connectTimeoutSeconds: 10 });
    });

    it('passes EMBEDDED_POSTGRES_DIR and PGCONNECT_TIMEOUT through', () => {
      expect(resolveDatabaseConfig({ EMBEDDED_POSTGRES_DIR: '/tmp/pg-data', PGCONNECT_TIMEOUT: '25' })).toEqual({
        kind: 'embedded',
        dataDir: '/tmp/pg-data',
        connectTimeoutSeconds: 25,
      });
    });

    it('is a usage error (exit 2) with NODE_ENV=production', () => {
      const error = usageErrorOf({ NODE_ENV: 'production', EMBEDDED_POSTGRES_DIR: '/tmp/pg-data' });
      expect(error.exitCode).toBe(ExitCode.Usage);
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(/^No database configured: set DATABASE_URL/);
      expect(error.message).toContain('NODE_ENV=production');
    });

    it.each(['Production', 'PRODUCTION', ' production '])('NODE_ENV=%j counts as production too', (value) => {
      expect(usageErrorOf({ NODE_ENV: value }).message).toMatch(/^No database configured/);
    });
  });

  describe('invalid values: one line per problem, exit 2', () => {
    const PORT = 'must be a port number between 1 and 65535';
    const TIMEOUT = 'must be a whole number of seconds between 1 and 600';
    const URL_MESSAGE = 'must be a postgres:// or postgresql:// URL with a host';

    it.each([
      ['PGPORT', 'abc', PORT],
      ['PGPORT', '0', PORT],
      ['PGPORT', '65536', PORT],
      ['PGPORT', '54.32', PORT],
      ['PGPORT', '-1', PORT],
      ['PGCONNECT_TIMEOUT', '0', TIMEOUT],
      ['PGCONNECT_TIMEOUT', '601', TIMEOUT],
      ['PGCONNECT_TIMEOUT', 'ten', TIMEOUT],
      ['PGCONNECT_TIMEOUT', '1.5', TIMEOUT],
      ['DATABASE_URL', 'mysql://x', URL_MESSAGE],
      ['DATABASE_URL', 'not a url', URL_MESSAGE],
      ['DATABASE_URL', 'http://h/db', URL_MESSAGE],
      ['DATABASE_URL', 'postgres://', URL_MESSAGE],
      ['DATABASE_URL', 'postgres://u@h:70000/db', URL_MESSAGE],
    ])('%s=%j', (name, value, message) => {
      const error = usageErrorOf({ PGHOST: 'h', [name]: value });
      expect(error.exitCode).toBe(ExitCode.Usage);
      expect(error.message.split('\n')).toEqual([`Invalid configuration: ${name} ${message} (got ${JSON.stringify(value)})`]);
    });

    it('reports every problem, each on its own line', () => {
      const lines = problemLines({ DATABASE_URL: 'mysql://x', PGPORT: 'abc', PGCONNECT_TIMEOUT: '0', PGHOST: 'h' });
      expect(lines).toEqual([
        `Invalid configuration: DATABASE_URL ${URL_MESSAGE} (got "mysql://x")`,
        `Invalid configuration: PGPORT ${PORT} (got "abc")`,
        `Invalid configuration: PGCONNECT_TIMEOUT ${TIMEOUT} (got "0")`,
      ]);
    });

    it('checks the values even when the embedded server would be used', () => {
      expect(problemLines({ PGCONNECT_TIMEOUT: '0' })).toEqual([`Invalid configuration: PGCONNECT_TIMEOUT ${TIMEOUT} (got "0")`]);
    });

    it.each(['postgres://u@h/bad%zz', 'postgres://%zz@h/db'])(
      'a DATABASE_URL the code cannot decode (%s) is a configuration problem too',
      (url) => {
        const lines = problemLines({ DATABASE_URL: url });
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^Invalid configuration: DATABASE_URL /);
      },
    );
  });

  describe('passwords never appear in messages', () => {
    it.each([
      ['postgres://u:hunter2@', 'hunter2'],
      ['postgres://u:hunter2@/db', 'hunter2'],
      ['postgresql://u:hunter2@host:99999/db', 'hunter2'],
      ['mysql://u:hunter2@h/db', 'hunter2'],
      ['postgres://:hunter2@:5432/db', 'hunter2'],
      ['postgres://u:hunter2@h/bad%zz', 'hunter2'],
      // An unencoded @ inside the password: no part of it may show.
      ['postgres://u:hun@ter2@host:99999/db', 'ter2'],
    ])('%s', (url, secret) => {
      const error = usageErrorOf({ DATABASE_URL: url });
      expect(error.message).toMatch(/^Invalid configuration: DATABASE_URL /);
      expect(error.message).not.toContain(secret);
    });
  });
});
