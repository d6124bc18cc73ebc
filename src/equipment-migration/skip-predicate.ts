import type { AssessmentColumns } from '../database/assessment-columns';
import { EQUIPMENT_VALUES } from './equipment-rules';

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * SQL twin of EquipmentRules' "skipped" outcome — a row that is canonical and consistent: a canonical JSON string
 * (only a JSON string renders to one of those texts), and basic_equipment only with valid items, or with no items
 * (SQL NULL, JSON null or []) and the flag already set. A property test checks it agrees with the rules on arbitrary
 * data. jsonb_path_exists is several times cheaper here than a jsonb_array_elements subquery, and this predicate runs
 * once for every row.
 */
export function canonicalAndConsistent(c: AssessmentColumns, alias = 'a'): string {
  const e = `${alias}.${c.equipment}`;
  const i = `${alias}.${c.items}`;
  return `COALESCE(
      (${e} #>> '{}') IN (${EQUIPMENT_VALUES.map(quote).join(', ')})
      AND ((${e} #>> '{}') <> 'basic_equipment' OR CASE COALESCE(jsonb_typeof(${i}), 'null') /* SQL NULL items count as JSON null */
        WHEN 'null' THEN ${alias}.${c.flag}
        WHEN 'array' THEN CASE WHEN jsonb_array_length(${i}) = 0 THEN ${alias}.${c.flag}
          ELSE NOT jsonb_path_exists(${i}, 'strict $[*] ? (@.type() != "string" || @ == "")') END
        ELSE false END),
      false)`;
}
