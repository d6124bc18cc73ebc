import { QueryRunner, QueryRunnerAlreadyReleasedError } from 'typeorm';

/** What this project uses of the node-postgres client under a TypeORM query runner. */
export interface PgClient {
  /** A simple-protocol query of one or more statements: one result per statement when there are several. */
  query(text: string): Promise<{ rows: Record<string, unknown>[] }[]>;
  /** A parameterized query whose rows come as arrays of column values, in the select list's order. */
  query(config: { text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: unknown[][] }>;
  on(event: 'error', listener: (error: Error) => void): void;
  removeListener(event: 'error', listener: (error: Error) => void): void;
  connection?: { stream?: { destroy(): void } };
}

/** The node-postgres client under a TypeORM query runner (once connected). */
export function connectionOf(queryRunner: QueryRunner): PgClient | undefined {
  return (queryRunner as unknown as { databaseConnection?: PgClient }).databaseConnection;
}

/**
 * The client under a connected query runner, for what TypeORM's query() cannot do (several statements in one message,
 * rows as arrays). A released runner fails with TypeORM's own error, as its query() would: a connection lost while
 * idle is told by it (fatalKind).
 */
export function queryableClient(queryRunner: QueryRunner): PgClient {
  const client = connectionOf(queryRunner);
  if (!client || queryRunner.isReleased) throw new QueryRunnerAlreadyReleasedError();
  return client;
}

/** Closes the socket under a query runner: PostgreSQL then rolls back its transaction and releases its locks. */
export function destroyConnection(queryRunner: QueryRunner): void {
  connectionOf(queryRunner)?.connection?.stream?.destroy();
}

/**
 * Keeps the error a held connection fails with while idle (the server terminated it, the network dropped).
 * TypeORM then releases the query runner, and its next query would only say "Query runner already released".
 */
export interface ConnectionWatch {
  readonly lost?: Error;
  stop(): void;
}

export function watchConnection(queryRunner: QueryRunner): ConnectionWatch {
  const client = connectionOf(queryRunner);
  let lost: Error | undefined;
  const onError = (error: Error) => (lost ??= error);
  client?.on('error', onError);
  return {
    get lost() {
      return lost;
    },
    stop: () => client?.removeListener('error', onError),
  };
}
