/**
 * Characters that can end a line, move the cursor or restyle a terminal: C0 and C1 controls, DEL, the Unicode line
 * and paragraph separators, and the bidirectional overrides that reorder what a reader sees.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text for one line of output: every unsafe character is shown escaped (`\n`, `\u001b`…), as JSON would quote it,
 * so no stored value or database message can make a line of its own (or pass for one of the program's lines).
 */
export function oneLine(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

/**
 * JSON text for a terminal or a pipe: JSON.stringify already escapes C0 controls; the rest of the unsafe characters
 * are only ever inside strings, where `\uXXXX` means the same character.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, unicodeEscape);
}

function escapeCharacter(character: string): string {
  return NAMED[character] ?? unicodeEscape(character);
}

function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
