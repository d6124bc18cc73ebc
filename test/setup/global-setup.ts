import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.server';
import { projectRoot } from '../../src/database/project-root.util';

/**
 * Integration tests need a real PostgreSQL: TEST_DATABASE_URL when set (CI points it at the machine's server),
 * otherwise an embedded one started here for the whole run. Each test file then creates its own database in it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const dataDir = join(projectRoot(), '.data', `test-postgres-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  const server = await startEmbeddedPostgres({ dataDir });
  process.env.TEST_DATABASE_URL = `postgres://${server.user}:${server.password}@${server.host}:${server.port}/${server.database}`;
  (globalThis as { __EMBEDDED_TEST_POSTGRES__?: typeof server }).__EMBEDDED_TEST_POSTGRES__ = server;
  process.stderr.write(`\nIntegration tests use an embedded PostgreSQL on ${server.host}:${server.port} (TEST_DATABASE_URL not set)\n`);
}
