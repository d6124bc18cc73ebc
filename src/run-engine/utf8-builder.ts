/**
 * Pieces up to this long are copied byte by byte in JavaScript: for the few dozen bytes of a detail's field, a call
 * out to Buffer#set or Buffer#write cost more than the copy (measured on a page of details).
 */
const SHORT = 64;

/**
 * UTF-8 text built straight into a growing Buffer, outside V8's heap. Text built by string concatenation leaves a
 * cons cell per piece and a flattened copy before it is encoded, all for the garbage collector: the report's details
 * built that way were a third of everything a 1,000,000-row run allocated.
 *
 * take() hands out what was built since the last take as a view of the same memory; later writes never touch it.
 */
export class Utf8Builder {
  private buffer: Buffer;
  /** Where the bytes not yet taken start. */
  private start = 0;
  private end = 0;

  constructor(private readonly capacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Bytes built and not yet taken. */
  get length(): number {
    return this.end - this.start;
  }

  /** Bytes as they are: constant pieces, encoded once (see ascii). */
  bytes(piece: Uint8Array): void {
    const length = piece.length;
    this.reserve(length);
    if (length > SHORT) {
      this.buffer.set(piece, this.end);
      this.end += length;
      return;
    }
    const buffer = this.buffer;
    let end = this.end;
    for (let i = 0; i < length; i += 1) buffer[end++] = piece[i];
    this.end = end;
  }

  /** A string as UTF-8; a lone surrogate becomes U+FFFD, as with Buffer.from. */
  text(value: string): void {
    const length = value.length;
    this.reserve(length * 3); // at most 3 bytes per UTF-16 code unit
    if (length <= SHORT) {
      const buffer = this.buffer;
      let end = this.end;
      let i = 0;
      for (; i < length; i += 1) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buffer[end++] = code;
      }
      if (i === length) {
        this.end = end;
        return;
      }
    }
    this.end += this.buffer.write(value, this.end);
  }

  /**
   * `"value"`, when that is how JSON.stringify writes it and all of it is ASCII: no quote, backslash or control
   * character. Otherwise writes nothing and returns false (the caller writes JSON.stringify(value) instead).
   */
  plainJsonString(value: string): boolean {
    const length = value.length;
    this.reserve(length + 2);
    const buffer = this.buffer;
    let end = this.end;
    buffer[end++] = 0x22; // "
    for (let i = 0; i < length; i += 1) {
      const code = value.charCodeAt(i);
      if (code < 0x20 || code >= 0x7f || code === 0x22 || code === 0x5c) return false; // nothing kept: end is not moved
      buffer[end++] = code;
    }
    buffer[end++] = 0x22;
    this.end = end;
    return true;
  }

  /** An integer in decimal, as String(value) writes it. */
  integer(value: number): void {
    if (!Number.isSafeInteger(value)) return this.text(String(value));
    this.reserve(17); // a sign and 16 digits
    const buffer = this.buffer;
    let n = value;
    if (n < 0) {
      buffer[this.end++] = 0x2d; // -
      n = -n;
    }
    const first = this.end;
    do {
      buffer[this.end++] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    for (let i = first, j = this.end - 1; i < j; i += 1, j -= 1) {
      const digit = buffer[i];
      buffer[i] = buffer[j];
      buffer[j] = digit;
    }
  }

  /** The bytes built since the last take; the builder goes on empty. */
  take(): Buffer {
    const built = this.buffer.subarray(this.start, this.end);
    this.start = this.end;
    return built;
  }

  private reserve(bytes: number): void {
    if (this.end + bytes <= this.buffer.length) return;
    // Views already taken keep the old memory; only the part not yet taken moves.
    const pending = this.end - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.capacity, 2 * (pending + bytes)));
    this.buffer.copy(next, 0, this.start, this.end);
    this.buffer = next;
    this.start = 0;
    this.end = pending;
  }
}

/** A constant ASCII piece for Utf8Builder.bytes. */
export function ascii(text: string): Uint8Array {
  if (!/^[\x20-\x7e\n]*$/.test(text)) throw new Error(`not printable ASCII: ${JSON.stringify(text)}`);
  return Buffer.from(text, 'latin1');
}
