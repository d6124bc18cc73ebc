import fc from 'fast-check';
import { ascii, Utf8Builder } from './utf8-builder';

describe('Utf8Builder', () => {
  it('builds the same bytes as Buffer.from over the joined text, across growth and takes', () => {
    const piece = fc.oneof(
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }).map((text) => ({ kind: 'text' as const, text })),
      fc.string({ unit: 'binary' }).map((text) => ({ kind: 'text' as const, text })),
      fc.oneof(fc.integer({ min: -2147483648, max: 2147483647 }), fc.maxSafeInteger(), fc.constant(-0), fc.double()).map((n) => ({ kind: 'integer' as const, n })),
      fc.stringMatching(/^[a-z",:{}]{0,20}$/).map((text) => ({ kind: 'bytes' as const, text })),
      fc.constant({ kind: 'take' as const }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(piece, { maxLength: 40 }), (capacity, pieces) => {
        const out = new Utf8Builder(capacity);
        const taken: Buffer[] = [];
        let text = '';
        for (const p of pieces) {
          if (p.kind === 'text') out.text(p.text);
          else if (p.kind === 'integer' && Number.isInteger(p.n)) out.integer(p.n);
          else if (p.kind === 'bytes') out.bytes(ascii(p.text));
          else if (p.kind === 'take') {
            taken.push(Buffer.from(out.take())); // copied now: a later write must not change it either (checked below)
            continue;
          } else continue;
          text += p.kind === 'integer' ? String(p.n) : p.text;
        }
        const whole = Buffer.concat([...taken, out.take()]);
        expect(whole.equals(Buffer.from(text, 'utf8'))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('writes a plain JSON string as it is, and nothing at all for one that JSON.stringify must escape or that is not ASCII', () => {
    const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) });
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string()), (value) => {
        const out = new Utf8Builder(4);
        out.text('x');
        const plain = out.plainJsonString(value);
        const json = JSON.stringify(value);
        expect(plain).toBe(json === `"${value}"` && /^[\x00-\x7e]*$/.test(value));
        expect(out.take().toString()).toBe(plain ? `x${json}` : 'x');
      }),
      { numRuns: 1000 },
    );
  });

  it('never changes bytes already taken', () => {
    const out = new Utf8Builder(8);
    out.text('first');
    const first = out.take();
    for (let i = 0; i < 100; i += 1) out.text('more text to grow the buffer ');
    out.integer(-9007199254740991);
    expect(first.toString()).toBe('first');
    expect(out.take().toString()).toBe('more text to grow the buffer '.repeat(100) + '-9007199254740991');
    expect(out.length).toBe(0);
  });

  it('refuses a constant piece that is not printable ASCII', () => {
    expect(() => ascii('é')).toThrow(/not printable ASCII/);
  });
});
