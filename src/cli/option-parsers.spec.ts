import { InvalidArgumentError } from 'commander';
import { parseInteger, parsePath } from './option-parsers';

describe('parseInteger', () => {
  it.each([
    ['1', 1],
    ['100000', 100000],
    [' 42 ', 42],
    ['+7', 7],
  ])('accepts %j', (input, expected) => {
    expect(parseInteger(input, '--batch-size', 1, 100000)).toBe(expected);
  });

  it.each(['0', '-5', 'abc', '1.5', '1e3', '', '100001', '0x10', '9007199254740993'])('rejects %j', (input) => {
    expect(() => parseInteger(input, '--batch-size', 1, 100000)).toThrow(InvalidArgumentError);
  });

  it('names the option and the value in the message', () => {
    expect(() => parseInteger('abc', '--batch-size', 1, 10)).toThrow('--batch-size must be a whole number from 1 to 10 (got "abc").');
  });
});

describe('parsePath', () => {
  it('rejects an empty path', () => {
    expect(() => parsePath('  ', '--save-report')).toThrow(InvalidArgumentError);
  });
  it('keeps a path as given', () => {
    expect(parsePath('./r.json', '--save-report')).toBe('./r.json');
  });
});
