import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DETAILS_OPENING, HEAD_ROOM_BYTES, ReportFileWriter } from './report-file.writer';

describe('ReportFileWriter (files only)', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'report-writer-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  async function written(head: Record<string, unknown>, details: object[][]): Promise<string> {
    const path = join(folder, 'report.json');
    const writer = ReportFileWriter.open(path);
    for (const page of details) writer.append(page.map((detail) => JSON.stringify(detail)).join(','));
    writer.finish(head);
    await writer.publish();
    return readFileSync(path, 'utf8');
  }

  const details = [[{ assessment_id: 1 }, { assessment_id: 2 }], [{ assessment_id: 3 }]];

  it('a head that fits its room: the file parses to the head and every detail, in order, and nothing is left beside it', async () => {
    const head = { report_version: 2, summary: { migrated: 3 } };
    const text = await written(head, details);
    expect(JSON.parse(text)).toEqual({ ...head, details: details.flat() });
    // The head starts the file and the details follow its room, so nothing was copied to put the head first.
    expect(text.startsWith(`{\n  "report_version": 2,`)).toBe(true);
    expect(text.indexOf('\n    {"assessment_id":1}')).toBe(HEAD_ROOM_BYTES);
    expect(readdirSync(folder)).toEqual(['report.json']);
  });

  it('a head longer than its room: the report is still whole and valid, with no padding', async () => {
    const head = { report_version: 2, run: { database: { host: 'h'.repeat(HEAD_ROOM_BYTES * 2) } } };
    const text = await written(head, details);
    expect(JSON.parse(text)).toEqual({ ...head, details: details.flat() });
    expect(text).toContain(`}${DETAILS_OPENING}\n    {"assessment_id":1}`);
    expect(readdirSync(folder)).toEqual(['report.json']);
  });

  it('details given as UTF-8 parts make the same file as the same details given as text', async () => {
    const head = { report_version: 2 };
    const asText = await written(head, details);
    const path = join(folder, 'parts.json');
    const writer = ReportFileWriter.open(path);
    // A page in two parts, the second holding its separator, and a character of several bytes.
    writer.append([Buffer.from('{"assessment_id":1}'), Buffer.from(',{"assessment_id":2}')]);
    writer.append([Buffer.from('{"assessment_id":3,"é":"ü€"}')]);
    writer.finish(head);
    await writer.publish();
    const asParts = readFileSync(path, 'utf8');
    expect(JSON.parse(asParts)).toEqual({ ...head, details: [{ assessment_id: 1 }, { assessment_id: 2 }, { assessment_id: 3, é: 'ü€' }] });
    expect(asParts.replace(',"é":"ü€"', '')).toBe(asText);
  });

  it('no details: an empty array', async () => {
    const text = await written({ report_version: 2 }, []);
    expect(JSON.parse(text)).toEqual({ report_version: 2, details: [] });
  });

  it('discard() before finish leaves no file behind', () => {
    const writer = ReportFileWriter.open(join(folder, 'report.json'));
    writer.append(JSON.stringify({ assessment_id: 1 }));
    writer.discard();
    expect(readdirSync(folder)).toEqual([]);
  });
});
