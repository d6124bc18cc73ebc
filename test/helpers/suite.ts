import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandResult, ProcessResult, runCli, runCommand, RunCommandOptions } from './cli-harness';
import { killStrayProcesses } from './cli-process';
import { createTestDatabase, TestDatabase } from './test-database';

export interface TestSuiteOptions {
  /** A fresh database for every test (beforeEach) instead of one for the whole describe block (beforeAll). */
  perTest?: boolean;
  /** Apply the schema migrations to the new database; default true. */
  schema?: boolean;
  /** A temporary folder for report files, named `<prefix>XXXXXX`, made with the database and removed with it. */
  folder?: string;
  /** Make the folder afresh for every test, even when the database lasts the whole block. */
  freshFolderEachTest?: boolean;
  /** Kill the CLI children (startCli) a failed test left running, after each test and before the database goes. */
  children?: boolean;
  /** Runs before the database is dropped (close the test's own sessions on it, say). */
  teardown?: () => unknown;
}

export interface TestSuite {
  /** This block's own database (see TestDatabase), usable inside tests and hooks. */
  readonly db: TestDatabase;
  /** The temporary folder (with `folder`). */
  readonly folder: string;
  /** `migrate-equipment --no-progress <args>` in-process against db (progress would only go to the recording output). */
  migrate(args?: readonly string[], options?: RunCommandOptions): Promise<CommandResult>;
  /** Any command in-process against db. */
  run(args: readonly string[], options?: RunCommandOptions): Promise<CommandResult>;
  /** The real CLI (`node bin/cli.js`, or npm with `viaNpm`) as a child process against db. */
  cli(args: readonly string[], options?: { viaNpm?: boolean; timeoutMs?: number }): Promise<ProcessResult>;
}

/**
 * The setup every spec file repeated: its own database (created before, dropped after), a report folder, and the
 * commands run against that database. Call it at the top of a describe block: Jest runs hooks in declaration order, so
 * the block's own beforeAll/beforeEach (seeding, say) run after the database exists, and its own afterAll/afterEach
 * run after it is gone; pass `teardown` for what must end before (a session on the database).
 * `db` can be destructured at once: it reads the current database when used, inside tests and hooks.
 */
export function useTestSuite(options: TestSuiteOptions = {}): TestSuite {
  let current: TestDatabase | undefined;
  let folder: string | undefined;
  const [setUp, tearDown] = options.perTest ? [beforeEach, afterEach] : [beforeAll, afterAll];
  const [setUpFolder, tearDownFolder] = options.perTest || options.freshFolderEachTest ? [beforeEach, afterEach] : [beforeAll, afterAll];

  setUp(async () => {
    current = await createTestDatabase({ migrate: options.schema !== false });
  });
  // Registered first, so that it runs first: no child is left writing into the folder or using the database.
  if (options.children) afterEach(() => killStrayProcesses());
  if (options.folder !== undefined) {
    const prefix = options.folder;
    setUpFolder(() => {
      folder = mkdtempSync(join(tmpdir(), prefix));
    });
    tearDownFolder(() => {
      if (folder === undefined) return;
      if (existsSync(folder)) chmodSync(folder, 0o700); // a test may have made it unwritable
      rmSync(folder, { recursive: true, force: true });
      folder = undefined;
    });
  }
  tearDown(async () => {
    if (options.children) await killStrayProcesses();
    await options.teardown?.();
    await current?.drop();
    current = undefined;
  });

  const database = (): TestDatabase => {
    if (!current) throw new Error("the suite's database exists only inside its describe block's tests and hooks");
    return current;
  };
  const db: TestDatabase = {
    get url() {
      return database().url;
    },
    get name() {
      return database().name;
    },
    get dataSource() {
      return database().dataSource;
    },
    get env() {
      return database().env;
    },
    drop: () => database().drop(),
  };

  return {
    db,
    get folder() {
      if (folder === undefined) throw new Error('no folder: pass `folder` to useTestSuite, and use it inside tests and hooks');
      return folder;
    },
    migrate: (args = [], runOptions) => runCommand(['migrate-equipment', '--no-progress', ...args], db.env, runOptions),
    run: (args, runOptions) => runCommand([...args], db.env, runOptions),
    cli: (args, cliOptions) => runCli([...args], db.env, cliOptions),
  };
}
