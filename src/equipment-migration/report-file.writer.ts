import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync, accessSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../cli/cli-errors';

const COPY_CHUNK = 1 << 20;

/**
 * Writes a JSON report whose large middle part (the details array) is streamed while the run goes on:
 * details go to a hidden temporary file; finish() writes head + details + tail to a second temporary file in the same
 * folder, syncs it and renames it into place (atomic for readers). Files are created with mode 0600.
 *
 * Writes are synchronous on purpose: a page's details are written the moment they exist, so no buffer holds them
 * while the run goes on (buffered strings outlive young-generation collections and inflate the heap on large runs);
 * writing to the page cache costs well under a millisecond per page.
 */
export class ReportFileWriter {
  private detailsFd?: number;
  private detailCount = 0;
  private readonly detailsPath: string;
  private readonly finalTempPath: string;

  private constructor(readonly path: string) {
    const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
    this.detailsPath = join(dirname(path), `.${basename(path)}.${tag}.details.tmp`);
    this.finalTempPath = join(dirname(path), `.${basename(path)}.${tag}.tmp`);
  }

  /** Checks the path before any database work (exit 2 when it cannot be written) and opens the details file. */
  static open(requestedPath: string): ReportFileWriter {
    const path = resolve(requestedPath);
    const folder = dirname(path);
    const stats = (file: string) => {
      try {
        return statSync(file);
      } catch {
        return undefined;
      }
    };
    if (!stats(folder)?.isDirectory()) {
      throw new UsageError(`Cannot write the report to ${requestedPath}: folder ${folder} does not exist`);
    }
    if (stats(path)?.isDirectory()) throw new UsageError(`Cannot write the report to ${requestedPath}: it is a folder`);
    try {
      accessSync(folder, constants.W_OK);
    } catch {
      throw new UsageError(`Cannot write the report to ${requestedPath}: folder ${folder} is not writable`);
    }
    const writer = new ReportFileWriter(path);
    try {
      writer.detailsFd = openSync(writer.detailsPath, 'wx', 0o600);
    } catch (error) {
      throw new UsageError(`Cannot write the report to ${requestedPath}: ${(error as Error).message}`);
    }
    return writer;
  }

  /** Appends serialized details (JSON object texts joined by commas). */
  append(detailsJson: string): void {
    writeSync(this.detailsFd!, (this.detailCount === 0 ? '\n    ' : ',\n    ') + detailsJson);
    this.detailCount += 1;
  }

  /** Assembles the report (head fields, then "details") in its temporary file and syncs it to disk; see publish(). */
  finish(head: Record<string, unknown>): void {
    closeSync(this.detailsFd!);
    this.detailsFd = undefined;
    const headJson = JSON.stringify(head, null, 2);
    const out = openSync(this.finalTempPath, 'wx', 0o600);
    try {
      writeSync(out, `${headJson.slice(0, -2)},\n  "details": [`);
      const input = openSync(this.detailsPath, 'r');
      try {
        const buffer = Buffer.allocUnsafe(COPY_CHUNK);
        for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer)) writeSync(out, buffer, 0, read);
      } finally {
        closeSync(input);
      }
      writeSync(out, this.detailCount === 0 ? ']\n}\n' : '\n  ]\n}\n');
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    rmSync(this.detailsPath, { force: true });
  }

  /** Renames the finished report into place: only once its run has ended as it asked, so a failed run keeps an old report. */
  publish(): void {
    renameSync(this.finalTempPath, this.path);
  }

  /** Removes the temporary files (the run failed or was interrupted). Safe to call more than once. */
  discard(): void {
    if (this.detailsFd !== undefined) {
      closeSync(this.detailsFd);
      this.detailsFd = undefined;
    }
    rmSync(this.detailsPath, { force: true });
    rmSync(this.finalTempPath, { force: true });
  }
}
