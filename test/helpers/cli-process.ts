import { ChildProcessByStdio, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { childEnv } from './child-env';
import { PROJECT_ROOT, ProcessResult } from './cli-harness';

/**
 * The real CLI (`node bin/cli.js …`) as a running child process that a test can watch and signal: wait for a line on
 * stdout or stderr, then send SIGINT/SIGTERM/SIGKILL, then await how it ended. The counterpart of runCli (which only
 * returns once the process has ended).
 */
export interface CliProcess {
  readonly pid: number;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Whether the process has not ended yet. */
  readonly running: boolean;
  /**
   * Resolves with the first match of `pattern` in everything the stream has carried so far or carries later; rejects
   * (with the child's output) when the process ends, or `timeoutMs` passes, without a match.
   */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal to this process (and only to it). */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends a signal to the child's whole process group (it and every process it started), as Ctrl-C at a terminal does.
   * Only for a child started with `processGroup: true`.
   */
  signalGroup(signal: NodeJS.Signals): void;
  /** Resolves when the process has ended and its output is closed; rejects when it outlives the harness timeout. */
  readonly exited: Promise<ProcessResult>;
  /** `exited`, but SIGKILLs the process and rejects (with its output) if it has not ended within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<ProcessResult>;
}

const live = new Set<ChildProcessByStdio<null, Readable, Readable>>();

export interface StartCliOptions {
  /** The harness gives up (SIGKILL, rejects `exited`) after this long; default 30 s. */
  timeoutMs?: number;
  /** Start the child as the leader of a new process group (like a job started from a shell), for signalGroup. */
  processGroup?: boolean;
}

/** Starts `node bin/cli.js <args>` with only PATH, HOME, LANG and `env` in its environment (childEnv). */
export function startCli(args: string[], env: NodeJS.ProcessEnv, options: StartCliOptions = {}): CliProcess {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'cli.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup === true,
  });
  if (child.pid === undefined) throw new Error(`could not start the CLI: ${args.join(' ')}`);
  live.add(child);
  const output = { stdout: '', stderr: '' };
  let ended = false;
  const describe = () => `--- stdout\n${output.stdout}\n--- stderr\n${output.stderr}`;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));

  const exited = new Promise<ProcessResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit within ${timeoutMs} ms: ${args.join(' ')}\n${describe()}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      ended = true;
      live.delete(child);
      resolve({ exitCode, signal, stdout: output.stdout, stderr: output.stderr });
    });
  });
  exited.catch(() => undefined); // a test that fails before awaiting it must not also see an unhandled rejection

  return {
    pid: child.pid,
    get stdout() {
      return output.stdout;
    },
    get stderr() {
      return output.stderr;
    },
    get running() {
      return !ended;
    },
    exited,
    signal(signal) {
      if (ended) throw new Error(`cannot send ${signal}: the CLI has already ended\n${describe()}`);
      process.kill(child.pid!, signal);
    },
    signalGroup(signal) {
      if (!options.processGroup) throw new Error('signalGroup needs a child started with processGroup: true');
      if (ended) throw new Error(`cannot send ${signal}: the CLI has already ended\n${describe()}`);
      process.kill(-child.pid!, signal);
    },
    waitForExit(waitMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`CLI did not exit within ${waitMs} ms\n${describe()}`));
          child.kill('SIGKILL');
        }, waitMs);
        exited.then(
          (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          (error) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
    },
    waitFor(stream, pattern, waitMs = timeoutMs) {
      return new Promise((resolve, reject) => {
        const source = child[stream];
        const check = () => {
          const match = output[stream].match(pattern);
          if (!match) return false;
          done();
          resolve(match);
          return true;
        };
        const onData = () => void setImmediate(check); // after the accumulating listener has run
        const onClose = () => {
          if (check()) return;
          done();
          reject(new Error(`the CLI ended without ${pattern} on ${stream}\n${describe()}`));
        };
        const timer = setTimeout(() => {
          if (check()) return;
          done();
          reject(new Error(`no ${pattern} on ${stream} within ${waitMs} ms\n${describe()}`));
        }, waitMs);
        const done = () => {
          clearTimeout(timer);
          source.off('data', onData);
          child.off('close', onClose);
        };
        if (check()) return;
        if (ended) return onClose();
        source.on('data', onData);
        child.on('close', onClose);
      });
    },
  };
}

/** SIGKILLs the children startCli started that are still running (after a failed test), and waits for them. */
export async function killStrayProcesses(): Promise<void> {
  const children = [...live];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Asserts how a child ended; on a mismatch the failure message carries its stdout and stderr. */
export function expectExit(result: ProcessResult, code: number): void {
  const received = `exit ${result.exitCode}, signal ${result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  expect(received).toMatch(new RegExp(`^exit ${code}, signal null\n`));
}
