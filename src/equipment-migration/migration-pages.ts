import { Injectable } from '@nestjs/common';
import { CliOutput } from '../cli/cli-output.service';
import { AssessmentMigrationRepository, CandidateRow, MAX_ROW_TEXT_BYTES, PageWriteResult, RowWrite, StoredValues } from './assessment-migration.repository';
import { OutcomeCache } from './outcome-cache';
import { WriteValidator } from './equipment-write.dto';
import { Utf8Builder } from '../run-engine/utf8-builder';
import { Classified, ReportService } from './report.service';

/** A page whose write has been sent but not yet confirmed. */
export interface StartedPage {
  classified: Classified[];
  writes: RowWrite[];
  writing: Promise<PageWriteResult>;
  details: EncodedDetails;
}

/** A page once its write is confirmed: each row's final outcome and its report details. */
export interface FinishedPage {
  classified: Classified[];
  details: EncodedDetails;
  /** The page's error rows, sent in turn on the run's connection; awaited before the transaction ends. */
  recorded: Promise<void>;
}

/**
 * A page's report details (ReportService.encodeDetails, joined as the report joins them) as UTF-8 bytes, in parts;
 * empty when it has none. Written straight into memory outside V8's heap, where the page waits for its write instead
 * of being copied by each young-generation collection meanwhile.
 */
export type EncodedDetails = Buffer[];

/** Room for a part of a page's details at first: a page of 5,000 candidates has about 1.3 MB of them. */
const DETAILS_CAPACITY = 512 * 1024;

/** Rows classified or serialized between two yields to the event loop (about a millisecond of work). */
const ROWS_BETWEEN_YIELDS = 500;
/** How often a row changed by someone else between read and write is re-read before it counts as an error. */
const MAX_WRITE_ATTEMPTS = 3;

/**
 * One page of the migration, whatever the transaction strategy: classify the candidates with the pure rules, send
 * the guarded write (with its audit rows), serialize the report details while the database works, then settle the
 * rows someone else changed meanwhile, the rows the database refused and the rows a trigger rewrote.
 */
@Injectable()
export class MigrationPages {
  private readonly writeValidator = new WriteValidator();

  constructor(
    private readonly report: ReportService,
    private readonly output: CliOutput,
  ) {}

  /**
   * The rules' outcome for each candidate of a page (no statement is sent). Here and in send, the work yields to the
   * event loop every few hundred rows: node-postgres sends a queued statement only when it sees the previous one
   * finish, so a long synchronous stretch would leave the database idle.
   */
  async classify(candidates: CandidateRow[]): Promise<Classified[]> {
    const classified: Classified[] = [];
    for (let i = 0; i < candidates.length; i += ROWS_BETWEEN_YIELDS) {
      for (const row of candidates.slice(i, i + ROWS_BETWEEN_YIELDS)) classified.push(classifyRow(row));
      await yieldToEventLoop();
    }
    return classified;
  }

  /** Sends a classified page's guarded write and serializes its report details while the database works. */
  async send(repository: AssessmentMigrationRepository, classified: Classified[], withDetails: boolean): Promise<StartedPage> {
    const writes = this.writesFor(classified);
    const writing = repository.writePage(writes);
    writing.catch(() => undefined); // awaited in finish; never an unhandled rejection meanwhile
    const details: Buffer[] = [];
    if (withDetails) {
      const out = new Utf8Builder(DETAILS_CAPACITY);
      let separated = false;
      for (let i = 0; i < classified.length; i += ROWS_BETWEEN_YIELDS) {
        separated = this.report.encodeDetails(classified.slice(i, i + ROWS_BETWEEN_YIELDS), out, separated);
        if (out.length > 0) details.push(out.take());
        await yieldToEventLoop();
      }
    }
    return { classified, writes, writing, details };
  }

  /**
   * Waits for a page's write. A row someone else changed after it was read is re-read (locked this time) and
   * classified again from its new value, and only then are the page's details serialized again. The page's error
   * rows are then sent, in turn, on the same connection; `recorded` settles when they are written. It is not awaited
   * here: a page written ahead (see send) may be queued before them, and the caller need not wait for that one.
   */
  async finish(repository: AssessmentMigrationRepository, page: StartedPage, withDetails: boolean): Promise<FinishedPage> {
    let { classified, writes } = page;
    let result = await page.writing;
    let revised = false;
    const stored = new Map(result.stored);
    for (let attempt = 1; ; attempt += 1) {
      if (result.refused.size > 0) {
        revised = true;
        classified = classified.map((item) => {
          const message = result.refused.get(item.row.id);
          return message === undefined ? item : { row: item.row, outcome: { status: 'error', reason: `the database refused the write: ${message}` } };
        });
      }
      const changed = new Set(writes.filter((w) => !result.written.has(w.id) && !result.refused.has(w.id)).map((w) => w.id));
      if (changed.size === 0) break;
      revised = true;
      if (attempt >= MAX_WRITE_ATTEMPTS) {
        classified = classified.map((item) =>
          changed.has(item.row.id) ? { row: item.row, outcome: { status: 'error', reason: 'the row kept changing while it was being migrated' } } : item,
        );
        break;
      }
      // Someone changed these rows after they were read: read them again, locked, and decide from their new values.
      // Rows deleted meanwhile are simply gone from the run.
      const reclassified = (await repository.rereadLocked([...changed])).map(classifyRow);
      classified = [...classified.filter((item) => !changed.has(item.row.id)), ...reclassified].sort((a, b) => a.row.id - b.row.id);
      writes = this.writesFor(reclassified);
      result = await repository.writePage(writes);
      for (const [id, values] of result.stored) stored.set(id, values);
    }
    // A trigger may have rewritten what was written: the row counts as what the database holds, never as what was sent.
    let rewritten = 0;
    classified = classified.map((item) => {
      const values = stored.get(item.row.id);
      const difference = values && storedDifference(item, values);
      if (!difference) return item;
      rewritten += 1;
      return {
        row: item.row,
        outcome: { status: 'error', reason: `the database stored ${difference} (a trigger?); the row was written with the stored values` },
        storedEquipmentJson: values.equipmentJson,
      };
    });
    if (rewritten > 0) {
      revised = true;
      this.output.note(`Warning: ${rewritten} rows hold other values than the migration wrote (a trigger rewrote them); they are reported as errors`);
    }
    const recorded = repository.recordErrors(classified);
    recorded.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
    const details = !revised ? page.details : withDetails ? this.encodedDetails(classified) : [];
    return { classified, details, recorded };
  }

  private encodedDetails(classified: Classified[]): EncodedDetails {
    const out = new Utf8Builder(DETAILS_CAPACITY);
    this.report.encodeDetails(classified, out);
    return out.length > 0 ? [out.take()] : [];
  }

  private writesFor(classified: Classified[]): RowWrite[] {
    const writes: RowWrite[] = [];
    for (const { row, outcome } of classified) {
      if (outcome.status !== 'migrated' && outcome.status !== 'flagged') continue;
      this.writeValidator.check(outcome.write, row.id);
      writes.push({
        id: row.id,
        version: row.version,
        location: row.location,
        equipment: outcome.write.equipment,
        clearItems: outcome.write.items === 'clear',
        reassessmentRequired: outcome.write.reassessmentRequired,
      });
    }
    return writes;
  }
}

/** Quotes of stored values in reasons are capped: a trigger may store anything. */
const MAX_QUOTED_STORED = 200;
const quoted = (json: string | null) => (json === null ? 'NULL' : json.length > MAX_QUOTED_STORED ? `${json.slice(0, MAX_QUOTED_STORED)}…` : json);

/** How the stored values differ from what the rules decided for a migrated or flagged row, e.g. `"no_equipment" instead of "full_gym"`; undefined if they match. */
function storedDifference({ row, outcome }: Classified, values: StoredValues): string | undefined {
  if (outcome.status !== 'migrated' && outcome.status !== 'flagged') return undefined;
  const differences: string[] = [];
  const equipment = JSON.stringify(outcome.write.equipment);
  if (values.equipmentJson !== equipment) differences.push(`${quoted(values.equipmentJson)} instead of ${equipment}`);
  const items = outcome.write.items === 'clear' ? '[]' : row.itemsJson;
  if (values.itemsJson !== items) differences.push(`equipment_items ${quoted(values.itemsJson)} instead of ${quoted(items)}`);
  if (values.reassessmentRequired !== outcome.write.reassessmentRequired) {
    differences.push(`equipment_reassessment_required ${values.reassessmentRequired} instead of ${outcome.write.reassessmentRequired}`);
  }
  return differences.length > 0 ? differences.join(', ') : undefined;
}

/** Why a row too large to read is an error row (its values were never fetched). */
function oversizedReason(bytes: number): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `equipment and equipment_items take ${mib(bytes)} as JSON text, more than the ${mib(MAX_ROW_TEXT_BYTES)} a row may have; not read, left as it is (its values show as null in the report)`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The rules' outcomes for the shapes this process has seen (see OutcomeCache). */
const outcomes = new OutcomeCache();

/** The rules' outcome for a row as read (or as its audit row recorded it before the run changed it). */
export function classifyRow(row: CandidateRow): Classified {
  if (row.oversizedBytes != null) return { row, outcome: { status: 'error', reason: oversizedReason(row.oversizedBytes) } };
  return { row, outcome: outcomes.classify(row) };
}
