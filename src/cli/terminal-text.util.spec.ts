import fc from 'fast-check';
import { oneLine, safeJson } from './terminal-text.util';

describe('oneLine', () => {
  it.each([
    ['plain text', 'user@example.com', 'user@example.com'],
    ['a newline', 'evil\nMigration completed successfully!', 'evil\\nMigration completed successfully!'],
    ['a carriage return', 'a\rb', 'a\\rb'],
    ['a tab', 'a\tb', 'a\\tb'],
    ['an escape sequence', '\u001b[2Jgone', '\\u001b[2Jgone'],
    ['DEL and a C1 control', 'a\u007fb\u009bc', 'a\\u007fb\\u009bc'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['a bidirectional override', 'abc\u202edef', 'abc\\u202edef'],
    ['non-ASCII letters and arrows', 'Zoë → full_gym', 'Zoë → full_gym'],
  ])('%s', (_name, input, expected) => {
    expect(oneLine(input)).toBe(expected);
  });

  it('never lets any string add a line or a control character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const line = oneLine(text);
        expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }),
    );
  });
});

describe('safeJson', () => {
  it('is the same JSON value, with no raw control or separator characters', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
        const input = { value, text };
        const json = safeJson(input);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(input)));
        for (const line of json.split('\n')) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }),
    );
  });
});
