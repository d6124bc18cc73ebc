'use strict';
// The SQL floor: one hand-written UPDATE doing the migration's conversion of array rows and the flagging, in a
// transaction that is rolled back. The fastest the database itself can do the write.
const { Client } = require('pg');

const CANONICAL = `ARRAY['full_gym','basic_equipment','no_equipment']`;
const SQL = `
UPDATE assessments AS a SET
  equipment = to_jsonb(CASE WHEN a.equipment ? 'full_gym' THEN 'full_gym'
                            WHEN a.equipment ? 'basic_equipment' THEN 'basic_equipment'
                            ELSE 'no_equipment' END),
  equipment_items = CASE WHEN a.equipment ? 'full_gym' OR NOT a.equipment ? 'basic_equipment' THEN '[]'::jsonb
                         ELSE a.equipment_items END,
  equipment_reassessment_required = CASE
      WHEN NOT a.equipment ? 'full_gym' AND a.equipment ? 'basic_equipment'
       AND a.equipment_items IN ('[]'::jsonb, 'null'::jsonb) THEN true
      ELSE a.equipment_reassessment_required END,
  updated_at = now()
WHERE (jsonb_typeof(a.equipment) = 'array' AND jsonb_array_length(a.equipment) > 0
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(a.equipment) e(v)
                       WHERE jsonb_typeof(e.v) <> 'string' OR NOT (e.v #>> '{}') = ANY(${CANONICAL})))
   OR (a.equipment = '"basic_equipment"'::jsonb AND a.equipment_items = '[]'::jsonb AND NOT a.equipment_reassessment_required)`;

async function main() {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query('BEGIN');
  const started = process.hrtime.bigint();
  const result = await client.query(SQL);
  const statementSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.query('ROLLBACK');
  await client.end();
  process.stdout.write(JSON.stringify({ updated: result.rowCount, statementSeconds }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
