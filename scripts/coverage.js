'use strict';
// `npm run test:coverage`: line and branch coverage of src/, merged across both ways the tests run the code.
// - In-process (unit tests, runCommand): Jest's own V8 provider. c8 cannot map these: Jest runs SWC's output in a vm
//   sandbox under the .ts file's name, so c8 would read the TypeScript source against offsets into the compiled code.
// - CLI child processes (runCli, startCli, the reliability harness): NODE_V8_COVERAGE, which the test helpers pass on
//   (test/helpers/child-env.ts). bin/cli.js then loads dist/cli.js with Node's own loader, which records the bundle's
//   source map; c8 maps it back through SWC's maps to the src/ files.
// The two istanbul maps are merged (istanbul-lib-coverage, which c8 and Jest use) and reported together in coverage/.
// Extra arguments go to Jest (e.g. a test path).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { Report } = require('c8');
const libCoverage = require('istanbul-lib-coverage');
const libReport = require('istanbul-lib-report');
const reports = require('istanbul-reports');
const { ensureFreshBuild, ROOT } = require('./build-lib');

const OUT = path.join(ROOT, 'coverage');
const RAW = path.join(OUT, 'raw'); // what every Node process of the run writes (NODE_V8_COVERAGE)
const CLI_RAW = path.join(OUT, 'cli-raw'); // the CLI processes' part of it
const JEST_OUT = path.join(OUT, 'jest');
const DIST_URL = `${pathToFileURL(path.join(ROOT, 'dist')).href}/`;

/** src/**.ts without the specs: the files the report covers. */
function sourceFiles(dir = path.join(ROOT, 'src')) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path.relative(ROOT, file)] : [];
  });
}

/**
 * Keeps, of each raw V8 file, only the scripts loaded from dist/ (the CLI bundle, the per-file build). Jest's own
 * processes write raw files too, under the .ts names c8 cannot map (their coverage comes from Jest instead), and npm.
 */
function keepCliScripts() {
  fs.mkdirSync(CLI_RAW, { recursive: true });
  for (const name of fs.existsSync(RAW) ? fs.readdirSync(RAW) : []) {
    const raw = JSON.parse(fs.readFileSync(path.join(RAW, name), 'utf8'));
    const result = raw.result.filter((script) => script.url.startsWith(DIST_URL));
    if (result.length > 0) fs.writeFileSync(path.join(CLI_RAW, name), JSON.stringify({ ...raw, result }));
  }
}

async function main() {
  await ensureFreshBuild();
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(RAW, { recursive: true });
  const files = sourceFiles();
  const jest = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--coverage',
      '--coverageProvider=v8',
      '--coverageReporters=json',
      `--coverageDirectory=${JEST_OUT}`,
      ...files.map((file) => `--collectCoverageFrom=${file}`),
      ...process.argv.slice(2),
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_V8_COVERAGE: RAW } },
  );

  keepCliScripts();
  // The bundle's map also names TypeORM's own sources as ../src/…: only files that exist in src/ are included.
  const cli = new Report({
    include: files,
    exclude: [],
    excludeAfterRemap: true,
    reporter: [],
    tempDirectory: CLI_RAW,
    reportsDirectory: OUT,
    omitRelative: true,
    excludeNodeModules: true,
  });
  const map = libCoverage.createCoverageMap(await cli.getCoverageMapFromAllCoverageFiles());
  map.merge(JSON.parse(fs.readFileSync(path.join(JEST_OUT, 'coverage-final.json'), 'utf8')));

  const context = libReport.createContext({ dir: OUT, coverageMap: map, defaultSummarizer: 'nested' });
  for (const reporter of ['html', 'lcovonly', 'json', 'text', 'text-summary']) reports.create(reporter).execute(context);
  if (!process.env.COVERAGE_KEEP_RAW) for (const dir of [RAW, CLI_RAW]) fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = jest.status ?? 1;
}

main().catch((error) => {
  process.stderr.write(`coverage failed: ${error.stack}\n`);
  process.exitCode = 1;
});
