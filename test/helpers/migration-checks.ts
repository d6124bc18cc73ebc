import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { SAMPLE_SHAPES, SampleAssessment, SampleCategory, SampleShape } from '../../src/demo/sample-assessments';
import type { MigrationReport, MigrationSummary } from '../../src/equipment-migration/report.types';
import { PROJECT_ROOT } from './cli-harness';

/** Shared by the reliability tests (test/reliability): reading rows, counts and reports, another session. */

export type Status = 'skipped' | 'migrated' | 'flagged' | 'error';
export const STATUS_OF: Record<SampleCategory, Status> = { valid: 'skipped', migrate: 'migrated', flag: 'flagged', error: 'error' };
export const CANONICAL_JSON = ['"full_gym"', '"basic_equipment"', '"no_equipment"'];

/** One assessment as stored, with its user's email; jsonb columns as PostgreSQL's JSON text. */
export interface DbRow {
  id: number;
  user_id: number;
  email: string;
  sport: string | null;
  age: number | null;
  experience: string | null;
  created_at: string;
  /** updated_at in microseconds since the epoch (text: exact). */
  updated_us: string;
  equipment: string | null;
  equipment_type: string | null;
  items: string;
  flag: boolean;
  /** row_to_json of the whole row. */
  row: string;
  xmin: string;
}

export async function readRows(dataSource: DataSource): Promise<DbRow[]> {
  return dataSource.query(
    `SELECT a.id, a.user_id, u.email, a.sport, a.age, a.experience, a.created_at::text AS created_at,
            (extract(epoch FROM a.updated_at) * 1000000)::bigint::text AS updated_us,
            a.equipment::text AS equipment, jsonb_typeof(a.equipment) AS equipment_type,
            a.equipment_items::text AS items, a.equipment_reassessment_required AS flag,
            row_to_json(a)::text AS row, a.xmin::text AS xmin
       FROM assessments a JOIN users u ON u.id = a.user_id
      ORDER BY a.id`,
  );
}

export const byId = <T extends { id: number }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
export const parseJsonText = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** The row as a byte-exact identity (whole row JSON and row version). */
export const identity = (r: DbRow) => ({ id: r.id, row: r.row, xmin: r.xmin });

/** The columns the migration must never touch. */
export const otherColumns = (r: DbRow) => ({
  id: r.id,
  user_id: r.user_id,
  email: r.email,
  sport: r.sport,
  age: r.age,
  experience: r.experience,
  created_at: r.created_at,
});

const SPORTS = ['running', 'cycling', 'swimming', 'rowing'];

/** One sample (one user) per shape, with unique emails. */
export function samplesOf(shapes: readonly SampleShape[], prefix: string): SampleAssessment[] {
  return shapes.map((shape, i) => ({
    ...shape,
    email: `${prefix}.${i}@example.com`,
    sport: SPORTS[i % SPORTS.length],
    age: 20 + (i % 50),
    experience: i % 2 === 0 ? 'beginner' : 'advanced',
  }));
}

export const shapesOf = (category: SampleCategory) => SAMPLE_SHAPES.filter((s) => s.category === category);

export function countsOf(samples: readonly SampleShape[]): MigrationSummary {
  const count = (c: SampleCategory) => samples.filter((s) => s.category === c).length;
  return { total_processed: samples.length, migrated: count('migrate'), flagged: count('flag'), skipped: count('valid'), errors: count('error') };
}

export const errorLines = (stdout: string[]) => stdout.filter((l) => l.startsWith('Error in assessment '));

export function readReport(path: string): MigrationReport {
  return JSON.parse(readFileSync(path, 'utf8')) as MigrationReport;
}

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validateReport = ajv.compile(JSON.parse(readFileSync(join(PROJECT_ROOT, 'src', 'equipment-migration', 'report.schema.json'), 'utf8')));

/** The ajv errors of a report against report.schema.json (draft-07): [] when it is valid. */
export function reportSchemaErrors(report: unknown): unknown[] {
  return validateReport(report) ? [] : [...(validateReport.errors ?? [])];
}

/** Outcome of every row: the report detail's status, or skipped when the report has none for it. */
export function outcomesOf(ids: number[], report: MigrationReport): Map<number, Status> {
  const statusById = new Map(report.details.map((d) => [d.assessment_id, d.status as Status]));
  return new Map(ids.map((id) => [id, statusById.get(id) ?? 'skipped']));
}

/** A plain pg session of its own (not the run's, not the test DataSource's pool): "another user". */
export async function openSession(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'reliability-test-session' });
  await client.connect();
  return client;
}

export interface ArbitraryRow {
  email: string;
  sport: string | null;
  age: number | null;
  experience: string | null;
  /** jsonb text, or null for SQL NULL. */
  equipmentJson: string | null;
  itemsJson: string;
  flag: boolean;
}

/** Inserts rows of any content (one user each), in order, in one statement. */
export async function insertArbitraryRows(dataSource: DataSource, rows: ArbitraryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await dataSource.query(
    `WITH new_users AS (
       INSERT INTO users (email) SELECT unnest($1::text[]) RETURNING id, email
     )
     INSERT INTO assessments (user_id, sport, age, experience, equipment, equipment_items, equipment_reassessment_required)
     SELECT nu.id, s.sport, s.age, s.experience, s.equipment::jsonb, s.items::jsonb, s.flag
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::bool[])
            WITH ORDINALITY AS s(email, sport, age, experience, equipment, items, flag, n)
       JOIN new_users nu ON nu.email = s.email
      ORDER BY s.n`,
    [
      rows.map((r) => r.email),
      rows.map((r) => r.sport),
      rows.map((r) => r.age),
      rows.map((r) => r.experience),
      rows.map((r) => r.equipmentJson),
      rows.map((r) => r.itemsJson),
      rows.map((r) => r.flag),
    ],
  );
}

/** Every stored shape twice: rows a test acts on sit in the second copy, amid rows of every outcome. */
export const SHAPES_TWICE: readonly SampleShape[] = [...SAMPLE_SHAPES, ...SAMPLE_SHAPES];

/** The index in SHAPES_TWICE of the named shape's second copy. */
export const secondCopyOf = (name: string): number => SAMPLE_SHAPES.length + SAMPLE_SHAPES.findIndex((s) => s.name === name);
