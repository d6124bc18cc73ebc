import { createProgress } from './progress';

/** A stream that records what is written, as a terminal (isTTY) or a pipe. */
function recordingStream(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, columns: 80, write: (chunk: string) => (written.push(String(chunk)), true), cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => stream, removeListener: () => stream };
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

describe('createProgress', () => {
  it('draws no cursor escapes on a dumb terminal: plain lines instead', () => {
    const { stream, written } = recordingStream(true);
    let now = 0;
    const progress = createProgress({ enabled: true, total: 10, stream, unit: 'assessments', term: 'dumb', now: () => now });
    now = 6000;
    progress.advance(5);
    progress.stop();
    expect(written.join('')).not.toMatch(/\u001b/);
    expect(written.join('')).toMatch(/^Processed 5\/10 assessments \(50%\)/m);
  });

  it('prints nothing when disabled', () => {
    const { stream, written } = recordingStream(true);
    const progress = createProgress({ enabled: false, total: 10, stream, unit: 'assessments' });
    progress.advance(10);
    progress.stop();
    expect(written).toEqual([]);
  });
});
