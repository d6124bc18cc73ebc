import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CommandTestFactory } from 'nest-commander-testing';
import { childEnv } from './child-env';
import { pollUntil } from './poll';
import { AppModule } from '../../src/app.module';
import { isAlive } from '../../src/database/embedded-postgres.server';
import { CliOutput } from '../../src/cli/cli-output.service';
import { cliRunOptions } from '../../src/cli/cli-options';
import { INTERRUPTION, Interruption } from '../../src/cli/interruption';
import { PROCESS_ENV } from '../../src/cli/process-env';
import { QueryRunner } from 'typeorm';
import { AssessmentMigrationRepository, CandidateRow } from '../../src/equipment-migration/assessment-migration.repository';
import { MigrationRepositories } from '../../src/equipment-migration/migration-repositories';

/** Seams for tests that must interleave with a run deterministically (another session's update, say). */
export interface MigrationHooks {
  /** Called with each page's candidates after they are read and before they are classified and written. */
  afterPageRead?(candidates: CandidateRow[]): Promise<void>;
  /** Called with the ids a page wrote, once its write is done and its row locks are held (before its commit). */
  afterPageWrite?(written: number[]): Promise<void>;
}

/** The migration's repositories, with the hooks called where a test needs them (Nest's provider override is the seam). */
class HookedRepositories extends MigrationRepositories {
  constructor(private readonly hooks: MigrationHooks) {
    super();
  }

  override assessments(queryRunner: QueryRunner, runId: string, reader?: QueryRunner): AssessmentMigrationRepository {
    const repository = super.assessments(queryRunner, runId, reader);
    const { afterPageRead, afterPageWrite } = this.hooks;
    if (afterPageWrite) {
      const writePage = repository.writePage.bind(repository);
      repository.writePage = async (...args) => {
        const result = await writePage(...args);
        await afterPageWrite([...result.written]);
        return result;
      };
    }
    if (afterPageRead) {
      const readPage = repository.readPage.bind(repository);
      repository.readPage = async (...args) => {
        const page = await readPage(...args);
        await afterPageRead(page.rows);
        return page;
      };
    }
    return repository;
  }
}

export const PROJECT_ROOT = join(__dirname, '..', '..');

export interface CommandResult {
  exitCode: number;
  /** stdout lines (the contract lines). */
  stdout: string[];
  /** stderr lines (notes, warnings, errors). */
  stderr: string[];
}

/** Records what a command writes, instead of the terminal. */
export class RecordingOutput extends CliOutput {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly progress: string[] = [];

  constructor(private readonly onLine?: (line: string) => void) {
    super();
  }

  /** What the real output would write (lines already made safe by CliOutput), without the trailing newline. */
  protected override emit(stream: 'stdout' | 'stderr', text: string): void {
    (stream === 'stdout' ? this.stdout : this.stderr).push(text);
    if (stream === 'stdout') this.onLine?.(text);
  }

  override get progressStream(): NodeJS.WriteStream {
    const progress = this.progress;
    return { isTTY: false, write: (chunk: string) => progress.push(String(chunk).replace(/\n$/, '')) } as unknown as NodeJS.WriteStream;
  }
}

/**
 * Runs a command in-process through the Nest testing module (nest-commander's CommandTestFactory), with the same
 * error handling as the real CLI, against the given environment (usually a TestDatabase's env).
 */
export interface RunCommandOptions {
  /** Seams into the migration (e.g. another session's update between a page's read and its write). */
  hooks?: MigrationHooks;
  /** Raise it to interrupt the run as a signal would; a fresh one by default. */
  interruption?: Interruption;
  /** Called with each stdout line as the command writes it (to act at a given moment of the run). */
  onLine?: (line: string) => void;
}

export async function runCommand(args: string[], env: NodeJS.ProcessEnv, options: RunCommandOptions = {}): Promise<CommandResult> {
  const output = new RecordingOutput(options.onLine);
  let exitCode = 0;
  const runOptions = cliRunOptions(
    (code) => {
      exitCode = code;
    },
    (line) => output.stderr.push(line),
  );
  const moduleRef = await CommandTestFactory.createTestingCommand({ imports: [AppModule] }, runOptions)
    .overrideProvider(CliOutput)
    .useValue(output)
    .overrideProvider(PROCESS_ENV)
    .useValue(env)
    .overrideProvider(INTERRUPTION)
    .useValue(options.interruption ?? new Interruption())
    .overrideProvider(MigrationRepositories)
    .useValue(new HookedRepositories(options.hooks ?? {}))
    .compile();
  moduleRef.useLogger(false);
  await CommandTestFactory.run(moduleRef, args);
  return { exitCode, stdout: output.stdout, stderr: output.stderr };
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI entry (`node bin/cli.js …`, or `npm run cli …` with `viaNpm`) as a child process. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { viaNpm?: boolean; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  const [command, argv] = options.viaNpm
    ? ['npm', ['run', '--silent', 'cli', ...args]]
    : [process.execPath, [join(PROJECT_ROOT, 'bin', 'cli.js'), ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: PROJECT_ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit within ${options.timeoutMs ?? 30000} ms: ${args.join(' ')}\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}

/**
 * Removes an embedded-server data folder a test used (and its owner file). Should a command have left its server
 * running (a failed test), it is stopped first, so the folder is not removed under it.
 */
export async function removeEmbeddedDataDir(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
  if (pid > 0 && isAlive(pid)) {
    process.kill(pid, 'SIGINT');
    await pollUntil(() => isAlive(pid), (alive) => !alive);
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(`${dataDir}.owner`, { force: true });
}
