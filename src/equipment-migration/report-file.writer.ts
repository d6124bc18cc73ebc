import { constants, createReadStream, createWriteStream, WriteStream } from 'node:fs';
import { access, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../cli/cli-errors';

/**
 * Writes a JSON report whose large middle part (the details array) is streamed while the run goes on:
 * details go to a hidden temporary file; finish() writes head + details + tail to a second temporary file in the same
 * folder, syncs it and renames it into place (atomic for readers). Files are created with mode 0600.
 */
export class ReportFileWriter {
  private details?: WriteStream;
  private detailCount = 0;
  private readonly detailsPath: string;
  private readonly finalTempPath: string;

  private constructor(readonly path: string) {
    const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
    this.detailsPath = join(dirname(path), `.${basename(path)}.${tag}.details.tmp`);
    this.finalTempPath = join(dirname(path), `.${basename(path)}.${tag}.tmp`);
  }

  /** Checks the path before any database work (exit 2 when it cannot be written) and opens the details stream. */
  static async open(requestedPath: string): Promise<ReportFileWriter> {
    const path = resolve(requestedPath);
    const folder = dirname(path);
    const folderStat = await stat(folder).catch(() => undefined);
    if (!folderStat?.isDirectory()) {
      throw new UsageError(`Cannot write the report to ${requestedPath}: folder ${folder} does not exist`);
    }
    const target = await stat(path).catch(() => undefined);
    if (target?.isDirectory()) throw new UsageError(`Cannot write the report to ${requestedPath}: it is a folder`);
    try {
      await access(folder, constants.W_OK);
    } catch {
      throw new UsageError(`Cannot write the report to ${requestedPath}: folder ${folder} is not writable`);
    }
    const writer = new ReportFileWriter(path);
    try {
      writer.details = createWriteStream(writer.detailsPath, { flags: 'wx', mode: 0o600 });
      await once(writer.details, 'open');
    } catch (error) {
      throw new UsageError(`Cannot write the report to ${requestedPath}: ${(error as Error).message}`);
    }
    return writer;
  }

  /** Appends serialized details (JSON object texts joined by commas); waits when the stream buffer is full. */
  async append(detailsJson: string): Promise<void> {
    const stream = this.details!;
    const chunk = (this.detailCount === 0 ? '\n    ' : ',\n    ') + detailsJson;
    this.detailCount += 1;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }

  /** Assembles the report (head fields, then "details") and renames it into place. */
  async finish(head: Record<string, unknown>): Promise<void> {
    const stream = this.details!;
    stream.end();
    await once(stream, 'close');
    const headJson = JSON.stringify(head, null, 2);
    const file = await open(this.finalTempPath, 'wx', 0o600);
    try {
      await file.write(`${headJson.slice(0, -2)},\n  "details": [`);
      for await (const chunk of createReadStream(this.detailsPath)) await file.write(chunk as Buffer);
      await file.write(this.detailCount === 0 ? ']\n}\n' : '\n  ]\n}\n');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(this.finalTempPath, this.path);
    await rm(this.detailsPath, { force: true });
  }

  /** Removes the temporary files (the run failed or was interrupted). Safe to call more than once. */
  async discard(): Promise<void> {
    const stream = this.details;
    if (stream && !stream.closed) {
      // A write may still be in flight: its error after destroy() is expected, and must not crash the process.
      stream.on('error', () => undefined);
      stream.destroy();
      await once(stream, 'close').catch(() => undefined);
    }
    await rm(this.detailsPath, { force: true });
    await rm(this.finalTempPath, { force: true });
  }

  /** Removes the report itself (the transaction it describes did not commit). */
  async removeFinal(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
