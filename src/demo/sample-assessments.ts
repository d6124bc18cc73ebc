/**
 * Deterministic legacy assessments for the demo, the benchmark and tests: every stored shape the migration meets,
 * grouped by the outcome it must have. No Nest, no database: rows come out as plain values.
 */

export type SampleCategory = 'valid' | 'migrate' | 'flag' | 'error';

export interface SampleShape {
  name: string;
  category: SampleCategory;
  /** jsonb text to store, or null for SQL NULL. */
  equipmentJson: string | null;
  itemsJson: string;
  reassessmentRequired: boolean;
}

export interface SampleAssessment extends SampleShape {
  email: string;
  sport: string;
  age: number;
  experience: string;
}

const json = (value: unknown) => JSON.stringify(value);
const shape = (
  category: SampleCategory,
  name: string,
  equipment: unknown,
  items: unknown = [],
  reassessmentRequired = false,
): SampleShape => ({
  name,
  category,
  equipmentJson: equipment === undefined ? null : json(equipment),
  itemsJson: json(items),
  reassessmentRequired,
});

/** Every shape, by expected outcome. `undefined` equipment stands for SQL NULL. */
export const SAMPLE_SHAPES: readonly SampleShape[] = [
  shape('valid', 'canonical full_gym', 'full_gym'),
  shape('valid', 'canonical no_equipment', 'no_equipment'),
  shape('valid', 'canonical basic_equipment with items', 'basic_equipment', ['dumbbells', 'resistance bands']),
  shape('valid', 'basic_equipment already flagged', 'basic_equipment', [], true),

  shape('migrate', 'array of two', ['no_equipment', 'full_gym']),
  shape('migrate', 'array with basic and items', ['basic_equipment', 'no_equipment'], ['kettlebell']),
  shape('migrate', 'one-element array', ['full_gym']),
  shape('migrate', 'array with duplicates', ['no_equipment', 'no_equipment']),
  shape('migrate', 'spelled with spaces', 'Full Gym'),
  shape('migrate', 'spelled with hyphens', 'no-equipment'),
  shape('migrate', 'padded upper case', ' FULL_GYM '),
  shape('migrate', 'JSON array text in a string', '["no_equipment","full_gym"]'),
  shape('migrate', 'comma-separated string', 'no_equipment, full_gym'),
  shape('migrate', 'semicolon and pipe list with items', 'basic_equipment; no_equipment|basic_equipment', ['pull-up bar']),
  shape('migrate', 'checkbox object', { full_gym: true, no_equipment: false }),
  shape('migrate', 'full_gym array clears items', ['full_gym', 'basic_equipment'], ['dumbbells']),

  shape('flag', 'canonical basic without items', 'basic_equipment'),
  shape('flag', 'array resolving to basic without items', ['basic_equipment', 'no_equipment']),
  shape('flag', 'basic with null items', ['basic_equipment'], null),

  shape('error', 'null equipment', undefined),
  shape('error', 'JSON null equipment', null),
  shape('error', 'empty array', []),
  shape('error', 'empty string', ''),
  shape('error', 'empty object', {}),
  shape('error', 'unknown value next to a valid one', ['full_gym', 'trampoline']),
  shape('error', 'unknown single value', 'invalid_value'),
  shape('error', 'nested array', [['full_gym']]),
  shape('error', 'non-string member', ['full_gym', 42]),
  shape('error', 'number', 7),
  shape('error', 'boolean', true),
  shape('error', 'malformed JSON text', '["full_gym",'),
  shape('error', 'basic with items that are not strings', 'basic_equipment', 'abc'),
];

/**
 * How many rows of each kind, as weights (or exact counts when they add up to the row count). Each key draws from
 * its own shapes: `migrate` from every shape that migrates, `multi` only from the multiple-selection arrays and
 * `odd` only from the other legacy spellings (strings, lists, checkbox objects).
 */
export interface SampleMix {
  valid?: number;
  migrate?: number;
  multi?: number;
  odd?: number;
  flag?: number;
  error?: number;
}
export type SampleMixKey = keyof SampleMix;

/**
 * The benchmark's realistic mix, as the scale issue describes it: 75% already valid, 15% multiple selections,
 * 7% basic_equipment without items, 3% errors and odd legacy shapes.
 */
export const REALISTIC_MIX: SampleMix = { valid: 75, multi: 15, flag: 7, odd: 1, error: 2 };

const isArrayShape = (s: SampleShape) => s.equipmentJson?.startsWith('[') === true;
const SHAPES_OF: Record<SampleMixKey, readonly SampleShape[]> = {
  valid: SAMPLE_SHAPES.filter((s) => s.category === 'valid'),
  migrate: SAMPLE_SHAPES.filter((s) => s.category === 'migrate'),
  multi: SAMPLE_SHAPES.filter((s) => s.category === 'migrate' && isArrayShape(s)),
  odd: SAMPLE_SHAPES.filter((s) => s.category === 'migrate' && !isArrayShape(s)),
  flag: SAMPLE_SHAPES.filter((s) => s.category === 'flag'),
  error: SAMPLE_SHAPES.filter((s) => s.category === 'error'),
};
const MIX_KEYS = Object.keys(SHAPES_OF) as SampleMixKey[];

/** mulberry32: a tiny seeded PRNG, so the same arguments always give the same rows. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Exact row counts per mix key for `count` rows: proportional to `mix` (largest remainder), and, when
 * `coverEveryShape` and there is room, at least one row of every shape of a key with a non-zero weight.
 */
export function mixCounts(count: number, mix: SampleMix, coverEveryShape: boolean): Record<SampleMixKey, number> {
  const weightOf = (k: SampleMixKey) => mix[k] ?? 0;
  const weight = MIX_KEYS.reduce((sum, k) => sum + weightOf(k), 0);
  const exact = MIX_KEYS.map((k) => (count * weightOf(k)) / weight);
  const counts = exact.map(Math.floor);
  const order = MIX_KEYS.map((_, i) => i).sort((i, j) => exact[j] - counts[j] - (exact[i] - counts[i]));
  for (let k = 0; counts.reduce((s, n) => s + n, 0) < count; k += 1) counts[order[k % order.length]] += 1;
  const result = Object.fromEntries(MIX_KEYS.map((k, i) => [k, counts[i]])) as Record<SampleMixKey, number>;
  if (coverEveryShape) {
    const needed = (k: SampleMixKey) => (weightOf(k) > 0 ? SHAPES_OF[k].length : 0);
    if (count >= MIX_KEYS.reduce((sum, k) => sum + needed(k), 0)) {
      for (const k of MIX_KEYS) {
        const missing = needed(k) - result[k];
        if (missing <= 0) continue;
        result[k] += missing;
        // Take the rows from the key with the most to spare.
        const donor = MIX_KEYS.filter((d) => d !== k).sort((x, y) => result[y] - needed(y) - (result[x] - needed(x)))[0];
        result[donor] -= missing;
      }
    }
  }
  return result;
}

/** The outcome counts a generated sample must produce (what each of its shapes is expected to become). */
export function expectedOutcomes(options: SampleOptions): Record<SampleCategory, number> {
  const counts: Record<SampleCategory, number> = { valid: 0, migrate: 0, flag: 0, error: 0 };
  for (const sample of generateSampleAssessments(options)) counts[sample.category] += 1;
  return counts;
}

const SPORTS = ['running', 'cycling', 'swimming', 'football', 'climbing', 'rowing'];
const EXPERIENCE = ['beginner', 'intermediate', 'advanced'];

export interface SampleOptions {
  count: number;
  mix?: SampleMix;
  seed?: number;
  coverEveryShape?: boolean;
  /** Emails are `${emailPrefix}${n}@example.com`. */
  emailPrefix?: string;
  /** First n in emails (so batches of one large set get distinct emails). */
  startIndex?: number;
}

/** Yields `count` rows in a deterministic shuffled order; within a mix key the shapes take turns. */
export function* generateSampleAssessments(options: SampleOptions): Generator<SampleAssessment> {
  const { count, mix = REALISTIC_MIX, seed = 1, coverEveryShape = true, emailPrefix = 'demo.user.', startIndex = 1 } = options;
  const counts = mixCounts(count, mix, coverEveryShape);
  const used = Object.fromEntries(MIX_KEYS.map((k) => [k, 0])) as Record<SampleMixKey, number>;
  let remaining = count;
  const random = prng(seed);
  for (let n = 0; n < count; n += 1) {
    // Draw a key with probability proportional to the rows it still has: an exact, shuffled total.
    let pick = Math.floor(random() * remaining);
    let key: SampleMixKey = 'valid';
    for (const k of MIX_KEYS) {
      const left = counts[k] - used[k];
      if (pick < left) {
        key = k;
        break;
      }
      pick -= left;
    }
    const shapes = SHAPES_OF[key];
    const chosen = shapes[used[key] % shapes.length];
    used[key] += 1;
    remaining -= 1;
    yield {
      ...chosen,
      email: `${emailPrefix}${startIndex + n}@example.com`,
      sport: SPORTS[n % SPORTS.length],
      age: 18 + ((n * 7) % 50),
      experience: EXPERIENCE[n % EXPERIENCE.length],
    };
  }
}
