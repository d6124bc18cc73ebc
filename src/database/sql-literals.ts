/**
 * Values written into SQL text as literals: for statements sent with the simple protocol (several in one message, no
 * parameters) and for constants built into statements.
 */

/**
 * `text` with each `$n` replaced by the n-th value as a literal, so the statement can share a message with others
 * (the simple protocol has no parameters). For statements this project writes: `$` appears in them only as a
 * parameter. Text is quoted so that it reads the same whatever standard_conforming_strings says.
 */
export function inlineValues(text: string, values: ReadonlyArray<string | number>): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new Error(`parameter $${n} is not an integer: ${value}`);
      // Parenthesized when negative: `-2147483648::int` would cast 2147483648 first, out of range.
      return value < 0 ? `(${value})` : String(value);
    }
    if (typeof value !== 'string') throw new Error(`parameter $${n} has no value`);
    return quoteLiteral(value);
  });
}

/** A SQL string literal: `'…'`, or `E'…'` with backslashes doubled when the text has any. */
export function quoteLiteral(value: string): string {
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
