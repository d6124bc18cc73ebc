import { SingleBar } from 'cli-progress';

export interface Progress {
  advance(rows: number): void;
  stop(): void;
}

export interface ProgressOptions {
  enabled: boolean;
  total: number;
  stream: NodeJS.WriteStream;
  /** TERM of the environment: `dumb` terminals get plain lines (they cannot move the cursor). */
  term?: string;
  /** What is counted, e.g. "assessments". */
  unit: string;
  /** Plain-line mode: at most one line per this many ms, or per 10% (whichever comes first). */
  intervalMs?: number;
  now?: () => number;
}

const NO_PROGRESS: Progress = { advance: () => undefined, stop: () => undefined };

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

/**
 * Progress on stderr: a bar on a terminal (cli-progress), periodic plain lines otherwise (CI and deploy logs),
 * nothing with --no-progress. Never on stdout, whose lines are the command's contract.
 */
export function createProgress(options: ProgressOptions): Progress {
  if (!options.enabled || options.total === 0) return NO_PROGRESS;
  const { term = process.env.TERM } = options;
  return options.stream.isTTY && term !== 'dumb' ? barProgress(options) : lineProgress(options);
}

function barProgress({ total, stream, unit }: ProgressOptions): Progress {
  const bar = new SingleBar({
    stream,
    format: `Migrating [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} rows/s | ETA {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
    fps: 10,
  });
  const started = Date.now();
  let done = 0;
  bar.start(total, 0, { rate: 0 });
  return {
    advance(rows) {
      done += rows;
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0 });
    },
    stop() {
      bar.stop();
    },
  };
}

function lineProgress({ total, stream, unit, intervalMs = 5000, now = Date.now }: ProgressOptions): Progress {
  const started = now();
  let done = 0;
  let lastAt = started;
  let lastDecile = 0;
  const print = () => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const percent = Math.floor((done / total) * 100);
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    stream.write(
      `Processed ${done}/${total} ${unit} (${percent}%), ${Math.round(rate)} rows/s, ETA ${formatSeconds(eta)}\n`,
    );
  };
  return {
    advance(rows) {
      done += rows;
      const decile = Math.floor((done / total) * 10);
      if (done < total && (now() - lastAt >= intervalMs || decile > lastDecile)) {
        lastAt = now();
        lastDecile = decile;
        print();
      }
    },
    stop() {
      // The final count is in the report itself; a last line only if one was printed before, to close the series.
      if (lastAt !== started || lastDecile > 0) print();
    },
  };
}
