import { Injectable } from '@nestjs/common';
import { writeIfOpen } from './output-streams';
import { oneLine, safeJson } from './terminal-text.util';

/**
 * Where commands write. stdout carries the contract lines (the guide's report, or JSON with --json);
 * stderr carries everything else meant for people (notes, warnings, progress). Tests swap in a recorder (`emit`).
 *
 * Each line is one line whatever it quotes: control characters in stored values, emails or database messages are
 * shown escaped (see oneLine), so only the program can print a line such as `Migration completed successfully!`.
 */
@Injectable()
export class CliOutput {
  /** A line of the command's documented output (stdout). */
  line(text = ''): void {
    this.emit('stdout', oneLine(text));
  }

  /** A line for people that is not part of the output contract (stderr). */
  note(text: string): void {
    this.emit('stderr', oneLine(text));
  }

  /** A JSON document on stdout (--json): pretty-printed, with no raw control characters. */
  json(value: unknown): void {
    this.emit('stdout', safeJson(value));
  }

  /** The stream progress bars draw on. */
  get progressStream(): NodeJS.WriteStream {
    return process.stderr;
  }

  /** Writes already-safe text and a newline; output whose reader has gone away is dropped (see output-streams). */
  protected emit(stream: 'stdout' | 'stderr', text: string): void {
    writeIfOpen(stream === 'stdout' ? process.stdout : process.stderr, `${text}\n`);
  }
}
