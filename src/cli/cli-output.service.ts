import { Injectable } from '@nestjs/common';

/**
 * Where commands write. stdout carries the contract lines (the guide's report, or JSON with --json);
 * stderr carries everything else meant for people (notes, warnings, progress). Tests swap in a recorder.
 */
@Injectable()
export class CliOutput {
  /** A line of the command's documented output (stdout). */
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  }

  /** A line for people that is not part of the output contract (stderr). */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** The stream progress bars draw on. */
  get progressStream(): NodeJS.WriteStream {
    return process.stderr;
  }
}
