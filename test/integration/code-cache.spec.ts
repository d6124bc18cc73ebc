import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/cli-harness';
import { pollUntil } from '../helpers/poll';

/**
 * bin/run-bundle.js keeps V8's code cache beside the bundle. It is written once start-up is over, not at the exit of a
 * long run (whose cache would lack the start-up code V8 flushed meanwhile, and would slow every later start).
 */
describe('the bundle code cache (bin/run-bundle.js)', () => {
  let folder: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'code-cache-'));
  });
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
    rmSync(folder, { recursive: true, force: true });
  });

  /** A bundle that runs for RUN_MS milliseconds, then exits. */
  function bundle(): string {
    const file = join(folder, 'bundle.js');
    writeFileSync(file, 'function work() { return 42; }\nwork();\nsetTimeout(() => process.exit(0), Number(process.env.RUN_MS));\n');
    return file;
  }

  const run = (file: string) => ['-e', `require(${JSON.stringify(join(PROJECT_ROOT, 'bin', 'run-bundle.js'))}).runBundle(${JSON.stringify(file)})`];
  const env = (runMs: number) => ({ PATH: process.env.PATH, RUN_MS: String(runMs) });

  it('is written while a long run is still going, and accepted by the next run', async () => {
    const file = bundle();
    child = spawn(process.execPath, run(file), { stdio: 'ignore', env: env(60_000) });
    const written = await pollUntil(() => existsSync(`${file}.cache`), Boolean, { timeoutMs: 20_000 });
    expect(written).toBe(true);
    expect(child.exitCode).toBeNull(); // still running: not written at its exit
    const cache = readFileSync(`${file}.cache`);
    expect(cache.toString('latin1').split('\n')[0]).toMatch(/^\d+:[\d.]+:v\d+/);
    // The next run finds it valid, so it leaves it as it is.
    expect(spawnSync(process.execPath, run(file), { env: env(0) }).status).toBe(0);
    expect(readFileSync(`${file}.cache`).equals(cache)).toBe(true);
  });

  it('is written at exit by a run shorter than start-up', () => {
    const file = bundle();
    expect(spawnSync(process.execPath, run(file), { env: env(0) }).status).toBe(0);
    expect(existsSync(`${file}.cache`)).toBe(true);
  });
});
