import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  Stats,
  statSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../cli/cli-errors';

const COPY_CHUNK = 1 << 20;
/** Between two details of the report, as every writer of details joins them (and between two appended parts). */
export const DETAIL_SEPARATOR = ',\n    ';
/** What ends a report's head: the details follow it. */
export const DETAILS_OPENING = ',\n  "details": [';
/** As the kernel's own limit on symbolic links followed in one lookup. */
const MAX_LINKS = 40;
/** The kernel's magic links to a process's open files (/dev/stdout → /proc/self/fd/1): opened, never resolved. */
const OPEN_FILE_LINK = /^\/(proc\/(self|\d+)|dev)\/fd\/\d+$/;
const OWN_OPEN_FILE = new RegExp(`^/(?:proc/(?:self|${process.pid})|dev)/fd/(\\d+)$`);

/**
 * Where the report goes:
 * - `replace`: a regular file (or none yet): written beside it, synced, renamed over it (atomic for readers);
 * - `stream`: an existing character device or FIFO, or an already-open file named through /dev/fd/N: written into
 *   directly, not atomically;
 * - `stdio`: /dev/stdout or /dev/stderr (or /dev/fd/1, /dev/fd/2): written through the process's own stream, in order
 *   with the console lines, whatever it is (a terminal, a pipe, a socket, which cannot be reopened by name, a file).
 */
type Destination = { kind: 'replace'; path: string } | { kind: 'stream'; path: string } | { kind: 'stdio'; stream: NodeJS.WriteStream };

/**
 * Room kept at the start of the report file for its head (every field before "details"): about a kilobyte in
 * practice, its length bounded by the database's names. The head is written into it at the end, padded with spaces
 * after `"details": [` (JSON whitespace), so the details streamed during the run are never copied again; a head that
 * does not fit (an extraordinarily long host name) is handled by one copy, as every report once was.
 */
export const HEAD_ROOM_BYTES = 4096;

/**
 * Writes a JSON report whose large middle part (the details array) is streamed while the run goes on, into a hidden
 * temporary file beside the target, after room for the head; finish() writes the head into that room and syncs the
 * file; publish(), called only once the run's transaction has committed (or a dry run has rolled back), puts it in
 * place. So a run that does not commit never touches what is at the path. Files are created with mode 0600.
 *
 * Writes are synchronous on purpose: a page's details are written the moment they exist, so no buffer holds them
 * while the run goes on (buffered strings outlive young-generation collections and inflate the heap on large runs);
 * writing to the page cache costs well under a millisecond per page.
 */
export class ReportFileWriter {
  private fd?: number;
  private detailCount = 0;
  /** The head as finish() made it, unpadded; a streamed destination gets it followed by the file from HEAD_ROOM_BYTES. */
  private head?: string;
  private readonly tempPath: string;
  private readonly longHeadTempPath: string;

  private constructor(
    /** The path as given (what the console names). */
    readonly path: string,
    private readonly destination: Destination,
  ) {
    const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
    // Beside the target, so the rename stays within one file system; a device's folder (/dev) is no place for them.
    const folder = destination.kind === 'replace' ? dirname(destination.path) : tmpdir();
    const name = destination.kind === 'replace' ? basename(destination.path) : 'equipment-report';
    this.tempPath = join(folder, `.${name}.${tag}.tmp`);
    this.longHeadTempPath = join(folder, `.${name}.${tag}.long-head.tmp`);
  }

  /** Checks the path before any database work (exit 2 when it cannot be written) and opens the temporary file. */
  static open(requestedPath: string): ReportFileWriter {
    const destination = destinationOf(requestedPath);
    const writer = new ReportFileWriter(requestedPath, destination);
    try {
      writer.fd = openSync(writer.tempPath, 'wx+', 0o600); // read back only by a head too long for its room
      writeSync(writer.fd, Buffer.alloc(HEAD_ROOM_BYTES, ' '));
    } catch (error) {
      writer.discard();
      throw new UsageError(`Cannot write the report to ${requestedPath}: ${(error as Error).message}`);
    }
    return writer;
  }

  /** Appends serialized details (JSON object texts joined by commas), as text or as that text's UTF-8 bytes in parts. */
  append(details: string | readonly Uint8Array[]): void {
    const separator = this.detailCount === 0 ? '\n    ' : DETAIL_SEPARATOR;
    if (typeof details === 'string') writeSync(this.fd!, separator + details);
    else writeAll(this.fd!, [Buffer.from(separator), ...details]);
    this.detailCount += 1;
  }

  /**
   * Completes the report (head fields, then "details") in its temporary file and, for a file that replaces the target,
   * syncs it to disk. Nothing at the report's path changes yet: see publish().
   */
  finish(head: Record<string, unknown>): void {
    const fd = this.fd!;
    this.fd = undefined;
    const headJson = JSON.stringify(head, null, 2);
    this.head = `${headJson.slice(0, -2)}${DETAILS_OPENING}`;
    try {
      writeSync(fd, this.detailCount === 0 ? ']\n}\n' : '\n  ]\n}\n');
      if (this.destination.kind === 'replace') {
        const headBytes = Buffer.from(this.head);
        if (headBytes.length <= HEAD_ROOM_BYTES) {
          writeSync(fd, headBytes, 0, headBytes.length, 0); // the rest of the room stays spaces
          fsyncSync(fd);
        } else {
          this.copyBehindLongHead(fd, headBytes);
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Puts the finished report in place: renamed over the target (a symlink is kept and its target replaced), or
   * streamed into the device or FIFO. Call only after the transaction the report describes committed (or the dry run
   * rolled back). Asynchronous because a FIFO's open waits for its reader, which must not stall the event loop.
   */
  async publish(): Promise<void> {
    if (this.head === undefined) throw new Error('ReportFileWriter.publish() before finish()');
    try {
      if (this.destination.kind === 'replace') {
        renameSync(this.tempPath, this.destination.path);
        syncFolder(dirname(this.destination.path));
      } else if (this.destination.kind === 'stream') {
        await this.streamInto(this.destination.path);
      } else {
        await this.writeToStdio(this.destination.stream);
      }
    } catch (error) {
      throw new Error(`Cannot save the report to ${this.path}: ${(error as Error).message}`);
    } finally {
      rmSync(this.tempPath, { force: true });
    }
  }

  /**
   * publish(), once the run's transaction has ended as it asked (committed, or rolled back for a dry run): a failure
   * now cannot change what happened to the data, so it is a warning naming the outcome, not a failed run.
   */
  async publishAfterEnd(warn: (line: string) => void, outcome: string): Promise<boolean> {
    try {
      await this.publish();
      return true;
    } catch (error) {
      this.discard();
      warn(`Warning: the report could not be written to ${this.path} (${(error as Error).message}); ${outcome}`);
      return false;
    }
  }

  /** Removes the temporary files (the run failed or was interrupted). Safe to call more than once, also after publish. */
  discard(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    rmSync(this.tempPath, { force: true });
    rmSync(this.longHeadTempPath, { force: true });
  }

  /** A head longer than its room: the head, then the details and tail copied behind it, in a file that takes the temporary one's place. */
  private copyBehindLongHead(fd: number, headBytes: Buffer): void {
    const out = openSync(this.longHeadTempPath, 'wx', 0o600);
    try {
      writeSync(out, headBytes);
      const buffer = Buffer.allocUnsafe(COPY_CHUNK);
      for (let position = HEAD_ROOM_BYTES; ; ) {
        const read = readSync(fd, buffer, 0, buffer.length, position);
        if (read === 0) break;
        writeSync(out, buffer, 0, read);
        position += read;
      }
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    renameSync(this.longHeadTempPath, this.tempPath);
  }

  /** The unpadded head, then the file after its head room: what a streamed destination receives, chunk by chunk. */
  private async copyOut(write: (chunk: Buffer) => Promise<void>): Promise<void> {
    await write(Buffer.from(this.head!));
    const input = openSync(this.tempPath, 'r');
    try {
      for (let position = HEAD_ROOM_BYTES; ; ) {
        const buffer = Buffer.allocUnsafe(COPY_CHUNK); // a new one each time: a stream may hold it until written
        const read = readSync(input, buffer, 0, buffer.length, position);
        if (read === 0) break;
        await write(buffer.subarray(0, read));
        position += read;
      }
    } finally {
      closeSync(input);
    }
  }

  private writeToStdio(stream: NodeJS.WriteStream): Promise<void> {
    return this.copyOut((chunk) => new Promise<void>((done, fail) => stream.write(chunk, (error) => (error ? fail(error) : done()))));
  }

  private async streamInto(path: string): Promise<void> {
    // Append, never truncate: /dev/stdout redirected to a file already holds the command's earlier lines.
    const target = await openAsync(path, constants.O_WRONLY | constants.O_APPEND);
    try {
      await this.copyOut(async (chunk) => {
        for (let written = 0; written < chunk.length; ) written += (await target.write(chunk, written, chunk.length - written)).bytesWritten;
      });
    } finally {
      await target.close();
    }
  }
}

/** Decides where the report goes, or refuses the path with one line (UsageError, exit 2). */
function destinationOf(requestedPath: string): Destination {
  const refuse = (why: string) => new UsageError(`Cannot write the report to ${requestedPath}: ${why}`);
  const path = followLinks(resolve(requestedPath), refuse);
  const fd = OWN_OPEN_FILE.exec(path)?.[1];
  if (fd === '1') return { kind: 'stdio', stream: process.stdout };
  if (fd === '2') return { kind: 'stdio', stream: process.stderr };
  const stats = statOrUndefined(path);
  if (stats === undefined) {
    const folder = dirname(path);
    if (!statOrUndefined(folder)?.isDirectory()) throw refuse(`folder ${folder} does not exist`);
    return replaceable(path, refuse);
  }
  if (stats.isCharacterDevice() || stats.isFIFO() || (OPEN_FILE_LINK.test(path) && stats.isFile())) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw refuse('it is not writable');
    }
    return { kind: 'stream', path };
  }
  if (stats.isFile()) return replaceable(path, refuse);
  throw refuse(`it is ${kindOf(stats)}, not a regular file, a character device or a FIFO`);
}

function replaceable(path: string, refuse: (why: string) => UsageError): Destination {
  const folder = dirname(path);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw refuse(`folder ${folder} is not writable`);
  }
  return { kind: 'replace', path };
}

/**
 * Follows symbolic links to the path they end at (which need not exist yet), so the report replaces the link's
 * target and the link stays. Stops at /proc/…/fd/N and /dev/fd/N, which name open files rather than paths.
 */
function followLinks(start: string, refuse: (why: string) => UsageError): string {
  let path = start;
  for (let hops = 0; ; hops += 1) {
    if (OPEN_FILE_LINK.test(path)) return path;
    let link: Stats;
    try {
      link = lstatSync(path);
    } catch {
      return path;
    }
    if (!link.isSymbolicLink()) return path;
    if (hops === MAX_LINKS) throw refuse('too many levels of symbolic links');
    path = resolve(dirname(path), readlinkSync(path));
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Makes the rename itself durable (the folder's entry), as the file's contents already are. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the rename has happened all the same.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** writevSync until every byte is written (a write may be short, as on a pipe). */
function writeAll(fd: number, parts: Uint8Array[]): void {
  let pending = parts.filter((part) => part.length > 0);
  while (pending.length > 0) {
    let written = writevSync(fd, pending);
    while (pending.length > 0 && written >= pending[0].length) written -= pending.shift()!.length;
    if (written > 0) pending[0] = pending[0].subarray(written);
  }
}
