import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { Assessment } from '../entities/assessment.entity';
import { EquipmentMigrationChange } from '../entities/equipment-migration-change.entity';
import { EquipmentMigrationError } from '../entities/equipment-migration-error.entity';
import { EquipmentMigrationRun } from '../entities/equipment-migration-run.entity';
import { User } from '../entities/user.entity';
import { MIGRATIONS } from '../migrations';

export const ENTITIES = [User, Assessment, EquipmentMigrationRun, EquipmentMigrationChange, EquipmentMigrationError];

/** What every DataSource of the app shares. Schema changes go through migrations only: never synchronize. */
export const BASE_DATA_SOURCE_OPTIONS = {
  type: 'postgres',
  // Given, not left to TypeORM's require('pg') at run time: the CLI's bundle then holds pg too (compiled once, from
  // the code cache) instead of loading it from node_modules on every start.
  driver: pg,
  entities: ENTITIES,
  migrations: MIGRATIONS,
  migrationsTableName: 'typeorm_migrations',
  synchronize: false,
  migrationsRun: false,
  // Failures reach the commands as errors (one clear line each); TypeORM's own logging would repeat them on stdout.
  logging: false,
} as const satisfies DataSourceOptions;

export interface ConnectionSettings {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  url?: string;
  connectTimeoutSeconds: number;
}

/** Driver settings for one resolved connection (embedded or external). */
export function connectionOptions(settings: ConnectionSettings): Partial<DataSourceOptions> {
  const common = {
    applicationName: 'equipment-migration',
    connectTimeoutMS: settings.connectTimeoutSeconds * 1000,
    // A command uses one connection for its transaction and one more for checks; a migration adds the read-only
    // connection its pages are read on, an online run the connection that holds its session lock.
    poolSize: 5,
  };
  if (settings.url) return { ...common, url: settings.url };
  return {
    ...common,
    host: settings.host,
    port: settings.port,
    username: settings.user,
    password: settings.password,
    database: settings.database,
  };
}

