import { InvalidArgumentError } from 'commander';
import { UsageError } from './cli-errors';

/** commander parser for a whole number in [min, max]; anything else is a usage error (exit 2). */
export function parseInteger(value: string, name: string, min: number, max: number): number {
  const trimmed = value.trim();
  const parsed = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max} (got "${value}").`);
  }
  return parsed;
}

/** commander parser for a non-empty path. */
export function parsePath(value: string, name: string): string {
  if (value.trim() === '') throw new InvalidArgumentError(`${name} needs a file path.`);
  return value;
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a run id (a UUID as `migration-runs` lists it). */
export const isRunId = (value: string | undefined): boolean => RUN_ID.test(value ?? '');

/** A run id argument (a UUID as `migration-runs` lists it), lower-cased; anything else is a usage error (exit 2). */
export function parseRunId(value: string | undefined): string {
  if (!isRunId(value)) throw new UsageError(`"${value}" is not a run id (a UUID from \`npm run cli -- migration-runs\`)`);
  return value!.toLowerCase();
}
