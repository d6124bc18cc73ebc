import { constants, promises as fs, Stats } from 'node:fs';
import { UsageError } from '../cli/cli-errors';
import { ReviewedPlan } from './plan-fingerprint';

/**
 * The largest report `--expect-plan` reads. It is parsed whole (JSON.parse), and a V8 string ends just below 512 MiB,
 * so the limit sits well under that: 256 MiB is a report of more than a million planned rows. For a larger plan,
 * pass the dry run's fingerprint instead (the run is just as exactly checked; only the count of differing rows is lost).
 */
export const MAX_REVIEWED_REPORT_BYTES = 256 * 1024 * 1024;
/** Read in pieces: between two reads the event loop runs, so SIGINT/SIGTERM are honoured while a report is read. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

const USAGE = 'pass the 64 hex digits of a "Plan fingerprint:" line, or a dry run\'s --save-report file';

/**
 * Reads a dry run's report as a ReviewedPlan, or refuses it with one line (exit 2). Only a regular file is read: a
 * FIFO, a device (`/dev/zero`), a directory or a socket is refused before it is read (and checked again on the open
 * descriptor, which is opened non-blocking so that a FIFO swapped in meanwhile cannot block the open).
 */
export async function readReviewedPlanFile(path: string): Promise<ReviewedPlan> {
  const refuse = (why: string) => new UsageError(`--expect-plan ${path}: ${why}; ${USAGE}`);
  let text: string;
  try {
    assertReadable(await fs.stat(path), refuse); // follows a symlink: its target is what would be read
    const handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      assertReadable(await handle.stat(), refuse);
      text = await readBounded(handle, refuse);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw refuse(`cannot be read (${(error as Error).message})`);
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (error) {
    throw refuse(`is not JSON (${(error as Error).message})`);
  }
  const plan = ReviewedPlan.fromReport(report);
  if (!plan) throw refuse('is not a migrate-equipment report with a plan fingerprint and well-formed details');
  return plan;
}

function assertReadable(stats: Stats, refuse: (why: string) => UsageError): void {
  if (!stats.isFile()) throw refuse(`is ${kindOf(stats)}, not a regular file`);
  if (stats.size > MAX_REVIEWED_REPORT_BYTES) throw refuse(`is ${mebibytes(stats.size)}, more than the ${limitText()}`);
}

/** Reads to the end, never more than the limit (a file growing while it is read is refused too). */
async function readBounded(handle: fs.FileHandle, refuse: (why: string) => UsageError): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > MAX_REVIEWED_REPORT_BYTES) throw refuse(`grew past the ${limitText()} while it was read`);
    chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const limitText = () =>
  `${MAX_REVIEWED_REPORT_BYTES / 1024 / 1024} MiB a reviewed report may have (it is parsed whole); for a larger plan pass its fingerprint`;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}
