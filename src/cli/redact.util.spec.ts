import { redactPasswords } from './redact.util';

describe('redactPasswords', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['failed for postgresql://u:p%40ss@h/d and more', 'failed for postgresql://u:***@h/d and more'],
    ['postgres://app@db/app', 'postgres://app@db/app'],
    ['no url here', 'no url here'],
  ])('%s', (input, expected) => {
    expect(redactPasswords(input)).toBe(expected);
  });
});
