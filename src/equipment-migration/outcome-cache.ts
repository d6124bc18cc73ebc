import { EquipmentOutcome, EquipmentRules, parseStoredJson } from './equipment-rules';

/** One row's stored values as the migration reads them: JSON text (null: SQL NULL) and the flag. */
export interface StoredEquipment {
  equipmentJson: string | null;
  itemsJson: string | null;
  reassessmentRequired: boolean;
}

/** Shapes remembered at most; past that the cache starts again (data with that many shapes gains little from it). */
export const MAX_CACHED_SHAPES = 4096;
/** Longer stored text is classified every time: long values are rare, and a key must be cheap to hash. */
export const MAX_CACHED_TEXT = 256;

/**
 * EquipmentRules.classify by the row's stored text. The rules are a pure function of (equipment JSON text, items JSON
 * text, flag), and legacy data repeats a few dozen shapes across millions of rows, so each shape is parsed and
 * classified once: at 1,000,000 rows the rules and their JSON.parse were a sixth of the run's CPU time in Node.
 * Outcomes are shared between rows with the same shape, so they are frozen.
 */
export class OutcomeCache {
  /** equipment text → items text → the outcome without and with the flag (no key string is built per row). */
  private readonly outcomes = new Map<string, Map<string, [EquipmentOutcome?, EquipmentOutcome?]>>();
  private shapes = 0;

  classify(stored: StoredEquipment): EquipmentOutcome {
    // SQL NULL reads as JSON null: the rules cannot tell them apart.
    const equipmentJson = stored.equipmentJson ?? 'null';
    const itemsJson = stored.itemsJson ?? 'null';
    if (equipmentJson.length + itemsJson.length > MAX_CACHED_TEXT) return classifyStored(stored);
    let byItems = this.outcomes.get(equipmentJson);
    const pair = byItems?.get(itemsJson);
    const flag = stored.reassessmentRequired ? 1 : 0;
    const known = pair?.[flag];
    if (known !== undefined) return known;
    const outcome = freeze(classifyStored(stored));
    if (this.shapes >= MAX_CACHED_SHAPES) {
      this.outcomes.clear();
      this.shapes = 0;
      byItems = undefined;
    }
    if (byItems === undefined) this.outcomes.set(equipmentJson, (byItems = new Map()));
    const entry = byItems.get(itemsJson) ?? [];
    entry[flag] = outcome;
    byItems.set(itemsJson, entry);
    this.shapes += 1;
    return outcome;
  }

  /** Shapes remembered (equipment text, items text, flag). */
  get size(): number {
    return this.shapes;
  }
}

/** The rules' outcome for stored values (SQL NULL and JSON null both read as null). */
export function classifyStored(stored: StoredEquipment): EquipmentOutcome {
  return EquipmentRules.classify({
    equipment: parseJson(stored.equipmentJson),
    equipmentItems: parseJson(stored.itemsJson),
    reassessmentRequired: stored.reassessmentRequired,
  });
}

/** Numbers too large for a double keep their stored text (parseStoredJson). */
function parseJson(text: string | null): unknown {
  return text === null ? null : parseStoredJson(text);
}

function freeze(outcome: EquipmentOutcome): EquipmentOutcome {
  if ('write' in outcome) Object.freeze(outcome.write);
  return Object.freeze(outcome);
}
