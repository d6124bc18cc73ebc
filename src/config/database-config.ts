import 'reflect-metadata'; // class-transformer's @Type reads design-time metadata
import { userInfo } from 'node:os';
import { plainToInstance } from 'class-transformer';
import {
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  Min,
  validateSync,
  ValidationError,
  registerDecorator,
  ValidationOptions,
} from 'class-validator';
import { Type } from 'class-transformer';
import { parse as parseConnectionString } from 'pg-connection-string';
import { UsageError } from '../cli/cli-errors';
import { redactPasswords } from '../cli/redact.util';

/** The connection a command will use, in a form that can be printed (no password). */
export interface DatabaseTarget {
  kind: 'url' | 'pg-env' | 'embedded';
  host: string;
  port: number;
  database: string;
  user: string;
  /** `host:port/database (user)`: what commands print before they touch anything. */
  label: string;
}

export interface ExternalDatabaseConfig extends DatabaseTarget {
  kind: 'url' | 'pg-env';
  /** Only for the driver; never printed. */
  password?: string;
  url?: string;
  /** sslmode=prefer or allow: like libpq, connect without TLS when the server does not offer it. */
  sslFallbackUrl?: string;
  connectTimeoutSeconds: number;
}

export interface EmbeddedDatabaseConfig {
  kind: 'embedded';
  dataDir?: string;
  connectTimeoutSeconds: number;
}

export type DatabaseConfig = ExternalDatabaseConfig | EmbeddedDatabaseConfig;

function IsPostgresUrl(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isPostgresUrl',
      target: target.constructor,
      propertyName,
      options: { message: 'must be a postgres:// or postgresql:// URL with a host', ...options },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string') return false;
          try {
            const url = new URL(value);
            // Percent-escapes must decode (they are decoded below); a bad one is a configuration error, not a crash.
            [url.username, url.password, url.pathname, url.hostname].forEach((part) => decodeURIComponent(part));
            return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
          } catch {
            return false;
          }
        },
      },
    });
}

/** The environment variables that configure the database, validated at start-up. */
export class DatabaseEnvironment {
  @IsOptional()
  @IsPostgresUrl()
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  PGHOST?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be a port number between 1 and 65535' })
  @Min(1, { message: 'must be a port number between 1 and 65535' })
  @Max(65535, { message: 'must be a port number between 1 and 65535' })
  PGPORT?: number;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  PGUSER?: string;

  @IsOptional()
  @IsString()
  PGPASSWORD?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  PGDATABASE?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds between 1 and 600' })
  @Min(1, { message: 'must be a whole number of seconds between 1 and 600' })
  @Max(600, { message: 'must be a whole number of seconds between 1 and 600' })
  PGCONNECT_TIMEOUT?: number;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  EMBEDDED_POSTGRES_DIR?: string;

  @IsOptional()
  @IsString()
  NODE_ENV?: string;
}

const PG_ENV_KEYS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'] as const;

/**
 * libpq's other environment variables. Setting one says "use this database, like this": silently falling back to the
 * embedded server, or connecting without it, would touch the wrong database or connect differently. Refused (exit 2).
 */
const UNSUPPORTED_LIBPQ_KEYS = [
  'PGHOSTADDR', 'PGSERVICE', 'PGSERVICEFILE', 'PGPASSFILE', 'PGOPTIONS', 'PGAPPNAME', 'PGSSLMODE', 'PGREQUIRESSL',
  'PGSSLCOMPRESSION', 'PGSSLCERT', 'PGSSLKEY', 'PGSSLCERTMODE', 'PGSSLROOTCERT', 'PGSSLCRL', 'PGSSLCRLDIR', 'PGSSLSNI',
  'PGSSLNEGOTIATION', 'PGSSLMINPROTOCOLVERSION', 'PGSSLMAXPROTOCOLVERSION', 'PGREQUIREPEER', 'PGREQUIREAUTH',
  'PGCHANNELBINDING', 'PGGSSENCMODE', 'PGKRBSRVNAME', 'PGGSSLIB', 'PGGSSDELEGATION', 'PGTARGETSESSIONATTRS',
  'PGLOADBALANCEHOSTS', 'PGCLIENTENCODING', 'PGDATESTYLE', 'PGTZ', 'PGGEQO', 'PGSYSCONFDIR', 'PGLOCALEDIR',
] as const;
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;
/** libpq's sslmode values, and node-postgres's no-verify. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** Empty variables count as unset, as in libpq. */
function pickSet(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of ['DATABASE_URL', ...PG_ENV_KEYS, 'PGCONNECT_TIMEOUT', 'EMBEDDED_POSTGRES_DIR', 'NODE_ENV']) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  return picked;
}

function describeProblem(error: ValidationError, raw: Record<string, string>): string {
  const value = redactPasswords(JSON.stringify(raw[error.property] ?? null));
  // class-validator's own messages start with the property name; ours do not.
  const message = Object.values(error.constraints ?? {})[0]?.replace(new RegExp(`^${error.property} `), '') ?? 'is invalid';
  return `Invalid configuration: ${error.property} ${message} (got ${value})`;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

export function labelOf(target: Pick<DatabaseTarget, 'host' | 'port' | 'database' | 'user'>): string {
  return `${target.host}:${target.port}/${target.database} (user ${target.user})`;
}

/**
 * Resolves where commands connect: DATABASE_URL, else the PG* variables, else (outside production) an embedded
 * PostgreSQL. Every problem becomes one line of a UsageError (exit 2); passwords never appear in messages.
 */
export function resolveDatabaseConfig(env: NodeJS.ProcessEnv): DatabaseConfig {
  const unsupported = UNSUPPORTED_LIBPQ_KEYS.filter((key) => env[key] !== undefined && env[key] !== '');
  if (unsupported.length > 0) {
    throw new UsageError(
      `Unsupported configuration: ${unsupported.join(', ')} ${unsupported.length > 1 ? 'are' : 'is'} set, but this tool only reads DATABASE_URL, ${PG_ENV_KEYS.join(', ')} and PGCONNECT_TIMEOUT; unset ${unsupported.length > 1 ? 'them' : 'it'}, or put the setting in DATABASE_URL (e.g. ?sslmode=require)`,
    );
  }
  const raw = pickSet(env);
  const parsed = plainToInstance(DatabaseEnvironment, raw);
  const errors = validateSync(parsed, { forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new UsageError(errors.map((e) => describeProblem(e, raw)).join('\n'));
  }
  const connectTimeoutSeconds = parsed.PGCONNECT_TIMEOUT ?? DEFAULT_CONNECT_TIMEOUT_SECONDS;

  if (parsed.DATABASE_URL) {
    const url = new URL(parsed.DATABASE_URL);
    // Fill what the URL leaves out as libpq would (PGUSER or the OS user; PGDATABASE or the user), and write it into
    // the URL the driver gets, so the printed target is exactly the one used.
    const user = decodeURIComponent(url.username) || parsed.PGUSER || osUser();
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || parsed.PGDATABASE || user;
    url.username = encodeURIComponent(user);
    url.pathname = `/${encodeURIComponent(database)}`;
    const sslmode = url.searchParams.get('sslmode');
    if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
      throw new UsageError(`Invalid configuration: DATABASE_URL sslmode must be one of ${SSL_MODES.join(', ')} (got ${JSON.stringify(sslmode)})`);
    }
    let sslFallbackUrl: string | undefined;
    if (sslmode === 'prefer' || sslmode === 'allow') {
      const plain = new URL(url);
      plain.searchParams.set('sslmode', 'disable');
      sslFallbackUrl = plain.toString();
    }
    // What the driver will really use: query parameters (?host=, ?port=, ?user=) override the URL's parts.
    const driver = parseConnectionString(url.toString());
    const target = {
      host: driver.host ?? decodeURIComponent(url.hostname),
      port: driver.port ? Number(driver.port) : 5432,
      database: driver.database ?? database,
      user: driver.user ?? user,
    };
    return { kind: 'url', ...target, label: labelOf(target), url: url.toString(), sslFallbackUrl, connectTimeoutSeconds };
  }

  if (PG_ENV_KEYS.some((key) => raw[key] !== undefined)) {
    const user = parsed.PGUSER ?? osUser();
    const target = {
      host: parsed.PGHOST ?? 'localhost',
      port: parsed.PGPORT ?? 5432,
      database: parsed.PGDATABASE ?? user,
      user,
    };
    return { kind: 'pg-env', ...target, label: labelOf(target), password: parsed.PGPASSWORD, connectTimeoutSeconds };
  }

  if (parsed.NODE_ENV?.trim().toLowerCase() === 'production') {
    throw new UsageError(
      'No database configured: set DATABASE_URL (or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE); the embedded PostgreSQL is not used when NODE_ENV=production',
    );
  }
  return { kind: 'embedded', dataDir: parsed.EMBEDDED_POSTGRES_DIR, connectTimeoutSeconds };
}
