/**
 * How deep a stored value may nest before the report embeds it as its JSON text (a string) instead of verbatim.
 * jq 1.6 refuses input nested deeper than 256 levels and Python's json recurses once per level; the report itself adds
 * three levels (report → details → detail), so 64 leaves a wide margin for any reader.
 */
export const MAX_EMBEDDED_DEPTH = 64;

/**
 * Whether JSON text nests `[`/`{` deeper than `limit`. A single pass over the characters, skipping strings; text too
 * short to hold limit + 1 opening brackets and their closing ones is answered without a scan (the common case).
 */
export function nestsDeeperThan(json: string, limit: number): boolean {
  if (json.length < 2 * (limit + 1)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i += 1) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth -= 1;
  }
  return false;
}
