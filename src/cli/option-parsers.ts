import { InvalidArgumentError } from 'commander';

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
