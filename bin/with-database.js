#!/usr/bin/env node
'use strict';
// Runs a command (the TypeORM CLI, psql, ...) with DATABASE_URL set: the configured database, or else the
// embedded PostgreSQL under .data/postgres, started for the command and stopped after it.
require('reflect-metadata'); // class-validator/class-transformer decorators in the config DTO need it
const { spawn } = require('node:child_process');
const path = require('node:path');
const { ensureFreshBuild, DIST, ROOT } = require('../scripts/build-lib');

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('usage: node bin/with-database.js <command> [args...]\n');
    return 2;
  }
  await ensureFreshBuild();
  const { resolveDatabaseConfig } = require(path.join(DIST, 'src/config/database-config.js'));
  const { startEmbeddedPostgres, displayPath } = require(path.join(DIST, 'src/database/embedded-postgres.server.js'));
  const { CliError } = require(path.join(DIST, 'src/cli/cli-errors.js'));

  let config;
  try {
    config = resolveDatabaseConfig(process.env);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
  const env = { ...process.env };
  let embedded;
  if (config.kind === 'embedded') {
    try {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
    } catch (error) {
      process.stderr.write(`${error.message}\n`);
      return error instanceof CliError ? error.exitCode : 1;
    }
    env.DATABASE_URL = `postgres://${embedded.user}:${embedded.password}@${embedded.host}:${embedded.port}/${embedded.database}`;
    process.stderr.write(`Using the embedded PostgreSQL on ${embedded.host}:${embedded.port} (data in ${displayPath(embedded.dataDir)})\n`);
  } else {
    process.stderr.write(`Using database ${config.label}\n`);
  }
  const bin = command === 'typeorm' ? path.join(ROOT, 'node_modules/typeorm/cli.js') : command;
  const argv = command === 'typeorm' ? [bin, ...args] : args;
  const exe = command === 'typeorm' ? process.execPath : bin;
  const child = spawn(exe, argv, { stdio: 'inherit', env });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise((resolve) => child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGTERM' ? 143 : 130))));
  if (embedded) await embedded.stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
