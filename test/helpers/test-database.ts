import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { BASE_DATA_SOURCE_OPTIONS } from '../../src/database/data-source-options';

export interface TestDatabase {
  /** postgres:// URL of this file's own database. */
  url: string;
  name: string;
  /** A DataSource on it (schema migrated unless `migrate: false`), for arranging and asserting. */
  dataSource: DataSource;
  /** Environment for commands under test: DATABASE_URL of this database and nothing else. */
  env: NodeJS.ProcessEnv;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: integration tests run through the Jest global setup');
  return url;
}

export function databaseUrl(name: string, server: string = adminUrl()): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(server: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: server });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database for one test file (and, by default, applies the schema migrations to it), in the test
 * server or in `server` (a superuser URL, e.g. a private primary of test/helpers/standby.ts).
 */
export async function createTestDatabase(options: { migrate?: boolean; server?: string } = {}): Promise<TestDatabase> {
  const server = options.server ?? adminUrl();
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin(server, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(name, server);
  const dataSource = new DataSource({ ...BASE_DATA_SOURCE_OPTIONS, url, poolSize: 4 } as DataSourceOptions);
  await dataSource.initialize();
  if (options.migrate !== false) await dataSource.runMigrations();
  return {
    url,
    name,
    dataSource,
    env: { DATABASE_URL: url, NODE_ENV: 'test' },
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await withAdmin(server, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
