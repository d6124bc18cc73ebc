/**
 * Pure classification rules for the equipment data migration.
 *
 * Given one assessment row as stored (legacy `equipment` jsonb value, `equipment_items`, and the
 * `reassessment_required` flag), decide exactly one outcome: skipped, migrated, flagged or error.
 * No I/O and no framework imports, so the rules can be tested exhaustively and reused anywhere.
 */

/** Canonical values, highest rank first: the order of this table IS the hierarchy. */
export const EQUIPMENT_VALUES = ['full_gym', 'basic_equipment', 'no_equipment'] as const;
export type EquipmentValue = (typeof EQUIPMENT_VALUES)[number];
export const FLAGGED_REASON = 'Basic equipment without specific items - user needs to re-assess';

/**
 * One row as stored: equipment/equipmentItems are parsed jsonb values (JSON null -> null; SQL NULL -> null too), read
 * with parseStoredJson so a number too large for a double stays its stored text.
 */
export interface EquipmentState {
  equipment: unknown;
  equipmentItems: unknown;
  reassessmentRequired: boolean;
}

/** What to write for a changed row. items: 'keep' leaves equipment_items as stored, 'clear' writes []. */
export interface EquipmentWrite {
  equipment: EquipmentValue;
  items: 'keep' | 'clear';
  reassessmentRequired: boolean;
}

export type EquipmentOutcome =
  | { status: 'skipped' }
  | { status: 'migrated'; newEquipment: EquipmentValue; itemsCleared: boolean; write: EquipmentWrite }
  | { status: 'flagged'; newEquipment: 'basic_equipment'; reason: typeof FLAGGED_REASON; write: EquipmentWrite }
  | { status: 'error'; reason: string };

export type ParseResult = { ok: true; values: EquipmentValue[] } | { ok: false; reason: string };

/** Separators accepted inside a legacy list string such as "full_gym; basic_equipment | no_equipment". */
const LIST_SEPARATORS = [',', ';', '|'] as const;
const LIST_SEPARATOR_PATTERN = new RegExp(`[${LIST_SEPARATORS.map((s) => `\\${s}`).join('')}]`);

/** Characters that legacy spellings used where the canonical value has '_' ("Full Gym", "full-gym"). */
const UNDERSCORE_ALIASES_PATTERN = /[ -]/g;

/** Offending values are quoted in reasons; rows may hold megabytes, so every quote is capped. */
const MAX_SHOWN_CHARS = 80;
const ELLIPSIS = '…';

/** Top-level types that can never hold equipment, with the wording used in their error reason. */
const UNSUPPORTED_TOP_LEVEL: Readonly<Record<string, string>> = {
  number: 'equipment is a number',
  boolean: 'equipment is a boolean',
  bigint: 'equipment is a bigint',
  symbol: 'equipment is a symbol',
  function: 'equipment is a function',
};

// ---------------------------------------------------------------------------------------------
// Reading stored JSON
// ---------------------------------------------------------------------------------------------

/**
 * A JSON number too large for a double (JSON.parse turns `1e400` into Infinity), kept as the text it was stored as,
 * so a reason quotes what the database holds. It is never equipment: every rule treats it as a number.
 */
export class StoredNumber {
  constructor(readonly text: string) {}

  /** Rendered by show() as the bare number text (see NUMBER_MARK). */
  toJSON(): string {
    return NUMBER_MARK + this.text;
  }
}

/** Prefix of a placeholder string; jsonb cannot store U+0000, so no stored string starts with it. */
const NUMBER_MARK = '\u0000stored-number:';
const NUMBER_MARK_JSON = JSON.stringify(NUMBER_MARK).slice(1, -1);
const MARKED_NUMBER = /"\\u0000stored-number:([^"]*)"/g;
/** A number that overflows a double has at least 309 digits, or an exponent of three digits. */
const OVERSIZED_NUMBER_HINT = /\d{309}|[eE]\+?\d{3}/;
const NUMBER_TOKEN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse, except that numbers JSON.parse would turn into ±Infinity become StoredNumber with their text. Throws as
 * JSON.parse does on malformed text. Costs one regular-expression test on ordinary values.
 */
export function parseStoredJson(text: string): unknown {
  if (!OVERSIZED_NUMBER_HINT.test(text)) return JSON.parse(text);
  const numbers: string[] = [];
  let rewritten = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22 /* " */) {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (code !== 0x2d /* - */ && (code < 0x30 || code > 0x39)) continue;
    NUMBER_TOKEN.lastIndex = i;
    const token = NUMBER_TOKEN.exec(text)?.[0];
    if (!token) continue;
    if (!Number.isFinite(Number(token))) {
      rewritten += text.slice(copied, i) + JSON.stringify(NUMBER_MARK + numbers.length);
      numbers.push(token);
      copied = i + token.length;
    }
    i += token.length - 1;
  }
  if (numbers.length === 0) return JSON.parse(text);
  rewritten += text.slice(copied);
  return JSON.parse(rewritten, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(NUMBER_MARK) ? new StoredNumber(numbers[Number(value.slice(NUMBER_MARK.length))]) : value,
  );
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** JSON.stringify that never throws (cycles, BigInt, deep nesting, hostile toJSON) and stays short. */
export function show(value: unknown, maxChars: number = MAX_SHOWN_CHARS): string {
  return truncate(stringifySafely(typeof value === 'string' ? leadingChars(value, maxChars) : value), maxChars);
}

/**
 * The first `count` characters of a long string (a surrogate pair is not split): all that show() can display of it,
 * so a value of megabytes is not stringified whole. Its JSON text is a prefix of the whole string's, and still longer
 * than `count` with the opening quote, so show() gives the same text and ellipsis.
 */
function leadingChars(text: string, count: number): string {
  if (text.length <= count + 1) return text;
  const last = text.charCodeAt(count - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? count + 1 : count);
}

function stringifySafely(value: unknown): string {
  // JSON.stringify turns NaN/Infinity into "null", which would hide the real offending value.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof StoredNumber) return value.text;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json.includes(NUMBER_MARK_JSON) ? json.replace(MARKED_NUMBER, '$1') : json;
  } catch {
    // fall through to the non-JSON renderings below
  }
  try {
    return String(value);
  } catch {
    // e.g. Object.create(null) has no toString
    return Object.prototype.toString.call(value);
  }
}

function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = text.slice(0, maxChars);
  // Do not leave half of a surrogate pair (emoji etc.) at the end.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut + ELLIPSIS;
}

const fail = (reason: string): ParseResult => ({ ok: false, reason });

// ---------------------------------------------------------------------------------------------
// Public rule functions
// ---------------------------------------------------------------------------------------------

/** typeof string and exactly one of EQUIPMENT_VALUES (no normalisation). */
export function isCanonical(value: unknown): value is EquipmentValue {
  return typeof value === 'string' && (EQUIPMENT_VALUES as readonly string[]).includes(value);
}

/** trim, lower-case, then each ' ' and each '-' becomes '_' (runs are NOT collapsed on purpose). */
export function normaliseToken(token: string): string {
  return token.trim().toLowerCase().replace(UNDERSCORE_ALIASES_PATTERN, '_');
}

/** The highest-ranked value of a non-empty set (rank = position in EQUIPMENT_VALUES). */
export function highest(values: readonly EquipmentValue[]): EquipmentValue {
  const top = EQUIPMENT_VALUES.find((candidate) => values.includes(candidate));
  if (top === undefined) throw new RangeError('highest() needs at least one equipment value');
  return top;
}

/** Reads every legacy shape; returns the set of canonical values (highest first) or an error reason. */
export function parseEquipment(raw: unknown): ParseResult {
  if (raw === null) return fail('equipment is null');
  if (raw === undefined) return fail('equipment is undefined');
  if (typeof raw === 'string') return parseString(raw);
  if (Array.isArray(raw)) return parseTokenArray(raw, 'equipment');
  if (raw instanceof StoredNumber) return fail(`equipment is a number: ${show(raw)}`);
  if (typeof raw === 'object') return parseCheckboxObject(raw);
  const wording = UNSUPPORTED_TOP_LEVEL[typeof raw] ?? `equipment has unsupported type ${typeof raw}`;
  return fail(`${wording}: ${show(raw)}`);
}

// ---------------------------------------------------------------------------------------------
// Shape readers
// ---------------------------------------------------------------------------------------------

/** Collects tokens into a de-duplicated value set; the first bad token decides the error. */
function resolveTokens(tokens: readonly string[], context: unknown, contextLabel: string): ParseResult {
  const found = new Set<EquipmentValue>();
  for (const token of tokens) {
    const normalised = normaliseToken(token);
    if (normalised === '') return fail(`${contextLabel} contains an empty value: ${show(context)}`);
    if (!isCanonical(normalised)) return fail(`unknown equipment value ${show(token)}`);
    found.add(normalised);
  }
  if (found.size === 0) return fail(`${contextLabel} holds no values: ${show(context)}`);
  // Return in rank order so the result is deterministic regardless of input order.
  return { ok: true, values: EQUIPMENT_VALUES.filter((value) => found.has(value)) };
}

/** A JSON array (stored directly or as JSON text): every member must be a string token. */
function parseTokenArray(array: readonly unknown[], label: string): ParseResult {
  if (array.length === 0) return fail(`${label} is an empty array`);
  const tokens: string[] = [];
  // Indexed loop (not for..of/every) so holes in sparse arrays are seen as undefined members.
  for (let index = 0; index < array.length; index++) {
    const member = array[index];
    if (typeof member !== 'string') {
      const kind = Array.isArray(member) ? ' (nested array)' : '';
      return fail(`${label} array member is not a string${kind}: ${show(member)}`);
    }
    tokens.push(member);
  }
  return resolveTokens(tokens, array, label);
}

/** A string: JSON array text, a separated list, or a single value. */
function parseString(raw: string): ParseResult {
  const trimmed = raw.trim();
  if (trimmed === '') return fail(`equipment is an empty string: ${show(raw)}`);
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = parseStoredJson(trimmed);
    } catch {
      return fail(`malformed JSON text in equipment: ${show(raw)}`);
    }
    // Text starting with '[' can only parse to an array, but stay defensive.
    if (!Array.isArray(parsed)) return fail(`equipment JSON text is not an array: ${show(raw)}`);
    return parseTokenArray(parsed, 'equipment JSON text');
  }
  // A single value is just a list with one piece.
  return resolveTokens(raw.split(LIST_SEPARATOR_PATTERN), raw, 'equipment');
}

/** A checkbox object {"full_gym": true, ...}: own keys only, values must be booleans. */
function parseCheckboxObject(raw: object): ParseResult {
  // Object.entries reads own enumerable properties only, so "__proto__"/"constructor" keys are
  // treated as ordinary (unknown) keys and nothing is looked up on the prototype chain.
  const entries = Object.entries(raw);
  if (entries.length === 0) return fail('equipment is an empty object');
  const selected: string[] = [];
  const seen = new Map<EquipmentValue, { key: string; checked: boolean }>();
  for (const [key, checked] of entries) {
    const normalised = normaliseToken(key);
    if (normalised === '') return fail(`equipment checkbox object has an empty key: ${show(raw)}`);
    // An unknown key is an error even when unchecked: it means the data is not what we think it is.
    if (!isCanonical(normalised)) return fail(`unknown equipment value ${show(key)} in checkbox object`);
    if (typeof checked !== 'boolean') {
      return fail(`equipment checkbox value for ${show(key, 40)} is not a boolean: ${show(checked)}`);
    }
    // Two spellings of one value that disagree ({"Full Gym":true,"full_gym":false}): nobody knows which was meant.
    const earlier = seen.get(normalised);
    if (earlier && earlier.checked !== checked) {
      return fail(`equipment checkbox object contradicts itself: ${show(earlier.key, 40)} is ${earlier.checked} but ${show(key, 40)} is ${checked}`);
    }
    seen.set(normalised, { key, checked });
    if (checked) selected.push(key);
  }
  if (selected.length === 0) return fail(`equipment checkbox object has no value set to true: ${show(raw)}`);
  return resolveTokens(selected, raw, 'equipment checkbox object');
}

// ---------------------------------------------------------------------------------------------
// equipment_items (only relevant when the result is basic_equipment)
// ---------------------------------------------------------------------------------------------

type ItemsCheck = { kind: 'empty'; isNull: boolean } | { kind: 'present' } | { kind: 'invalid'; reason: string };

function checkItems(items: unknown): ItemsCheck {
  // JSON null / SQL NULL count as "no items", not as an error.
  if (items === null || items === undefined) return { kind: 'empty', isNull: true };
  if (Array.isArray(items)) {
    if (items.length === 0) return { kind: 'empty', isNull: false };
    let valid = true;
    for (let index = 0; index < items.length && valid; index++) {
      const item: unknown = items[index];
      valid = typeof item === 'string' && item.length > 0; // no trimming: " " is a (weird) item
    }
    if (valid) return { kind: 'present' };
  }
  return { kind: 'invalid', reason: `equipment_items is not an array of non-empty strings: ${show(items)}` };
}

// ---------------------------------------------------------------------------------------------
// classify
// ---------------------------------------------------------------------------------------------

/** Exactly one outcome per row. Never throws. */
export function classify(state: EquipmentState): EquipmentOutcome {
  try {
    return classifyUnsafe(state);
  } catch (error) {
    // Safety net for hostile inputs (throwing getters, proxies): the row is left untouched.
    return { status: 'error', reason: `unexpected failure while classifying equipment: ${describeError(error)}` };
  }
}

function describeError(error: unknown): string {
  try {
    return truncate(error instanceof Error ? error.message : stringifySafely(error), MAX_SHOWN_CHARS);
  } catch {
    return 'unknown error';
  }
}

function classifyUnsafe(state: EquipmentState): EquipmentOutcome {
  // Equipment errors win over items errors.
  const parsed = parseEquipment(state.equipment);
  if (!parsed.ok) return { status: 'error', reason: parsed.reason };

  const newEquipment = highest(parsed.values);
  // Only an exact canonical string is already migrated; any other spelling/shape gets rewritten.
  const alreadyCanonical = state.equipment === newEquipment;

  if (newEquipment !== 'basic_equipment') {
    // Items only matter for basic_equipment, so a canonical full_gym/no_equipment is left alone.
    if (alreadyCanonical) return { status: 'skipped' };
    return migrated(newEquipment, 'clear', state.reassessmentRequired);
  }

  const items = checkItems(state.equipmentItems);
  switch (items.kind) {
    case 'invalid':
      return { status: 'error', reason: items.reason };
    case 'present':
      if (alreadyCanonical) return { status: 'skipped' };
      return migrated(newEquipment, 'keep', state.reassessmentRequired);
    case 'empty':
      // A previous run already flagged this row; flagging again would be a no-op.
      if (alreadyCanonical && state.reassessmentRequired === true) return { status: 'skipped' };
      return {
        status: 'flagged',
        newEquipment: 'basic_equipment',
        reason: FLAGGED_REASON,
        write: { equipment: 'basic_equipment', items: items.isNull ? 'clear' : 'keep', reassessmentRequired: true },
      };
  }
}

function migrated(newEquipment: EquipmentValue, items: 'keep' | 'clear', reassessmentRequired: boolean): EquipmentOutcome {
  return {
    status: 'migrated',
    newEquipment,
    itemsCleared: items === 'clear',
    write: { equipment: newEquipment, items, reassessmentRequired },
  };
}

export const EquipmentRules = {
  classify,
  normaliseToken,
  parseEquipment,
  parseStoredJson,
  highest,
  isCanonical,
} as const;
