import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';

/** A server process, told apart from a later one that reuses its pid. */
export interface BackendIdentity {
  pid: number;
  startedAt: string;
}

/** Attempts to reach the database after a commit's answer was lost, one second apart. */
const ATTEMPTS = 3;
const RETRY_MS = 1000;
/** How long to wait for the old backend to finish on its own before terminating it. */
const BACKEND_GRACE_MS = 2000;
const BACKEND_GONE_MS = 10_000;
const POLL_MS = 100;

/**
 * Finds out whether a transaction whose COMMIT went unanswered committed: its run's row in equipment_migration_runs
 * commits with the data, so the row's presence is the answer. While the old backend is still alive its commit may
 * still complete, so the lookup first waits for it to end (and terminates it if it lingers).
 */
export class CommitLookup {
  constructor(private readonly dataSource: DataSource) {}

  static async identify(queryRunner: QueryRunner): Promise<BackendIdentity> {
    const [row] = await queryRunner.query(
      `SELECT pid, backend_start::text AS "startedAt" FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
    );
    return row;
  }

  /** true: the run committed; false: it did not; 'unreachable': the database could not be asked. */
  runRecorded(runId: string, backend?: BackendIdentity): Promise<boolean | 'unreachable'> {
    return this.committed(async (manager) => (await new MigrationRunRepository(manager).findStatus(runId)) !== undefined, backend);
  }

  /** Whether a transaction committed, by what it wrote (`check`), once its backend is gone. */
  async committed(check: (manager: EntityManager) => Promise<boolean>, backend?: BackendIdentity): Promise<boolean | 'unreachable'> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      try {
        return await this.ask(check, backend);
      } catch {
        if (attempt < ATTEMPTS) await sleep(RETRY_MS);
      }
    }
    return 'unreachable';
  }

  private async ask(check: (manager: EntityManager) => Promise<boolean>, backend?: BackendIdentity): Promise<boolean> {
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      await queryRunner.connect();
      if (backend) await this.waitUntilGone(queryRunner, backend);
      return await check(queryRunner.manager);
    } finally {
      await queryRunner.release().catch(() => undefined);
    }
  }

  private async waitUntilGone(queryRunner: QueryRunner, backend: BackendIdentity): Promise<void> {
    const started = Date.now();
    let terminated = false;
    for (;;) {
      const [{ alive }] = await queryRunner.query(
        `SELECT count(*)::int AS alive FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2::timestamptz`,
        [backend.pid, backend.startedAt],
      );
      if (alive === 0) return;
      const waited = Date.now() - started;
      if (waited > BACKEND_GONE_MS) throw new Error(`server process ${backend.pid} does not end`);
      if (!terminated && waited > BACKEND_GRACE_MS) {
        // Ending the backend settles its transaction one way or the other: committed if its commit record is written.
        await queryRunner.query('SELECT pg_terminate_backend($1)', [backend.pid]).catch(() => undefined);
        terminated = true;
      }
      await sleep(POLL_MS);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
