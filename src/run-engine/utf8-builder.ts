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
    this.reserve(piece.length);
    this.buffer.set(piece, this.end);
    this.end += piece.length;
  }

  /** A string as UTF-8; a lone surrogate becomes U+FFFD, as with Buffer.from. */
  text(value: string): void {
    this.reserve(value.length * 3); // at most 3 bytes per UTF-16 code unit
    this.end += this.buffer.write(value, this.end);
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
