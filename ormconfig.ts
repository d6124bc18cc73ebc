import 'reflect-metadata';
import { DataSource, DataSourceOptions } from 'typeorm';
import { resolveDatabaseConfig } from './src/config/database-config';
import { BASE_DATA_SOURCE_OPTIONS, connectionOptions } from './src/database/data-source-options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:run|revert|generate|show`). Those scripts run through
 * bin/with-database.js, which sets DATABASE_URL (starting the embedded PostgreSQL when nothing is configured).
 * The app builds its DataSource from the same BASE_DATA_SOURCE_OPTIONS (see DatabaseModule).
 */
const config = resolveDatabaseConfig(process.env);
if (config.kind === 'embedded') {
  throw new Error('ormconfig: no DATABASE_URL or PG* variables; run the TypeORM CLI through `npm run migration:*`');
}

export default new DataSource({ ...BASE_DATA_SOURCE_OPTIONS, ...connectionOptions(config) } as DataSourceOptions);
