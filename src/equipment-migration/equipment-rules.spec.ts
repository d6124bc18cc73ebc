import fc from 'fast-check';
import {
  EQUIPMENT_VALUES,
  EquipmentOutcome,
  EquipmentRules,
  EquipmentState,
  EquipmentValue,
  EquipmentWrite,
  FLAGGED_REASON,
  StoredNumber,
  show,
} from './equipment-rules';

const { classify, normaliseToken, parseEquipment, parseStoredJson, highest, isCanonical } = EquipmentRules;

/** Items default to [] only when omitted: an explicit `undefined` (SQL NULL) must stay undefined. */
const state = (equipment: unknown, ...rest: [equipmentItems?: unknown, reassessmentRequired?: boolean]): EquipmentState => ({
  equipment,
  equipmentItems: rest.length >= 1 ? rest[0] : [],
  reassessmentRequired: rest[1] ?? false,
});

const migrated = (newEquipment: EquipmentValue, reassessmentRequired = false): EquipmentOutcome => {
  const items = newEquipment === 'basic_equipment' ? 'keep' : 'clear';
  return {
    status: 'migrated',
    newEquipment,
    itemsCleared: items === 'clear',
    write: { equipment: newEquipment, items, reassessmentRequired },
  };
};

const flagged = (items: EquipmentWrite['items']): EquipmentOutcome => ({
  status: 'flagged',
  newEquipment: 'basic_equipment',
  reason: FLAGGED_REASON,
  write: { equipment: 'basic_equipment', items, reassessmentRequired: true },
});

/** What the migration runner does with a write: used by the idempotence property. */
function applyWrite(before: EquipmentState, write: EquipmentWrite): EquipmentState {
  return {
    equipment: write.equipment,
    equipmentItems: write.items === 'clear' ? [] : before.equipmentItems,
    reassessmentRequired: write.reassessmentRequired,
  };
}

describe('EquipmentRules helpers', () => {
  it.each([
    ['full_gym', 'full_gym'],
    ['Full Gym', 'full_gym'],
    ['full-gym', 'full_gym'],
    [' FULL_GYM ', 'full_gym'],
    ['\tBasic-Equipment\n', 'basic_equipment'],
    ['No Equipment', 'no_equipment'],
    ['full  gym', 'full__gym'], // runs are not collapsed
    ['full - gym', 'full___gym'],
    ['   ', ''],
  ])('normaliseToken(%j) = %j', (token, expected) => {
    expect(normaliseToken(token)).toBe(expected);
  });

  it.each<[unknown, boolean]>([
    ['full_gym', true],
    ['basic_equipment', true],
    ['no_equipment', true],
    ['Full Gym', false],
    [' full_gym', false],
    [['full_gym'], false],
    [null, false],
    [undefined, false],
    [42, false],
    ['constructor', false],
    ['__proto__', false],
  ])('isCanonical(%j) = %j', (value, expected) => {
    expect(isCanonical(value)).toBe(expected);
  });

  it.each<[EquipmentValue[], EquipmentValue]>([
    [['no_equipment'], 'no_equipment'],
    [['no_equipment', 'basic_equipment'], 'basic_equipment'],
    [['basic_equipment', 'full_gym', 'no_equipment'], 'full_gym'],
    [['full_gym', 'no_equipment'], 'full_gym'],
  ])('highest(%j) = %j', (values, expected) => {
    expect(highest(values)).toBe(expected);
  });

  it('highest() rejects an empty set (classify never passes one)', () => {
    expect(() => highest([])).toThrow(RangeError);
  });

  it('EQUIPMENT_VALUES is ordered highest rank first', () => {
    expect(EQUIPMENT_VALUES).toEqual(['full_gym', 'basic_equipment', 'no_equipment']);
  });

  it.each<[unknown, EquipmentValue[]]>([
    ['full_gym', ['full_gym']],
    [['no_equipment', 'Full Gym', 'full-gym'], ['full_gym', 'no_equipment']],
    ['no_equipment|basic_equipment', ['basic_equipment', 'no_equipment']],
    ['["basic_equipment","basic_equipment"]', ['basic_equipment']],
    [{ no_equipment: true, full_gym: true, basic_equipment: false }, ['full_gym', 'no_equipment']],
  ])('parseEquipment(%j) resolves to %j (deduplicated, highest first)', (raw, values) => {
    expect(parseEquipment(raw)).toEqual({ ok: true, values });
  });

  it('parseEquipment reports errors as { ok: false, reason }', () => {
    expect(parseEquipment(['full_gym', 'trampoline'])).toEqual({
      ok: false,
      reason: 'unknown equipment value "trampoline"',
    });
  });
});

describe('EquipmentRules.parseStoredJson', () => {
  it.each<[string, unknown]>([
    ['"full_gym"', 'full_gym'],
    ['[1, 2.5, -3e2, 1e308]', [1, 2.5, -300, 1e308]],
    ['["1e400", "a\\"1e400"]', ['1e400', 'a"1e400']], // inside strings, number-like text is text
    ['{"1e400": [true, null]}', { '1e400': [true, null] }],
    [`"${'9'.repeat(400)}"`, '9'.repeat(400)],
  ])('%s parses as JSON.parse does', (text, expected) => {
    expect(parseStoredJson(text)).toEqual(expected);
  });

  it.each<[string, unknown]>([
    ['1e400', new StoredNumber('1e400')],
    ['[-1E+400, "x", 7]', [new StoredNumber('-1E+400'), 'x', 7]],
    [`{"a": {"b": 1${'0'.repeat(309)}}}`, { a: { b: new StoredNumber(`1${'0'.repeat(309)}`) } }],
  ])('%s keeps a number too large for a double as its text', (text, expected) => {
    expect(parseStoredJson(text)).toEqual(expected);
  });

  it('throws on malformed text, like JSON.parse', () => {
    expect(() => parseStoredJson('[1e400,')).toThrow(SyntaxError);
    expect(() => parseStoredJson('[1,')).toThrow(SyntaxError);
  });

  it('agrees with JSON.parse on any JSON without oversized numbers', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parseStoredJson(text)).toEqual(JSON.parse(text));
      }),
    );
  });
});

describe('EquipmentRules.classify: skipped', () => {
  it.each<[string, EquipmentState]>([
    ['canonical full_gym, empty items', state('full_gym', [])],
    ['canonical full_gym, null items', state('full_gym', null)],
    ['canonical full_gym, garbage items are not checked', state('full_gym', 'garbage')],
    ['canonical full_gym, non-empty items are not cleared', state('full_gym', ['dumbbells'])],
    ['canonical no_equipment, object items are not checked', state('no_equipment', { a: 1 })],
    ['canonical no_equipment with the flag set', state('no_equipment', [], true)],
    ['canonical basic_equipment with items', state('basic_equipment', ['dumbbells', 'bands'])],
    ['canonical basic_equipment with items and the flag set', state('basic_equipment', ['dumbbells'], true)],
    ['canonical basic_equipment with whitespace item (no trimming)', state('basic_equipment', [' '])],
    ['canonical basic_equipment, empty items, already flagged', state('basic_equipment', [], true)],
    ['canonical basic_equipment, null items, already flagged', state('basic_equipment', null, true)],
    ['canonical basic_equipment, undefined items, already flagged', state('basic_equipment', undefined, true)],
  ])('%s', (_label, input) => {
    expect(classify(input)).toEqual({ status: 'skipped' });
  });
});

describe('EquipmentRules.classify: migrated', () => {
  it.each<[string, EquipmentState, EquipmentOutcome]>([
    // single values with a non-canonical spelling
    ['"Full Gym"', state('Full Gym', ['x']), migrated('full_gym')],
    ['"full-gym"', state('full-gym'), migrated('full_gym')],
    ['" FULL_GYM "', state(' FULL_GYM '), migrated('full_gym')],
    ['"No Equipment" keeps the flag', state('No Equipment', [], true), migrated('no_equipment', true)],
    ['"Basic Equipment" with items', state('Basic Equipment', ['bands']), migrated('basic_equipment')],
    ['" basic_equipment" with items, flag kept', state(' basic_equipment', ['bands'], true), migrated('basic_equipment', true)],
    // JSON arrays
    ['one-element array', state(['full_gym']), migrated('full_gym')],
    ['one-element basic array with items', state(['basic_equipment'], ['mat']), migrated('basic_equipment')],
    ['array, highest wins', state(['no_equipment', 'basic_equipment', 'full_gym']), migrated('full_gym')],
    ['array, basic beats none, items kept', state(['no_equipment', 'Basic-Equipment'], ['mat']), migrated('basic_equipment')],
    ['array with duplicates', state(['full_gym', 'Full Gym', 'full-gym']), migrated('full_gym')],
    ['array of no_equipment clears items', state(['no_equipment'], ['mat']), migrated('no_equipment')],
    // JSON text holding an array
    ['JSON array text', state('["basic_equipment","full_gym"]'), migrated('full_gym')],
    ['JSON array text with spaces around', state('  [ "No Equipment" ]  ', null), migrated('no_equipment')],
    ['JSON array text, basic with items', state('["basic_equipment"]', ['mat']), migrated('basic_equipment')],
    // separated lists
    ['comma list', state('full_gym,basic_equipment'), migrated('full_gym')],
    ['semicolon list', state('no_equipment; basic equipment', ['mat']), migrated('basic_equipment')],
    ['pipe list', state('no_equipment|full-gym'), migrated('full_gym')],
    ['mixed separators', state('No Equipment , basic_equipment ; FULL GYM | no-equipment'), migrated('full_gym')],
    ['list with duplicates', state('no_equipment,no_equipment'), migrated('no_equipment')],
    // checkbox objects
    ['checkbox object', state({ full_gym: true, no_equipment: false }), migrated('full_gym')],
    ['checkbox object, several true', state({ no_equipment: true, 'Basic Equipment': true }, ['mat']), migrated('basic_equipment')],
    ['checkbox object, alias keys', state({ 'full-gym': true, 'FULL GYM': true }), migrated('full_gym')],
    ['checkbox object, flag kept', state({ no_equipment: true }, [], true), migrated('no_equipment', true)],
  ])('%s', (_label, input, expected) => {
    expect(classify(input)).toEqual(expected);
  });
});

describe('EquipmentRules.classify: flagged', () => {
  it.each<[string, EquipmentState, EquipmentOutcome]>([
    ['canonical basic, empty items, not yet flagged', state('basic_equipment', []), flagged('keep')],
    ['canonical basic, null items, not yet flagged', state('basic_equipment', null), flagged('clear')],
    ['canonical basic, undefined items, not yet flagged', state('basic_equipment', undefined), flagged('clear')],
    ['non-canonical basic, empty items', state('Basic Equipment', []), flagged('keep')],
    ['non-canonical basic, null items', state('basic-equipment', null), flagged('clear')],
    ['non-canonical basic, already flagged, still flagged', state('Basic Equipment', [], true), flagged('keep')],
    ['array basic, null items, already flagged', state(['basic_equipment'], null, true), flagged('clear')],
    ['array basic + none, empty items', state(['basic_equipment', 'no_equipment'], []), flagged('keep')],
    ['JSON text basic, empty items', state('["basic_equipment"]', []), flagged('keep')],
    ['list basic, null items', state('basic_equipment;no_equipment', null), flagged('clear')],
    ['checkbox basic, empty items', state({ basic_equipment: true, full_gym: false }, []), flagged('keep')],
  ])('%s', (_label, input, expected) => {
    expect(classify(input)).toEqual(expected);
  });
});

describe('EquipmentRules.classify: error', () => {
  const hugeString = 'x'.repeat(1_000_000);
  const hugeArray = Array.from({ length: 100_000 }, () => 'full_gym');
  hugeArray.push('trampoline');

  // [label, state, exact reason, substring that must appear (the offending value)]
  it.each<[string, EquipmentState, string, string]>([
    // top-level shapes
    ['null', state(null), 'equipment is null', 'null'],
    ['undefined', state(undefined), 'equipment is undefined', 'undefined'],
    ['number', state(7), 'equipment is a number: 7', '7'],
    ['NaN', state(Number.NaN), 'equipment is a number: NaN', 'NaN'],
    ['boolean true', state(true), 'equipment is a boolean: true', 'true'],
    ['boolean false', state(false), 'equipment is a boolean: false', 'false'],
    ['empty array', state([]), 'equipment is an empty array', 'empty array'],
    ['empty string', state(''), 'equipment is an empty string: ""', '""'],
    ['whitespace-only string', state('   '), 'equipment is an empty string: "   "', '"   "'],
    ['empty object', state({}), 'equipment is an empty object', 'empty object'],
    // unknown values, never silently dropped
    ['unknown single value', state('trampoline'), 'unknown equipment value "trampoline"', '"trampoline"'],
    ['unknown next to a valid one', state(['full_gym', 'trampoline']), 'unknown equipment value "trampoline"', '"trampoline"'],
    ['runs of spaces are not collapsed', state('full  gym'), 'unknown equipment value "full  gym"', '"full  gym"'],
    ['no other aliases', state('gym'), 'unknown equipment value "gym"', '"gym"'],
    ['unknown in list', state('full_gym, yoga mat'), 'unknown equipment value " yoga mat"', 'yoga mat'],
    ['unknown in JSON text', state('["full_gym","trampoline"]'), 'unknown equipment value "trampoline"', '"trampoline"'],
    ['prototype-ish string', state('constructor'), 'unknown equipment value "constructor"', '"constructor"'],
    // empty tokens
    ['empty array member', state(['full_gym', '']), 'equipment contains an empty value: ["full_gym",""]', '["full_gym",""]'],
    ['blank array member', state([' ']), 'equipment contains an empty value: [" "]', '[" "]'],
    ['empty list piece', state('full_gym,,no_equipment'), 'equipment contains an empty value: "full_gym,,no_equipment"', 'full_gym,,no_equipment'],
    ['trailing separator', state('full_gym;'), 'equipment contains an empty value: "full_gym;"', '"full_gym;"'],
    // array members
    ['non-string member', state(['full_gym', 42]), 'equipment array member is not a string: 42', '42'],
    ['null member', state([null]), 'equipment array member is not a string: null', 'null'],
    ['object member', state([{ full_gym: true }]), 'equipment array member is not a string: {"full_gym":true}', '{"full_gym":true}'],
    ['nested array', state([['full_gym']]), 'equipment array member is not a string (nested array): ["full_gym"]', '["full_gym"]'],
    // JSON text
    ['malformed JSON text', state('["full_gym",'), 'malformed JSON text in equipment: "[\\"full_gym\\","', '"[\\"full_gym\\","'],
    ['JSON text that is not JSON', state('[full_gym]'), 'malformed JSON text in equipment: "[full_gym]"', '"[full_gym]"'],
    ['JSON text, empty array', state('[]'), 'equipment JSON text is an empty array', 'empty array'],
    ['JSON text, non-string member', state('["full_gym", 1]'), 'equipment JSON text array member is not a string: 1', ': 1'],
    ['JSON text, nested array', state('[["full_gym"]]'), 'equipment JSON text array member is not a string (nested array): ["full_gym"]', '["full_gym"]'],
    // checkbox objects
    ['unknown checkbox key set to false', state({ full_gym: true, sauna: false }), 'unknown equipment value "sauna" in checkbox object', '"sauna"'],
    ['"__proto__" checkbox key', state(JSON.parse('{"__proto__": true}')), 'unknown equipment value "__proto__" in checkbox object', '"__proto__"'],
    ['"constructor" checkbox key', state({ constructor: false, full_gym: true }), 'unknown equipment value "constructor" in checkbox object', '"constructor"'],
    ['blank checkbox key', state({ ' ': true }), 'equipment checkbox object has an empty key: {" ":true}', '{" ":true}'],
    ['non-boolean checkbox value', state({ full_gym: 'yes' }), 'equipment checkbox value for "full_gym" is not a boolean: "yes"', '"yes"'],
    ['checkbox value 1', state({ no_equipment: 1 }), 'equipment checkbox value for "no_equipment" is not a boolean: 1', ': 1'],
    ['checkbox value null', state({ no_equipment: null }), 'equipment checkbox value for "no_equipment" is not a boolean: null', 'null'],
    ['no checkbox set to true', state({ full_gym: false, no_equipment: false }), 'equipment checkbox object has no value set to true: {"full_gym":false,"no_equipment":false}', '{"full_gym":false,"no_equipment":false}'],
    // two spellings of one checkbox that disagree
    ['contradictory checkbox keys', state({ 'Full Gym': true, full_gym: false }), 'equipment checkbox object contradicts itself: "Full Gym" is true but "full_gym" is false', '"Full Gym"'],
    ['contradictory checkbox keys, false first', state({ no_equipment: false, 'No-Equipment': true, full_gym: true }), 'equipment checkbox object contradicts itself: "no_equipment" is false but "No-Equipment" is true', '"No-Equipment"'],
    // numbers too large for a double are quoted as stored, never as Infinity
    ['oversized number', state(parseStoredJson('1e400')), 'equipment is a number: 1e400', '1e400'],
    ['oversized number as PostgreSQL prints it', state(parseStoredJson(`1${'0'.repeat(400)}`)), `equipment is a number: 1${'0'.repeat(79)}…`, '10000'],
    ['oversized negative array member', state(parseStoredJson('["full_gym", -1e400]')), 'equipment array member is not a string: -1e400', '-1e400'],
    ['oversized number in JSON text', state('["full_gym", 1E+999]'), 'equipment JSON text array member is not a string: 1E+999', '1E+999'],
    ['oversized checkbox value', state(parseStoredJson('{"full_gym": 1e400}')), 'equipment checkbox value for "full_gym" is not a boolean: 1e400', '1e400'],
    ['oversized number in items', state('basic_equipment', parseStoredJson('["mat", 2e400]')), 'equipment_items is not an array of non-empty strings: ["mat",2e400]', '2e400'],
    // basic result with bad items
    ['basic with string items', state('basic_equipment', 'abc'), 'equipment_items is not an array of non-empty strings: "abc"', '"abc"'],
    ['basic with empty-string item', state('basic_equipment', ['']), 'equipment_items is not an array of non-empty strings: [""]', '[""]'],
    ['basic with number item', state('basic_equipment', [1]), 'equipment_items is not an array of non-empty strings: [1]', '[1]'],
    ['basic with object items', state('basic_equipment', {}), 'equipment_items is not an array of non-empty strings: {}', '{}'],
    ['basic with object items {"a":1}', state('basic_equipment', { a: 1 }), 'equipment_items is not an array of non-empty strings: {"a":1}', '{"a":1}'],
    ['basic with mixed items', state(['basic_equipment'], ['mat', null]), 'equipment_items is not an array of non-empty strings: ["mat",null]', '["mat",null]'],
    ['basic with number items, even when flagged', state('Basic Equipment', 5, true), 'equipment_items is not an array of non-empty strings: 5', ': 5'],
    ['checkbox basic with bad items', state({ basic_equipment: true }, [['mat']]), 'equipment_items is not an array of non-empty strings: [["mat"]]', '[["mat"]]'],
    // equipment errors win over items errors
    ['equipment error wins over bad items', state('trampoline', 'abc'), 'unknown equipment value "trampoline"', '"trampoline"'],
  ])('%s', (_label, input, reason, offending) => {
    const outcome = classify(input);
    expect(outcome).toEqual({ status: 'error', reason });
    expect(reason).toContain(offending);
  });

  it('truncates a huge offending value to 80 characters plus an ellipsis', () => {
    const outcome = classify(state(`[${hugeString}`));
    expect(outcome).toEqual({
      status: 'error',
      reason: `malformed JSON text in equipment: "[${'x'.repeat(78)}…`,
    });
  });

  it('finds an unknown value at the end of a huge array', () => {
    expect(classify(state(hugeArray))).toEqual({ status: 'error', reason: 'unknown equipment value "trampoline"' });
  });

  it('truncates huge items in the items reason', () => {
    const outcome = classify(state('basic_equipment', hugeString));
    expect(outcome.status).toBe('error');
    if (outcome.status !== 'error') return;
    expect(outcome.reason).toBe(`equipment_items is not an array of non-empty strings: "${'x'.repeat(79)}…`);
  });

  it('does not split a surrogate pair when truncating', () => {
    const outcome = classify(state(`[${'😀'.repeat(100)}`));
    expect(outcome.status).toBe('error');
    if (outcome.status !== 'error') return;
    expect(outcome.reason.endsWith('…')).toBe(true);
    expect(outcome.reason).not.toMatch(/[\uD800-\uDBFF]…$/);
  });

  it.each<[string, () => unknown]>([
    ['a cyclic object', () => {
      const cyclic: Record<string, unknown> = { full_gym: 'x' };
      cyclic.self = cyclic;
      return cyclic;
    }],
    ['a deeply nested array', () => {
      let nested: unknown = 'full_gym';
      for (let i = 0; i < 100_000; i++) nested = [nested];
      return nested;
    }],
    ['a null-prototype object', () => Object.assign(Object.create(null) as object, { full_gym: 2 })],
    ['a bigint', () => BigInt(7)],
    ['a symbol', () => Symbol('full_gym')],
    ['a function', () => () => 'full_gym'],
    ['an object with a throwing getter', () => Object.defineProperty({}, 'full_gym', { enumerable: true, get: () => { throw new Error('boom'); } })],
    ['a sparse array', () => [, 'full_gym']], // eslint-disable-line no-sparse-arrays
  ])('returns an error (never throws) for %s', (_label, make) => {
    const outcome = classify(state(make()));
    expect(outcome.status).toBe('error');
    if (outcome.status !== 'error') return;
    expect(outcome.reason.length).toBeLessThanOrEqual(200);
  });

  it('returns an error (never throws) for a deeply nested items value', () => {
    let nested: unknown = 'mat';
    for (let i = 0; i < 100_000; i++) nested = { a: nested };
    const outcome = classify(state('basic_equipment', nested));
    expect(outcome.status).toBe('error');
    if (outcome.status !== 'error') return;
    // Whether JSON.stringify overflows depends on the stack size; either way the reason is short.
    expect(outcome.reason.startsWith('equipment_items is not an array of non-empty strings: ')).toBe(true);
    expect(outcome.reason.length).toBeLessThanOrEqual(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** Canonical tokens in legacy spellings: random casing, padding, ' '/'-' for '_'. */
const spelledToken: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom<string>(...EQUIPMENT_VALUES, 'trampoline', 'gym', '', 'constructor'),
    fc.array(fc.boolean(), { maxLength: 20 }),
    fc.array(fc.constantFrom('_', ' ', '-'), { maxLength: 3 }),
    fc.constantFrom('', ' ', '  ', '\t'),
    fc.constantFrom('', ' ', '\n'),
  )
  .map(([token, upper, joiners, left, right]) => {
    let joinerIndex = 0;
    const spelled = [...token]
      .map((char, i) => (char === '_' ? (joiners[joinerIndex++ % Math.max(joiners.length, 1)] ?? '_') : upper[i] ? char.toUpperCase() : char))
      .join('');
    return `${left}${spelled}${right}`;
  });

/** Every legacy shape built from (mostly canonical) tokens. */
const biasedEquipment: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(...EQUIPMENT_VALUES),
  spelledToken,
  fc.array(spelledToken, { maxLength: 4 }),
  fc.array(spelledToken, { minLength: 1, maxLength: 4 }).chain((tokens) =>
    fc
      .array(fc.constantFrom(',', ';', '|', ' , ', '; '), { minLength: tokens.length, maxLength: tokens.length })
      .map((seps) => tokens.map((t, i) => (i === 0 ? t : `${seps[i]}${t}`)).join('')),
  ),
  fc.array(spelledToken, { maxLength: 4 }).map((tokens) => ` ${JSON.stringify(tokens)}`),
  fc.dictionary(spelledToken, fc.oneof(fc.boolean(), fc.boolean(), fc.constantFrom<unknown>(null, 1, 'true')), { maxKeys: 4 }),
);

/** Weighted towards the item shapes that matter (empty / valid), so flagged and basic rows are common. */
const anyItems: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(null, undefined, []), weight: 3 },
  { arbitrary: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }), weight: 3 },
  { arbitrary: fc.constantFrom<unknown>([''], 'abc', {}, [1]), weight: 1 },
  { arbitrary: fc.jsonValue(), weight: 1 },
  { arbitrary: fc.anything(), weight: 1 },
);

const anyEquipment: fc.Arbitrary<unknown> = fc.oneof(biasedEquipment, fc.jsonValue(), fc.anything());

const anyState: fc.Arbitrary<EquipmentState> = fc.record({
  equipment: anyEquipment,
  equipmentItems: anyItems,
  reassessmentRequired: fc.boolean(),
});

const biasedState: fc.Arbitrary<EquipmentState> = fc.record({
  equipment: biasedEquipment,
  equipmentItems: anyItems,
  reassessmentRequired: fc.boolean(),
});

describe('EquipmentRules.classify properties', () => {
  it.each([
    ['any state', anyState],
    ['biased state', biasedState],
  ])('(a) is total and deterministic for %s', (_label, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (input) => {
        const first = classify(input);
        const second = classify(input);
        expect(second).toEqual(first);
        expect(['skipped', 'migrated', 'flagged', 'error']).toContain(first.status);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['any state', anyState],
    ['biased state', biasedState],
  ])('(b) writes only canonical values, equal to newEquipment, for %s', (_label, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (input) => {
        const outcome = classify(input);
        if (outcome.status !== 'migrated' && outcome.status !== 'flagged') return;
        expect(isCanonical(outcome.newEquipment)).toBe(true);
        expect(outcome.write.equipment).toBe(outcome.newEquipment);
        if (outcome.status === 'migrated') {
          expect(outcome.itemsCleared).toBe(outcome.write.items === 'clear');
          expect(outcome.itemsCleared).toBe(outcome.newEquipment !== 'basic_equipment');
          expect(outcome.write.reassessmentRequired).toBe(input.reassessmentRequired);
        } else {
          expect(outcome.reason).toBe(FLAGGED_REASON);
          expect(outcome.write.reassessmentRequired).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['any state', anyState],
    ['biased state', biasedState],
  ])('(c) applying the write then classifying again is skipped, for %s', (_label, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (input) => {
        const outcome = classify(input);
        if (outcome.status !== 'migrated' && outcome.status !== 'flagged') return;
        expect(classify(applyWrite(input, outcome.write))).toEqual({ status: 'skipped' });
      }),
      { numRuns: 500 },
    );
  });

  it('(d) error reasons stay short even for huge inputs', () => {
    const hugeEquipment = fc.oneof(
      fc.string({ minLength: 200, maxLength: 5_000 }),
      fc.string({ minLength: 200, maxLength: 5_000 }).map((s) => `[${s}`),
      fc.array(fc.string({ minLength: 100, maxLength: 300 }), { minLength: 1, maxLength: 50 }),
      fc.array(fc.anything(), { minLength: 1, maxLength: 50 }),
      fc.dictionary(fc.string({ minLength: 100, maxLength: 300 }), fc.anything(), { minKeys: 1, maxKeys: 10 }),
      fc.dictionary(fc.constantFrom<string>(...EQUIPMENT_VALUES), fc.string({ minLength: 100, maxLength: 300 }), { minKeys: 1 }),
      anyEquipment,
    );
    const hugeItems = fc.oneof(anyItems, fc.string({ minLength: 200, maxLength: 5_000 }), fc.array(fc.anything(), { minLength: 20, maxLength: 50 }));
    fc.assert(
      fc.property(
        fc.record({ equipment: hugeEquipment, equipmentItems: hugeItems, reassessmentRequired: fc.boolean() }),
        (input) => {
          const outcome = classify(input);
          if (outcome.status === 'error') expect(outcome.reason.length).toBeLessThanOrEqual(200);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('resolves every valid biased shape to its highest token, never silently dropping unknown tokens', () => {
    const tokenList = fc.array(spelledToken, { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(tokenList, fc.constantFrom(',', ';', '|'), (tokens, separator) => {
        const normalised = tokens.map(normaliseToken);
        const allValid = normalised.every((t) => isCanonical(t));
        for (const equipment of [tokens, tokens.join(separator), JSON.stringify(tokens)]) {
          const outcome = classify(state(equipment, ['mat']));
          if (!allValid) {
            expect(outcome.status).toBe('error');
            continue;
          }
          const expected = highest(normalised.filter(isCanonical));
          if (outcome.status === 'skipped') {
            expect(equipment).toBe(expected);
          } else {
            expect(outcome).toEqual(migrated(expected));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('show (quotes in reasons)', () => {
  /** What show() gave before it cut long strings first: the whole JSON text, cut to 80 characters. */
  const wholeThenCut = (text: string) => {
    const json = JSON.stringify(text);
    if (json.length <= 80) return json;
    let cut = json.slice(0, 80);
    const last = cut.charCodeAt(cut.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
    return `${cut}…`;
  };
  const piece = fc.oneof(fc.constantFrom('\ud83d', '\ude00', '😀', 'a', '"', '\n', '\u0001'), fc.string({ maxLength: 8 }));

  it('cuts a long string before stringifying it, with the same result as stringifying it whole', () => {
    fc.assert(
      fc.property(fc.array(piece, { minLength: 0, maxLength: 60 }), (pieces) => {
        const text = pieces.join('');
        expect(show(text)).toBe(wholeThenCut(text));
      }),
      { numRuns: 2000 },
    );
    const huge = 'x'.repeat(2_000_000);
    expect(show(huge)).toBe(wholeThenCut(huge));
  });
});
