/** What PostgreSQL (through node-postgres and TypeORM) said went wrong, by SQLSTATE. */

export function sqlState(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = candidate?.driverError?.code ?? candidate?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The database refused one row's data: a data exception (22), an integrity constraint (23) or an error raised by a
 * trigger or function (P0). Such an error is the row's, not the run's: the page is retried row by row.
 */
export function isRowLevelError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && /^(22|23|P0)/.test(state);
}

export type FatalKind = 'lock-timeout' | 'statement-timeout' | 'connection-lost' | 'deadlock' | 'other';

/** Classifies an error that ends a run. */
export function fatalKind(error: unknown): FatalKind {
  const state = sqlState(error);
  const message = errorMessage(error);
  if (state === '55P03') return 'lock-timeout';
  if (state === '57014' && /statement timeout/i.test(message)) return 'statement-timeout';
  if (state === '40P01') return 'deadlock';
  // TypeORM releases a query runner whose connection failed while idle: its next query says it was released.
  const released = (error as { name?: string })?.name === 'QueryRunnerAlreadyReleasedError';
  if (released || (state && /^(08|57P0)/.test(state)) || /connection terminated|not queryable|ECONNRESET|EPIPE|terminating connection/i.test(message)) {
    return 'connection-lost';
  }
  return 'other';
}
