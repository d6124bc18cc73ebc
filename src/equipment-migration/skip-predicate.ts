import type { AssessmentColumns } from '../database/assessment-columns';
import { quoteLiteral as quote } from '../database/sql-literals';
import { EQUIPMENT_VALUES } from './equipment-rules';

/**
 * SQL twin of EquipmentRules' "skipped" outcome — a row that is canonical and consistent: a canonical JSON string
 * (only a JSON string renders to one of those texts), and basic_equipment only with valid items, or with no items
 * (SQL NULL, JSON null or []) and the flag already set. A property test checks it agrees with the rules on arbitrary
 * data. jsonb_path_exists is several times cheaper here than a jsonb_array_elements subquery, and this predicate runs
 * once for every row.
 */
export function canonicalAndConsistent(c: AssessmentColumns, alias = 'a'): string {
  const i = `${alias}.${c.items}`;
  const others = EQUIPMENT_VALUES.filter((value) => value !== 'basic_equipment');
  // One CASE over the text, so it is extracted once per row (an IN list and a comparison extracted it twice: a third
  // of the predicate's cost).
  return `COALESCE(CASE ${equipmentText(c, alias)}
      WHEN ${others.map(quote).join(' THEN true WHEN ')} THEN true
      WHEN 'basic_equipment' THEN CASE COALESCE(jsonb_typeof(${i}), 'null') /* SQL NULL items count as JSON null */
        WHEN 'null' THEN ${alias}.${c.flag}
        WHEN 'array' THEN CASE WHEN jsonb_array_length(${i}) = 0 THEN ${alias}.${c.flag}
          ELSE NOT jsonb_path_exists(${i}, 'strict $[*] ? (@.type() != "string" || @ == "")') END
        ELSE false END
      ELSE false END,
      false)`;
}

/**
 * The equipment as text, for comparing with the canonical names: a JSON string renders as its bare value, and no
 * other JSON value renders as a bare name, so only a string can match.
 */
function equipmentText(c: AssessmentColumns, alias: string): string {
  return `${alias}.${c.equipment} #>> '{}'`;
}

/** SQL: which canonical value the equipment holds (one of EQUIPMENT_VALUES, as text), else 'other'. */
export function equipmentClass(c: AssessmentColumns, alias = 'a'): string {
  return `CASE ${equipmentText(c, alias)} ${EQUIPMENT_VALUES.map((value) => `WHEN ${quote(value)} THEN ${quote(value)}`).join(' ')} ELSE 'other' END`;
}
