import fc from 'fast-check';
import { QueryRunner } from 'typeorm';
import { writeIsolatingRefusals } from '../../src/database/isolated-write';
import { inlineValues } from '../../src/database/sql-literals';
import { useTestSuite } from '../helpers/suite';

/**
 * A page write goes as one simple-protocol message (savepoint, write, release) with its values inlined as literals.
 * Checked on a real server: any text reads back exactly, whatever standard_conforming_strings says, and a refused
 * row is still set apart while the others are written.
 */
describe('writeIsolatingRefusals and inlineValues', () => {
  let queryRunner: QueryRunner;
  const { db } = useTestSuite({ teardown: () => queryRunner?.release() });

  beforeAll(async () => {
    queryRunner = db.dataSource.createQueryRunner();
    await queryRunner.connect();
    await queryRunner.query('CREATE TABLE isolated_write_probe (id int PRIMARY KEY, note text NOT NULL CHECK (note <> $$refuse$$))');
  });

  /** jsonb and text reject \u0000; everything else must come back as it went. */
  const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((value) => !value.includes('\u0000'));

  it.each(['on', 'off'])('reads back any text exactly with standard_conforming_strings %s', async (setting) => {
    await queryRunner.query(`SET standard_conforming_strings = ${setting}`);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(text, { maxLength: 5 }), fc.integer({ min: -2147483648, max: 2147483647 }), async (values, n) => {
          const [row] = await queryRunner.query(inlineValues('SELECT $1::int AS n, ARRAY[$2, $3, $4, $5, $6]::text[] AS t', [n, ...pad(values)]));
          expect(row.n).toBe(n);
          expect(row.t).toEqual(pad(values));
        }),
        { numRuns: 100 },
      );
    } finally {
      await queryRunner.query('RESET standard_conforming_strings');
    }
  });

  it('replaces each parameter once: a value that looks like a parameter stays text', () => {
    expect(inlineValues('SELECT $1, $2, $10, $3', ['$2', "it's", -7, 8, 9, 10, 11, 12, 13, 14])).toBe(`SELECT '$2', 'it''s', 14, (-7)`);
    expect(() => inlineValues('SELECT $2', ['only one'])).toThrow('parameter $2 has no value');
    expect(() => inlineValues('SELECT $1', [1.5])).toThrow('not an integer');
  });

  it('writes every row but the refused ones, each refused row with its message, in one transaction', async () => {
    await queryRunner.startTransaction();
    try {
      const rows = ['a', 'refuse', "b'\\c", 'refuse', 'd'].map((note, i) => ({ id: i + 1, note }));
      const refused = new Map<number, string>();
      const written = await writeIsolatingRefusals(
        queryRunner,
        rows,
        (part) => ({
          sql: inlineValues(`INSERT INTO isolated_write_probe (id, note) SELECT * FROM unnest($1::int[], $2::text[]) RETURNING id`, [
            `{${part.map((r) => r.id).join(',')}}`,
            `{${part.map((r) => JSON.stringify(r.note)).join(',')}}`,
          ]),
          written: (answer) => new Set(answer.map((r) => r.id as number)),
        }),
        refused,
      );
      expect([...written].sort()).toEqual([1, 3, 5]);
      expect([...refused.keys()].sort()).toEqual([2, 4]);
      expect(refused.get(2)).toMatch(/check constraint/);
      // The transaction is usable after the refusals, and holds exactly the rows written.
      expect(await queryRunner.query('SELECT id, note FROM isolated_write_probe ORDER BY id')).toEqual([
        { id: 1, note: 'a' },
        { id: 3, note: "b'\\c" },
        { id: 5, note: 'd' },
      ]);
    } finally {
      await queryRunner.rollbackTransaction();
    }
  });
});

/** Five values, the missing ones empty. */
function pad(values: string[]): string[] {
  return [...values, '', '', '', '', ''].slice(0, 5);
}
