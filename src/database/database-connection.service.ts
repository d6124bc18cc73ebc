import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CliOutput } from '../cli/cli-output.service';
import { UsageError } from '../cli/cli-errors';
import { PROCESS_ENV } from '../cli/process-env';
import { redactPasswords } from '../cli/redact.util';
import { DatabaseTarget, labelOf, resolveDatabaseConfig } from '../config/database-config';
import { connectionOptions } from './data-source-options';
import { displayPath, RunningEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.server';
import { PrivilegeCheck, TableAccess } from './privilege-check';
import { SchemaCheck } from './schema-check';

export interface OpenOptions {
  /** Where to print the line naming the database: stdout for human output, stderr when stdout carries JSON. */
  announceOn: 'stdout' | 'stderr';
}

/**
 * Opens the app's DataSource at the start of a command's run (not at module init, so `--help` and option errors never
 * touch a database), and closes it — and the embedded server, if one was started — when the app shuts down.
 */
@Injectable()
export class DatabaseConnection implements OnApplicationShutdown {
  private embedded?: RunningEmbeddedPostgres;
  private target?: DatabaseTarget;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PROCESS_ENV) private readonly env: NodeJS.ProcessEnv,
    private readonly output: CliOutput,
  ) {}

  get current(): DatabaseTarget {
    if (!this.target) throw new Error('DatabaseConnection.open() has not been called');
    return this.target;
  }

  /** Connects (starting the embedded server when nothing is configured) and checks the schema is in place. */
  async open(options: OpenOptions): Promise<DatabaseTarget> {
    if (this.target) return this.target;
    const config = resolveDatabaseConfig(this.env);
    let target: DatabaseTarget;
    if (config.kind === 'embedded') {
      this.embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
      const { host, port, user, password, database } = this.embedded;
      target = { kind: 'embedded', host, port, user, database, label: labelOf({ host, port, user, database }) };
      this.dataSource.setOptions(
        connectionOptions({ host, port, user, password, database, connectTimeoutSeconds: config.connectTimeoutSeconds }),
      );
    } else {
      target = config;
      this.dataSource.setOptions(connectionOptions(config));
    }
    const announce = `Database: ${target.label}`;
    if (options.announceOn === 'stdout') this.output.line(announce);
    else this.output.note(announce);

    try {
      await this.dataSource.initialize();
    } catch (error) {
      const external = config.kind === 'embedded' ? undefined : config;
      if (!external?.sslFallbackUrl || !/does not support SSL/i.test(describe(error))) {
        throw new UsageError(`Cannot connect to PostgreSQL at ${target.label}: ${redactPasswords(describe(error))}`);
      }
      // sslmode=prefer/allow, and the server offers no TLS: connect in plain text, as libpq does.
      this.dataSource.setOptions(connectionOptions({ ...external, url: external.sslFallbackUrl }));
      try {
        await this.dataSource.initialize();
      } catch (retryError) {
        throw new UsageError(`Cannot connect to PostgreSQL at ${target.label}: ${redactPasswords(describe(retryError))}`);
      }
    }
    if (this.embedded) {
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      this.output.note(
        `Using the embedded PostgreSQL (${this.embedded.initialised ? 'created' : 'started'}, data in ${displayPath(this.embedded.dataDir)}); ` +
          `${applied.length === 0 ? 'schema up to date' : `applied ${applied.length} schema migration(s)`}`,
      );
    }
    await new SchemaCheck(this.dataSource).assertReady(target.label);
    this.target = target;
    return target;
  }

  /** Pre-flight, after open(): the role may do what the command will do, and sees every row (exit 2 if not). */
  async assertAccess(access: TableAccess): Promise<void> {
    await new PrivilegeCheck(this.dataSource).assert(access);
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    } finally {
      await this.embedded?.stop();
      this.embedded = undefined;
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
