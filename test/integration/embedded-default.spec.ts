import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../src/database/embedded-postgres.server';
import { PROJECT_ROOT, ProcessResult, removeEmbeddedDataDir, runCli } from '../helpers/cli-harness';
import { expectExit } from '../helpers/cli-process';
import { printedCounts } from '../helpers/printed-counts';

/**
 * The embedded default: with neither DATABASE_URL nor PG* (nor TEST_DATABASE_URL) in its environment, every command
 * starts its own PostgreSQL on a data folder, applies the schema, and stops it when it ends. The folder here is a
 * fresh one under .data/, so that the developer's .data/postgres is never touched.
 */

const TIMEOUT_MS = 60_000;
/** The harness gives up a little before Jest does, so that a hang reports the child's output. */
const CLI_TIMEOUT_MS = 55_000;

describe('the embedded PostgreSQL default (no DATABASE_URL, no PG*)', () => {
  const dataDir = join(PROJECT_ROOT, '.data', `embedded-test-${randomBytes(6).toString('hex')}`);
  const ownerFile = `${dataDir}.owner`;
  let scratch: string;

  /** Only what the command needs: in particular no DATABASE_URL, PG* or TEST_DATABASE_URL of the Jest process. */
  const env = (): NodeJS.ProcessEnv => ({ EMBEDDED_POSTGRES_DIR: dataDir, NODE_ENV: 'test' });
  const cli = (args: string[]): Promise<ProcessResult> => runCli(args, env(), { timeoutMs: CLI_TIMEOUT_MS });

  /** Once a command has ended, nothing keeps running on the folder and nobody owns it. */
  function expectStopped(): void {
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(existsSync(ownerFile)).toBe(false);
  }

  /** What every command on the embedded server prints. */
  function expectEmbedded(result: ProcessResult): void {
    expect(result.stderr).toContain('Using the embedded PostgreSQL (');
    expect(result.stderr).toContain(`data in .data/${dataDir.split('/').pop()}`);
    expect(result.stdout).toMatch(/^Database: 127\.0\.0\.1:\d+\/postgres \(user postgres\)$/m);
  }

  beforeAll(() => {
    expect(existsSync(dataDir)).toBe(false);
    scratch = mkdtempSync(join(tmpdir(), 'embedded-default-'));
  });

  afterAll(async () => {
    await removeEmbeddedDataDir(dataDir);
    rmSync(scratch, { recursive: true, force: true });
  });

  it(
    'seed-demo creates the cluster, applies the schema and loads the sample',
    async () => {
      const result = await cli(['seed-demo']);
      expectExit(result, 0);
      expectEmbedded(result);
      expect(result.stderr).toContain('Using the embedded PostgreSQL (created');
      expect(result.stderr).toMatch(/applied \d+ schema migration\(s\)/);
      expect(result.stdout).toMatch(/^Seeded 150 demo assessments/m);
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      expectStopped();
    },
    TIMEOUT_MS,
  );

  it(
    'a failing run exits 1 on the embedded server too (--max-errors 0 on the sample, which has error rows)',
    async () => {
      const result = await cli(['migrate-equipment', '--max-errors', '0', '--no-progress']);
      expectExit(result, 1);
      expectEmbedded(result);
      expect(result.stderr).toMatch(/^Aborted: more than 0 error rows/m);
      expectStopped();
    },
    TIMEOUT_MS,
  );

  it(
    'migrate-equipment --save-report: one full run on the embedded default',
    async () => {
      const reportPath = join(scratch, 'report.json');
      const result = await cli(['migrate-equipment', '--save-report', reportPath, '--no-progress']);
      expectExit(result, 0);
      expectEmbedded(result);
      expect(result.stderr).toContain('Using the embedded PostgreSQL (started');
      expect(result.stderr).toContain('schema up to date');
      expect(result.stdout).toContain('Found 150 assessments to process');
      expect(result.stdout).toContain('--- Migration Report ---');
      expect(result.stdout).toContain(`Report saved to: ${reportPath}`);
      expect(result.stdout).toMatch(/^Migration completed successfully!$/m);

      const counts = printedCounts(result.stdout);
      expect(counts.total_processed).toBe(150);
      expect(counts.migrated).toBeGreaterThan(0);
      expect(counts.flagged).toBeGreaterThan(0);
      expect(counts.errors).toBeGreaterThan(0);
      expect(
        counts.migrated + counts.flagged + counts.skipped + counts.errors,
      ).toBe(150);

      const report = JSON.parse(readFileSync(reportPath, 'utf8'));
      expect(report.summary).toEqual({
        total_processed: 150,
        migrated: counts.migrated,
        flagged: counts.flagged,
        skipped: counts.skipped,
        errors: counts.errors,
      });
      expect(report.run.database).toMatchObject({ host: '127.0.0.1', name: 'postgres', user: 'postgres' });
      expectStopped();
    },
    TIMEOUT_MS,
  );

  it(
    'a second run finds nothing left to migrate',
    async () => {
      const result = await cli(['migrate-equipment', '--no-progress']);
      expectExit(result, 0);
      expectEmbedded(result);
      const counts = printedCounts(result.stdout);
      expect(counts.total_processed).toBe(150);
      expect(counts.migrated).toBe(0);
      expect(counts.flagged).toBe(0);
      expectStopped();
    },
    TIMEOUT_MS,
  );

  it(
    'takes over a stale owner file whose process is gone',
    async () => {
      let deadPid = 999_999;
      while (isAlive(deadPid)) deadPid += 1;
      writeFileSync(ownerFile, String(deadPid));
      const result = await cli(['migrate-equipment', '--dry-run', '--no-progress']);
      expectExit(result, 0);
      expectEmbedded(result);
      expect(result.stdout).toContain('DRY RUN MODE - No changes will be saved');
      expectStopped();
    },
    TIMEOUT_MS,
  );

  it(
    'exits 3 while another live process owns the embedded server, leaving its owner file alone',
    async () => {
      writeFileSync(ownerFile, String(process.pid));
      try {
        const result = await cli(['migrate-equipment', '--no-progress']);
        expectExit(result, 3);
        expect(result.stderr).toMatch(/embedded PostgreSQL .* is in use by another command \(pid \d+\)/);
        expect(result.stderr).toContain(`(pid ${process.pid})`);
        expect(result.stdout).not.toContain('Database:');
        expect(readFileSync(ownerFile, 'utf8').trim()).toBe(String(process.pid));
        expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
      } finally {
        rmSync(ownerFile, { force: true });
      }
    },
    TIMEOUT_MS,
  );
});
