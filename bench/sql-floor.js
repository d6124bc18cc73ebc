'use strict';
// The SQL floors: one hand-written statement doing the migration's conversion of array rows and the flagging, in a
// transaction that is rolled back. `node bench/sql-floor.js` is the plain floor (the UPDATE alone, the fastest the
// database itself can do the write); `node bench/sql-floor.js --audit` is the audit floor (the same UPDATE also
// writing the run's audit rows into equipment_migration_changes, as the real run does), so the audit's cost at the
// limit is visible.
const { randomUUID } = require('node:crypto');
const { Client } = require('pg');

// Containment, not a per-element NOT EXISTS over jsonb_array_elements: a non-empty array whose every member is one
// of the canonical strings. A number, a nested array or an unknown string is not contained, so the same rows match,
// in about half the time.
const CANONICAL = `'["full_gym","basic_equipment","no_equipment"]'::jsonb`;
const PREDICATE = (a) => `
      (jsonb_typeof(${a}.equipment) = 'array' AND ${a}.equipment <> '[]'::jsonb AND ${a}.equipment <@ ${CANONICAL})
   OR (${a}.equipment = '"basic_equipment"'::jsonb AND ${a}.equipment_items = '[]'::jsonb AND NOT ${a}.equipment_reassessment_required)`;
// The conversion, from the values `o` holds before the statement.
const SET = (o) => `
  equipment = to_jsonb(CASE WHEN ${o}.equipment ? 'full_gym' THEN 'full_gym'
                            WHEN ${o}.equipment ? 'basic_equipment' THEN 'basic_equipment'
                            ELSE 'no_equipment' END),
  equipment_items = CASE WHEN ${o}.equipment ? 'full_gym' OR NOT ${o}.equipment ? 'basic_equipment' THEN '[]'::jsonb
                         ELSE ${o}.equipment_items END,
  equipment_reassessment_required = CASE
      WHEN NOT ${o}.equipment ? 'full_gym' AND ${o}.equipment ? 'basic_equipment'
       AND ${o}.equipment_items IN ('[]'::jsonb, 'null'::jsonb) THEN true
      ELSE ${o}.equipment_reassessment_required END,
  updated_at = now()`;

const PLAIN = `UPDATE assessments AS a SET ${SET('a')} WHERE ${PREDICATE('a')}`;

// The audit rows the real run writes (AssessmentMigrationRepository.update()): each changed row's user and values
// before and after, under one run id. The table is joined to itself by ctid: `old` is the row as the statement's
// snapshot sees it, so RETURNING gives the values before and after at once. That is 1.3-1.7 s faster at 1,000,000
// rows than reading the old values in a CTE, updating FROM it and joining the RETURNING rows back to it (5.7-6.2 s
// against 4.4-4.6 s here). The changes table has no foreign key to the runs table, so no run row is needed.
const AUDIT = `
WITH upd AS (
  UPDATE assessments AS a SET ${SET('old')}
    FROM assessments AS old
   WHERE a.ctid = old.ctid AND (${PREDICATE('old')})
  RETURNING a.id, a.user_id, old.equipment AS old_equipment, old.equipment_items AS old_items,
            old.equipment_reassessment_required AS old_flag, a.equipment, a.equipment_items, a.equipment_reassessment_required
)
INSERT INTO equipment_migration_changes (run_id, assessment_id, user_id, previous_equipment, previous_items, previous_reassessment_required,
                                         new_equipment, new_items, new_reassessment_required)
SELECT $1::uuid, id, user_id, old_equipment, old_items, old_flag, equipment, equipment_items, equipment_reassessment_required
  FROM upd`;

async function main() {
  const audit = process.argv.includes('--audit');
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query('BEGIN');
  // What one big statement is given: enough work_mem for the audit floor's self-join to hash in memory (with the
  // default 4 MB it spills to disk in batches: 148 s against 46 s at 10,000,000 rows, 2026-12-04), and no JIT
  // compilation (a further 4 s there; the plain floor is the same either way).
  await client.query(`SET LOCAL work_mem = '1GB'`);
  await client.query('SET LOCAL jit = off');
  const started = process.hrtime.bigint();
  const result = audit ? await client.query(AUDIT, [randomUUID()]) : await client.query(PLAIN);
  const statementSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.query('ROLLBACK');
  await client.end();
  process.stdout.write(JSON.stringify({ updated: result.rowCount, statementSeconds }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
