import { rmSync } from 'node:fs';
import type { RunningEmbeddedPostgres } from '../../src/database/embedded-postgres.server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __EMBEDDED_TEST_POSTGRES__?: RunningEmbeddedPostgres }).__EMBEDDED_TEST_POSTGRES__;
  if (!server) return;
  await server.stop();
  rmSync(server.dataDir, { recursive: true, force: true });
}
