import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliOutput } from '../cli/cli-output.service';
import { EQUIPMENT_VALUES, EquipmentOutcome, FLAGGED_REASON } from './equipment-rules';
import { MAX_EMBEDDED_DEPTH, nestsDeeperThan } from './json-depth';
import { Classified, ReportService } from './report.service';

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(join(__dirname, 'report.schema.json'), 'utf8')));
const report = new ReportService({} as CliOutput);

const run = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  dry_run: true,
  started_at: '2026-01-01T00:00:00.000Z',
  finished_at: '2026-01-01T00:00:01.000Z',
  plan_fingerprint: 'a'.repeat(64),
  database: { host: '127.0.0.1', port: 5432, name: 'db', user: 'postgres' },
};
const zero = { full_gym: 0, basic_equipment: 0, no_equipment: 0, other: 0 };

/** The whole report file as the writer streams it: the head's fields, then the details array. */
function reportText(classified: Classified[]): string {
  const head = JSON.stringify(report.head(run, report.emptySummary(), { before: zero, after: zero }));
  return `${head.slice(0, -1)},"details":[${report.serializeDetails(classified)}]}`;
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value as object).map(depthOf));
}

/** A value nested `depth` levels, alternating arrays and objects. */
const nested = (depth: number, leaf: string) => {
  let text = leaf;
  for (let i = 0; i < depth; i += 1) text = i % 2 === 0 ? `[${text}]` : `{"k":${text}}`;
  return text;
};

const storedJson = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.jsonValue({ maxDepth: 2 })).map(([depth, leaf]) => nested(depth, JSON.stringify(leaf))),
  fc.constant(null), // SQL NULL
);
const outcome: fc.Arbitrary<EquipmentOutcome> = fc.oneof(
  fc.record({
    status: fc.constant('migrated' as const),
    newEquipment: fc.constantFrom(...EQUIPMENT_VALUES),
    itemsCleared: fc.boolean(),
  }).map((o) => ({ ...o, write: { equipment: o.newEquipment, items: 'keep' as const, reassessmentRequired: false } })),
  fc.constant({
    status: 'flagged' as const,
    newEquipment: 'basic_equipment' as const,
    reason: FLAGGED_REASON,
    write: { equipment: 'basic_equipment' as const, items: 'keep' as const, reassessmentRequired: true },
  }),
  fc.string({ minLength: 1 }).map((reason) => ({ status: 'error' as const, reason })),
);
const id = fc.integer({ min: -2147483648, max: 2147483647 });
const row = fc.record({
  id,
  userId: id,
  userEmail: fc.option(fc.string(), { nil: null }),
  equipmentJson: storedJson,
  itemsJson: storedJson.map((t) => t ?? '[]'),
  reassessmentRequired: fc.boolean(),
  version: fc.constant('1'),
  location: fc.constant('(0,1)'),
});

describe('ReportService.serializeDetails', () => {
  it('writes reports that parse, match report.schema.json and stay shallow, whatever the stored values', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ row, outcome }), { maxLength: 6 }), (classified) => {
        const parsed = JSON.parse(reportText(classified));
        expect(validate(parsed) ? [] : validate.errors).toEqual([]);
        // report → details → detail, then the stored value
        expect(depthOf(parsed)).toBeLessThanOrEqual(MAX_EMBEDDED_DEPTH + 3);
        parsed.details.forEach((detail: Record<string, unknown>, i: number) => {
          const stored = classified[i].row.equipmentJson ?? 'null';
          if (detail.original_equipment_as_text === true) expect(detail.original_equipment).toBe(stored);
          else expect(detail.original_equipment).toEqual(JSON.parse(stored));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('writes every id, email and reason exactly, whatever their characters (lone surrogates included)', () => {
    // Any UTF-16 code units: lone surrogates, quotes, backslashes and control characters included.
    const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) });
    fc.assert(
      fc.property(
        fc.array(fc.record({ id, userId: id, userEmail: fc.option(anyText, { nil: null }), reason: anyText }), { maxLength: 6 }),
        (rows) => {
          const classified: Classified[] = rows.map(({ reason, ...values }) => ({
            row: { ...values, equipmentJson: '["full_gym"]', itemsJson: '[]', reassessmentRequired: false, version: '1', location: '(0,1)' },
            outcome: { status: 'error', reason },
          }));
          const details = JSON.parse(`[${report.serializeDetails(classified)}]`);
          expect(details.map((d: Record<string, unknown>) => [d.assessment_id, d.user_id, d.user_email, d.reason])).toEqual(
            rows.map((r) => [r.id, r.userId, r.userEmail, r.reason]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("lists each detail's fields in the guide's order, one detail per line", () => {
    const base = { userId: 7, userEmail: 'a@b.c', equipmentJson: '["full_gym"]', itemsJson: '[]', reassessmentRequired: false, version: '1', location: '(0,1)' };
    const flagged: EquipmentOutcome = {
      status: 'flagged',
      newEquipment: 'basic_equipment',
      reason: FLAGGED_REASON,
      write: { equipment: 'basic_equipment', items: 'keep', reassessmentRequired: true },
    };
    const migrated: EquipmentOutcome = { status: 'migrated', newEquipment: 'full_gym', itemsCleared: true, write: { equipment: 'full_gym', items: 'clear', reassessmentRequired: false } };
    const text = report.serializeDetails([
      { row: { ...base, id: 1 }, outcome: migrated },
      { row: { ...base, id: 2 }, outcome: { status: 'skipped' } },
      { row: { ...base, id: 3 }, outcome: flagged },
      { row: { ...base, id: 4 }, outcome: { status: 'error', reason: 'bad "value"' } },
    ]);
    const details = text.split(',\n    ').map((line) => JSON.parse(line));
    expect(details.map((d) => Object.keys(d))).toEqual([
      ['assessment_id', 'user_id', 'user_email', 'status', 'original_equipment', 'new_equipment', 'items_cleared'],
      ['assessment_id', 'user_id', 'user_email', 'status', 'reason', 'original_equipment', 'original_items', 'new_equipment'],
      ['assessment_id', 'user_id', 'user_email', 'status', 'reason', 'original_equipment', 'original_items'],
    ]);
    expect(details[1]).toMatchObject({ assessment_id: 3, reason: FLAGGED_REASON, original_items: [] });
    expect(details[2]).toMatchObject({ assessment_id: 4, user_email: 'a@b.c', reason: 'bad "value"', original_equipment: ['full_gym'] });
  });

  it('embeds a value 2,000 levels deep as its text, with a flag; one at the limit verbatim', () => {
    const deep = nested(2000, '"x"');
    const atLimit = nested(MAX_EMBEDDED_DEPTH, '"x"');
    const base = { userId: 1, userEmail: null, itemsJson: '[]', reassessmentRequired: false, version: '1', location: '(0,1)' };
    const error = { status: 'error' as const, reason: 'bad' };
    const parsed = JSON.parse(
      reportText([
        { row: { ...base, id: 1, equipmentJson: deep }, outcome: error },
        { row: { ...base, id: 2, equipmentJson: atLimit }, outcome: error },
      ]),
    );
    expect(validate(parsed) ? [] : validate.errors).toEqual([]);
    expect(parsed.details[0]).toMatchObject({ user_email: null, original_equipment: deep, original_equipment_as_text: true });
    expect(parsed.details[1].original_equipment).toEqual(JSON.parse(atLimit));
    expect(parsed.details[1]).not.toHaveProperty('original_equipment_as_text');
  });

  it('prints "(no user)" for an orphaned row on the console', () => {
    expect(report.errorLines([{ assessmentId: 5, userEmail: null, reason: 'bad' }], 1, false)).toEqual(['Error in assessment 5 (no user): bad']);
  });
});

describe('nestsDeeperThan', () => {
  it('counts brackets outside strings only', () => {
    expect(nestsDeeperThan(`"${'['.repeat(500)}"`, 3)).toBe(false);
    expect(nestsDeeperThan(`["\\"${'['.repeat(20)}"]`, 3)).toBe(false);
    expect(nestsDeeperThan('[[[[1]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('[[[1]]]', 3)).toBe(false);
  });
});
