#!/usr/bin/env node
'use strict';
// `npm run bench -- --rows N [--rows M] [--batch-size B] [--repeat R] [--fresh]`
// Generates N assessments (the realistic mix) in a template database, then measures, each as a separate process on
// a fresh copy: the plain SQL floor, the audit floor, migrate-equipment --dry-run, migrate-equipment (real), and a
// naive TypeORM loop; then the app's view (issue 13): the app's write latency, from a second process
// (bench/app-load.js), while (a) nothing, (b) the atomic real run, (c) the online real run works on a fresh copy;
// then the CLI's start-up (`node bin/cli.js --help`, median of 5).
// Prints wall seconds, rows/s, peak RSS and the ratio to the plain floor, the issues' targets beside the figures and
// which hold; writes the figures to bench/results/.
require('reflect-metadata');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client } = require('pg');
const { ensureFreshBuild, ROOT } = require('../scripts/build-lib');

const DIST = path.join(ROOT, 'dist', 'src');
const { DataSource } = require('typeorm');
// Loaded after the build (main() awaits ensureFreshBuild()), so they are the current sources.
let BASE_DATA_SOURCE_OPTIONS, startEmbeddedPostgres, generateSampleAssessments, expectedOutcomes, SampleDataRepository;
let assessmentColumns, canonicalAndConsistent;
function loadDist() {
  ({ BASE_DATA_SOURCE_OPTIONS } = require(path.join(DIST, 'database/data-source-options.js')));
  ({ startEmbeddedPostgres } = require(path.join(DIST, 'database/embedded-postgres.server.js')));
  ({ generateSampleAssessments, expectedOutcomes } = require(path.join(DIST, 'demo/sample-assessments.js')));
  ({ SampleDataRepository } = require(path.join(DIST, 'demo/sample-data.repository.js')));
  ({ assessmentColumns } = require(path.join(DIST, 'database/assessment-columns.js')));
  ({ canonicalAndConsistent } = require(path.join(DIST, 'equipment-migration/skip-predicate.js')));
}

// The issues' targets (issue 14, and issue 13's app's view), printed beside the figures.
const TARGETS = {
  realToFloor: 2.5,
  realToAuditFloor: 1.5,
  peakRssMb: 200,
  rssGrowthMb: 30,
  startupSeconds: 0.45,
  onlineAppP99Ms: 50,
  onlineAppMaxMs: 1000,
  onlineToAtomic: 1.5,
};
const STARTUP_RUNS = 5;
// The app's load of issue 13: 4 clients, 200 single-row writes per second in all; (a) runs it alone this long.
const APP_LOAD = { clients: 4, ratePerSecond: 200, aloneSeconds: 5 };

const GENERATOR_VERSION = 2; // bump when the sample data changes, so old templates are not reused
const NAIVE_MAX_ROWS = 100_000;
const SAMPLE_OPTIONS = (rows) => ({ count: rows, seed: 42, emailPrefix: 'bench.' }); // the realistic mix
const RESULTS = path.join(ROOT, 'bench', 'results');

const USAGE = 'npm run bench -- --rows N [--rows M] [--batch-size B] [--repeat R] [--fresh]';
/**
 * How many times the floors and the two runs are measured at a size (alternating, each on a fresh copy) when
 * --repeat is not given: the median is what is printed and compared. A single run carries a second of this
 * machine's noise at 1,000,000 rows; beyond that size one round already takes minutes.
 */
const defaultRepeat = (rows) => (rows <= 1_000_000 ? 3 : 1);

function parseArgs(argv) {
  const options = { rows: [], batchSize: undefined, fresh: false, repeat: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--rows') options.rows.push(...argv[++i].split(',').map((v) => Number(v.replace(/_/g, ''))));
    else if (arg === '--batch-size') options.batchSize = Number(argv[++i]);
    else if (arg === '--fresh') options.fresh = true;
    else if (arg === '--repeat') options.repeat = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg} (usage: ${USAGE})`);
  }
  if (options.rows.length === 0) options.rows.push(100_000);
  for (const n of options.rows) if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--rows must be a positive integer`);
  if (options.repeat !== undefined && !(Number.isSafeInteger(options.repeat) && options.repeat >= 1)) throw new Error(`--repeat must be a positive integer`);
  return options;
}

function urlFor(adminUrl, database) {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(adminUrl, sql) {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function withDataSource(url, work) {
  const dataSource = new DataSource({ ...BASE_DATA_SOURCE_OPTIONS, url });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

async function ensureTemplate(adminUrl, rows, fresh) {
  const name = `bench_template_v${GENERATOR_VERSION}_${rows}`;
  const exists = (await admin(adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).rowCount > 0;
  if (exists && !fresh) {
    // A template from an earlier schema gets the newer migrations (the data stays).
    await withDataSource(urlFor(adminUrl, name), (dataSource) => dataSource.runMigrations());
    return name;
  }
  if (exists) await admin(adminUrl, `DROP DATABASE "${name}" WITH (FORCE)`);
  const started = Date.now();
  await admin(adminUrl, `CREATE DATABASE "${name}"`);
  await withDataSource(urlFor(adminUrl, name), async (dataSource) => {
    await dataSource.runMigrations();
    const queryRunner = dataSource.createQueryRunner();
    await queryRunner.connect();
    const repository = new SampleDataRepository(queryRunner);
    let batch = [];
    for (const sample of generateSampleAssessments(SAMPLE_OPTIONS(rows))) {
      batch.push(sample);
      if (batch.length === 10_000) {
        await repository.insert(batch);
        batch = [];
      }
    }
    await repository.insert(batch);
    await queryRunner.query('VACUUM (FREEZE, ANALYZE)');
    await queryRunner.release();
  });
  process.stderr.write(`bench: generated ${rows} assessments in ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return name;
}

async function freshCopy(adminUrl, template, label) {
  const name = `bench_${label}_${process.pid}`;
  await dropDatabase(adminUrl, name);
  await admin(adminUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  // Copying a database dirties everything it copies: flush it now, so no measurement pays for the copy's checkpoint.
  await admin(adminUrl, 'CHECKPOINT').catch(() => undefined);
  await waitForAutovacuumIdle(adminUrl);
  return name;
}

async function dropDatabase(adminUrl, name) {
  await admin(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
}

const AUTOVACUUM_WAIT_SECONDS = 120;

/**
 * A rolled-back UPDATE of a fifth of the table leaves as many dead row versions, past autovacuum's threshold: on a
 * copy kept after its measurement, autovacuum would work through the next measurement (on two cores, up to 2 s in
 * 8 s at 1,000,000 rows). Copies are dropped once measured; this waits for any worker still running, bounded.
 */
async function waitForAutovacuumIdle(adminUrl) {
  const started = Date.now();
  for (;;) {
    const { rows } = await admin(adminUrl, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'");
    const waited = (Date.now() - started) / 1000;
    if (rows[0].n === 0) {
      if (waited >= 1) process.stderr.write(`bench: waited ${waited.toFixed(1)} s for autovacuum to finish\n`);
      return;
    }
    if (waited >= AUTOVACUUM_WAIT_SECONDS) {
      process.stderr.write(`bench: autovacuum still running after ${AUTOVACUUM_WAIT_SECONDS} s; measuring anyway\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs a command as a separate process; returns wall seconds, the peak RSS of its Node processes, and its output. */
function measure(command, args, env) {
  const rssDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rss-'));
  const probe = path.join(__dirname, 'rss-probe.js');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_OPTIONS: `--require ${probe}`, BENCH_RSS_DIR: rssDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const records = fs.readdirSync(rssDir).map((f) => JSON.parse(fs.readFileSync(path.join(rssDir, f), 'utf8')));
      fs.rmSync(rssDir, { recursive: true, force: true });
      // The measured program's own process (not npm's wrapper): the largest Node process but npm itself.
      const own = records.filter((r) => !r.argv.some((a) => /npm-cli\.js$|\/npm$/.test(a)));
      const peakRssMb = Math.max(0, ...(own.length ? own : records).map((r) => r.maxRssKb)) / 1024;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stdout}\n${stderr}`));
      else resolve({ seconds, peakRssMb, stdout, stderr });
    });
  });
}

/**
 * Runs `work` while bench/app-load.js drives the app's writes against `url`: the load is started and connected
 * first, stopped as soon as `work` ends, and its figures (latency from each write's due time) are returned with
 * `work`'s result. The load's stdin is a pipe, so it also stops if the bench dies.
 */
function underAppLoad(url, work) {
  const child = spawn(process.execPath, [path.join(__dirname, 'app-load.js'), '--clients', String(APP_LOAD.clients), '--rate', String(APP_LOAD.ratePerSecond)], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`bench/app-load.js exited ${code}\n${stderr}`))));
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => {
      stdout += c;
      if (/^ready$/m.test(stdout)) resolve();
    });
    exited.then(() => reject(new Error('bench/app-load.js ended before it was ready')), reject);
  });
  child.stderr.on('data', (c) => (stderr += c));
  const stopLoad = async () => {
    child.stdin.end('stop\n');
    await exited;
    return JSON.parse(stdout.trim().split('\n').pop());
  };
  return ready.then(async () => {
    let result;
    try {
      result = await work();
    } catch (error) {
      await stopLoad().catch(() => undefined);
      throw error;
    }
    return { ...result, load: await stopLoad() };
  });
}

/** Whether the CLI has the online mode (issue 13) yet: its --help names `--online`. */
function onlineModeAvailable() {
  const help = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cli.js'), 'migrate-equipment', '--help'], { cwd: ROOT, encoding: 'utf8' });
  return /(^|\s)--online\b/m.test(help);
}

/**
 * The report's summary (a flat object of counts near the top, after the run's metadata), read from the file's head:
 * at 10,000,000 rows the whole report is beyond V8's longest string.
 */
function readSummary(file) {
  const head = Buffer.alloc(64 * 1024);
  const fd = fs.openSync(file, 'r');
  let length;
  try {
    length = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const match = /\n  "summary": (\{[^{}]*\})/.exec(head.subarray(0, length).toString('utf8'));
  if (!match) throw new Error(`${file}: no "summary" object in its first ${head.length} bytes`);
  return JSON.parse(match[1]);
}

async function checkFinalState(url, expected, summary) {
  return withDataSource(url, async (dataSource) => {
    const queryRunner = dataSource.createQueryRunner();
    await queryRunner.connect();
    try {
      const [row] = await queryRunner.query(
        `SELECT count(*)::int AS remaining, count(*) FILTER (WHERE a.equipment_reassessment_required)::int AS flagged
           FROM assessments a WHERE NOT ${canonicalAndConsistent(assessmentColumns(dataSource), 'a')}`,
      );
      const problems = [];
      if (row.remaining !== summary.errors) problems.push(`${row.remaining} rows still need migrating, expected only the ${summary.errors} error rows`);
      for (const [key, category] of [['migrated', 'migrate'], ['flagged', 'flag'], ['errors', 'error'], ['skipped', 'valid']]) {
        if (summary[key] !== expected[category]) problems.push(`${key}: ${summary[key]}, the generated mix has ${expected[category]}`);
      }
      return problems;
    } finally {
      await queryRunner.release();
    }
  });
}

/** The rows the floors must update: the array rows that migrate and every flag row of the generated data. */
function expectedFloorRows(rows) {
  let n = 0;
  for (const s of generateSampleAssessments(SAMPLE_OPTIONS(rows))) {
    if (s.category === 'flag' || (s.category === 'migrate' && s.equipmentJson?.startsWith('['))) n += 1;
  }
  return n;
}

/** The rows the real run changed among those cases, from its own audit rows (array or basic_equipment before). */
async function realFloorCaseRows(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM equipment_migration_changes
        WHERE jsonb_typeof(previous_equipment) = 'array' OR previous_equipment = '"basic_equipment"'::jsonb`,
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measureStartup() {
  const seconds = [];
  for (let i = 0; i < STARTUP_RUNS; i += 1) seconds.push((await measure(process.execPath, [path.join(ROOT, 'bin', 'cli.js'), '--help'], {})).seconds);
  return { runs: seconds, medianSeconds: median(seconds) };
}

const verdict = (holds) => (holds ? 'holds' : 'MISSED');

function fmt(n, digits = 2) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function benchOne(adminUrl, rows, options) {
  const template = await ensureTemplate(adminUrl, rows, options.fresh);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-reports-'));
  const batchArgs = options.batchSize ? ['--batch-size', String(options.batchSize)] : [];
  const results = {};
  const copies = [];
  const repeat = options.repeat ?? defaultRepeat(rows);
  const rounds = {}; // label -> every round's measurement
  // `inspect`, if given, reads the copy after the measurement; then the copy is dropped (see waitForAutovacuumIdle).
  const run = async (label, command, args, inspect) => {
    const db = await freshCopy(adminUrl, template, label);
    copies.push(db);
    const round = label === 'naive' || repeat === 1 ? '' : ` (${(rounds[label]?.length ?? 0) + 1} of ${repeat})`; // the naive loop runs once
    process.stderr.write(`bench: ${rows} rows: ${label}${round}...\n`);
    const result = await measure(command, args, { DATABASE_URL: urlFor(adminUrl, db) });
    if (inspect) result.inspected = await inspect(urlFor(adminUrl, db));
    (rounds[label] ??= []).push(result);
    await dropDatabase(adminUrl, db);
  };
  try {
    // Alternating rounds, so that the machine's drift over the minutes falls on every measurement alike.
    for (let round = 0; round < repeat; round += 1) {
      await run('floor', process.execPath, [path.join(__dirname, 'sql-floor.js')]);
      await run('auditFloor', process.execPath, [path.join(__dirname, 'sql-floor.js'), '--audit']);
      await run('dry', 'npm', ['run', '--silent', 'cli', '--', 'migrate-equipment', '--dry-run', '--save-report', path.join(tmp, 'dry.json'), ...batchArgs], async () => ({
        summary: readSummary(path.join(tmp, 'dry.json')),
      }));
      await run('real', 'npm', ['run', '--silent', 'cli', '--', 'migrate-equipment', '--save-report', path.join(tmp, 'real.json'), ...batchArgs], async (url) => {
        const summary = readSummary(path.join(tmp, 'real.json'));
        return { summary, finalState: await checkFinalState(url, expectedOutcomes(SAMPLE_OPTIONS(rows)), summary), caseRows: await realFloorCaseRows(url) };
      });
    }
    // The median round of each measurement (by wall time); every round is checked below.
    for (const [label, list] of Object.entries(rounds)) {
      // Peak RSS: the largest of the rounds, not the median's.
      results[label] = { ...[...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)], peakRssMb: Math.max(...list.map((r) => r.peakRssMb)) };
    }
    const real = results.real.inspected.summary;
    const naiveRows = Math.min(rows, NAIVE_MAX_ROWS);
    await run('naive', process.execPath, [path.join(__dirname, 'naive-typeorm.js'), String(naiveRows)]);
    results.naive = rounds.naive[0];

    const problems = [];
    const floorRows = expectedFloorRows(rows);
    for (const { inspected } of rounds.dry) {
      if (JSON.stringify(inspected.summary) !== JSON.stringify(real)) problems.push(`dry run and real run differ: ${JSON.stringify(inspected.summary)} vs ${JSON.stringify(real)}`);
    }
    for (const { inspected } of rounds.real) {
      if (JSON.stringify(inspected.summary) !== JSON.stringify(real)) problems.push(`two real runs differ: ${JSON.stringify(inspected.summary)} vs ${JSON.stringify(real)}`);
      problems.push(...inspected.finalState);
      if (inspected.caseRows !== floorRows) problems.push(`the real run changed ${inspected.caseRows} array and flag rows, the generated data has ${floorRows}`);
    }
    for (const [label, what, noun] of [['floor', 'the plain floor', 'rows'], ['auditFloor', 'the audit floor', 'audit rows']]) {
      for (const r of rounds[label]) {
        const { updated } = JSON.parse(r.stdout);
        if (updated !== floorRows) problems.push(`${what} wrote ${updated} ${noun}, the generated data has ${floorRows} array and flag cases`);
      }
    }
    const floor = JSON.parse(results.floor.stdout);
    const auditFloor = JSON.parse(results.auditFloor.stdout);
    if (problems.length > 0) throw new Error(`bench: check failed for ${rows} rows:\n  ${problems.join('\n  ')}`);

    const naive = JSON.parse(results.naive.stdout);
    const lines = [
      { name: 'plain floor (one UPDATE, rolled back)', seconds: results.floor.seconds, rows, rss: results.floor.peakRssMb },
      { name: 'audit floor (UPDATE + audit INSERT, rolled back)', seconds: results.auditFloor.seconds, rows, rss: results.auditFloor.peakRssMb },
      { name: 'migrate-equipment --dry-run --save-report', seconds: results.dry.seconds, rows, rss: results.dry.peakRssMb },
      { name: 'migrate-equipment --save-report (real)', seconds: results.real.seconds, rows, rss: results.real.peakRssMb },
      { name: `naive TypeORM find()/save() (${naive.rows} rows)`, seconds: naive.seconds, rows: naive.rows, rss: results.naive.peakRssMb },
    ];
    const floorSeconds = results.floor.seconds;
    process.stdout.write(`\n${rows.toLocaleString('en-US')} assessments (${real.migrated} migrated, ${real.flagged} flagged, ${real.skipped} skipped, ${real.errors} errors); plain floor statement ${fmt(floor.statementSeconds)} s, audit floor statement ${fmt(auditFloor.statementSeconds)} s, ${floor.updated} rows each (= the real run's array and flag rows)\n`);
    if (repeat > 1) process.stdout.write(`floors, dry and real run: the median of ${repeat} alternating rounds, each on a fresh copy (every round in bench/results/)\n`);
    process.stdout.write(`${'measurement'.padEnd(50)} ${'wall s'.padStart(8)} ${'rows/s'.padStart(11)} ${'peak RSS MB'.padStart(12)} ${'× plain floor'.padStart(14)}\n`);
    for (const l of lines) {
      const rate = l.rows / l.seconds;
      process.stdout.write(`${l.name.padEnd(50)} ${fmt(l.seconds).padStart(8)} ${Math.round(rate).toLocaleString('en-US').padStart(11)} ${fmt(l.rss, 1).padStart(12)} ${fmt(l.seconds / floorSeconds).padStart(14)}\n`);
    }
    const realRate = rows / results.real.seconds;
    const naiveRate = naive.rows / naive.seconds;
    process.stdout.write(`real run vs naive loop: ${fmt(realRate / naiveRate, 1)}× the rows/s\n`);
    if (repeat > 1) {
      // The median round hides how far the rounds spread on a noisy machine: each round's figures, in order, and the
      // real run's ratios round by round (each round's floors and runs ran one after the other).
      const seconds = (label) => rounds[label].map((r) => fmt(r.seconds)).join(', ');
      process.stdout.write(`rounds (s): plain floor ${seconds('floor')}; audit floor ${seconds('auditFloor')}; dry run ${seconds('dry')}; real run ${seconds('real')}\n`);
      const perRound = (floorLabel) => rounds.real.map((r, i) => `${fmt(r.seconds / rounds[floorLabel][i].seconds)}×`).join(', ');
      process.stdout.write(`real run round by round: ${perRound('floor')} the plain floor; ${perRound('auditFloor')} the audit floor\n`);
    }
    const toFloor = results.real.seconds / floorSeconds;
    const toAuditFloor = results.real.seconds / results.auditFloor.seconds;
    process.stdout.write(`target: real run ≤ ${TARGETS.realToFloor}× the plain floor: ${fmt(toFloor)}× (${verdict(toFloor <= TARGETS.realToFloor)})\n`);
    process.stdout.write(`target: real run ≤ ${TARGETS.realToAuditFloor}× the audit floor: ${fmt(toAuditFloor)}× (${verdict(toAuditFloor <= TARGETS.realToAuditFloor)})\n`);
    const peak = Math.max(results.real.peakRssMb, results.dry.peakRssMb);
    process.stdout.write(`target: peak RSS (dry and real run) ≤ ${TARGETS.peakRssMb} MB: ${fmt(peak, 1)} MB (${verdict(peak <= TARGETS.peakRssMb)})\n`);
    const appView = await benchAppView(adminUrl, template, rows, tmp, batchArgs, real, options.onlineAvailable);
    return {
      rows,
      summary: real,
      roundsSeconds: Object.fromEntries(Object.entries(rounds).map(([label, list]) => [label, list.map((r) => r.seconds)])),
      floor: { wallSeconds: floorSeconds, statementSeconds: floor.statementSeconds, updated: floor.updated, peakRssMb: results.floor.peakRssMb },
      auditFloor: {
        wallSeconds: results.auditFloor.seconds,
        statementSeconds: auditFloor.statementSeconds,
        auditRows: auditFloor.updated,
        peakRssMb: results.auditFloor.peakRssMb,
        ratioToFloor: results.auditFloor.seconds / floorSeconds,
      },
      dryRun: { wallSeconds: results.dry.seconds, peakRssMb: results.dry.peakRssMb, ratioToFloor: results.dry.seconds / floorSeconds },
      realRun: { wallSeconds: results.real.seconds, peakRssMb: results.real.peakRssMb, ratioToFloor: results.real.seconds / floorSeconds, ratioToAuditFloor: results.real.seconds / results.auditFloor.seconds, rowsPerSecond: realRate },
      naive: { rows: naive.rows, seconds: naive.seconds, rowsPerSecond: naiveRate, peakRssMb: results.naive.peakRssMb },
      realVsNaive: realRate / naiveRate,
      appView,
    };
  } finally {
    for (const db of copies) await dropDatabase(adminUrl, db);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const APP_WRITE_SQL = 'UPDATE assessments SET updated_at = now() WHERE id = $1';
const ONLINE_MISSING = 'not available (no --online yet)';

/**
 * The app's view (issue 13): while (a) nothing, (b) the atomic real run, (c) the online real run works on a fresh
 * copy, bench/app-load.js drives the app's writes; prints the app's write latency and each run's wall time, with the
 * targets. Each run under load must reach the same summary as the real run without load (the app's writes leave the
 * equipment alone) and leave the table migrated; problems are returned, not thrown, so the figures are still printed.
 */
async function benchAppView(adminUrl, template, rows, tmp, batchArgs, unloadedSummary, onlineAvailable) {
  const view = { load: { ...APP_LOAD, statement: APP_WRITE_SQL, latencyFrom: 'each write\'s due time (open-loop schedule)' }, problems: [] };
  // `work` runs under the load; `check`, if any, after the load has stopped (so it is not in the load's window).
  const underLoad = async (label, work, check) => {
    const db = await freshCopy(adminUrl, template, label);
    const url = urlFor(adminUrl, db);
    process.stderr.write(`bench: ${rows} rows: app's view, ${label}...\n`);
    try {
      const result = await underAppLoad(url, () => work(url));
      if (check) await check(url, result);
      return result;
    } finally {
      await dropDatabase(adminUrl, db);
    }
  };
  const realRun = (label, extraArgs) => {
    const file = path.join(tmp, `${label}.json`);
    const args = ['run', '--silent', 'cli', '--', 'migrate-equipment', ...extraArgs, '--save-report', file, ...batchArgs];
    const run = (url) =>
      measure('npm', args, { DATABASE_URL: url }).catch((error) => {
        const lines = error.message.split('\n').filter((l) => l.trim());
        return { failed: lines.length > 1 ? `${lines[0]}: ${lines[lines.length - 1].trim()}` : lines[0] };
      });
    const check = async (url, result) => {
      if (result.failed) return view.problems.push(`${label}: ${result.failed}`);
      const summary = readSummary(file);
      if (JSON.stringify(summary) !== JSON.stringify(unloadedSummary)) {
        view.problems.push(`${label}: under the app's load the summary is ${JSON.stringify(summary)}, without it ${JSON.stringify(unloadedSummary)}`);
      }
      view.problems.push(...(await checkFinalState(url, expectedOutcomes(SAMPLE_OPTIONS(rows)), summary)).map((p) => `${label}: ${p}`));
    };
    return underLoad(label, run, check);
  };

  view.alone = await underLoad('appAlone', () => new Promise((resolve) => setTimeout(() => resolve({ seconds: APP_LOAD.aloneSeconds }), APP_LOAD.aloneSeconds * 1000)));
  view.atomic = await realRun('appAtomic', []);
  view.online = onlineAvailable ? await realRun('appOnline', ['--online']) : { notAvailable: ONLINE_MISSING };

  const strip = ({ stdout, stderr, ...rest }) => rest; // the results file keeps figures, not the runs' output
  for (const key of ['alone', 'atomic', 'online']) view[key] = strip(view[key]);

  process.stdout.write(
    `\napp's view: ${APP_LOAD.clients} clients, ${APP_LOAD.ratePerSecond} writes/s in all (\`${APP_WRITE_SQL}\`, random ids), open loop; latency from each write's due time\n`,
  );
  process.stdout.write(`${'while'.padEnd(50)} ${'wall s'.padStart(8)} ${'writes'.padStart(7)} ${'errors'.padStart(7)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)}\n`);
  const row = (name, r, wall) => {
    if (r.notAvailable || r.failed) return process.stdout.write(`${name.padEnd(50)} ${r.notAvailable ?? `failed: ${r.failed}`}\n`);
    const l = r.load;
    const ms = (v) => (v === null ? '—' : fmt(v, 1)).padStart(9);
    process.stdout.write(`${name.padEnd(50)} ${wall.padStart(8)} ${String(l.count).padStart(7)} ${String(l.errors).padStart(7)} ${ms(l.p50Ms)} ${ms(l.p99Ms)} ${ms(l.maxMs)}\n`);
  };
  row(`(a) no run (the load alone, ${APP_LOAD.aloneSeconds} s)`, view.alone, '—');
  row('(b) migrate-equipment (atomic, real)', view.atomic, view.atomic.seconds === undefined ? '' : fmt(view.atomic.seconds));
  row('(c) migrate-equipment --online (real)', view.online, view.online.seconds === undefined ? '' : fmt(view.online.seconds));

  const online = view.online;
  if (online.load && !online.failed) {
    process.stdout.write(`target: app's p99 write latency during the online run ≤ ${TARGETS.onlineAppP99Ms} ms: ${fmt(online.load.p99Ms, 1)} ms (${verdict(online.load.p99Ms <= TARGETS.onlineAppP99Ms)})\n`);
    process.stdout.write(`target: app's max write latency during the online run ≤ ${fmt(TARGETS.onlineAppMaxMs, 0)} ms: ${fmt(online.load.maxMs, 1)} ms (${verdict(online.load.maxMs <= TARGETS.onlineAppMaxMs)})\n`);
    if (!view.atomic.failed) {
      view.onlineToAtomic = online.seconds / view.atomic.seconds;
      process.stdout.write(`target: online run's wall time ≤ ${TARGETS.onlineToAtomic}× the atomic run's (both under the load): ${fmt(view.onlineToAtomic)}× (${verdict(view.onlineToAtomic <= TARGETS.onlineToAtomic)})\n`);
    }
  } else {
    const why = online.notAvailable ?? 'not measured (the online run failed)';
    process.stdout.write(`target: app's p99 write latency during the online run ≤ ${TARGETS.onlineAppP99Ms} ms: ${why}\n`);
    process.stdout.write(`target: app's max write latency during the online run ≤ ${fmt(TARGETS.onlineAppMaxMs, 0)} ms: ${why}\n`);
    process.stdout.write(`target: online run's wall time ≤ ${TARGETS.onlineToAtomic}× the atomic run's (both under the load): ${why}\n`);
  }
  for (const p of view.problems) process.stdout.write(`check failed: ${p}\n`);
  return view;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  await ensureFreshBuild();
  loadDist();
  options.onlineAvailable = onlineModeAvailable();
  let adminUrl = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
  let embedded;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(ROOT, '.data', 'bench-postgres') });
    adminUrl = `postgres://${embedded.user}:${embedded.password}@${embedded.host}:${embedded.port}/postgres`;
    process.stderr.write(`bench: embedded PostgreSQL on ${embedded.host}:${embedded.port} (data in .data/bench-postgres)\n`);
  }
  try {
    const [{ version }] = (await admin(adminUrl, 'SHOW server_version')).rows.map((r) => ({ version: r.server_version }));
    const figures = [];
    for (const rows of options.rows) figures.push(await benchOne(adminUrl, rows, options));
    if (figures.length > 1) {
      const [small, large] = [figures[0], figures[figures.length - 1]];
      process.stdout.write(`\npeak RSS of the real run: ${fmt(small.realRun.peakRssMb, 1)} MB at ${small.rows} rows, ${fmt(large.realRun.peakRssMb, 1)} MB at ${large.rows} rows (+${fmt(large.realRun.peakRssMb - small.realRun.peakRssMb, 1)} MB)\n`);
      const growth = large.realRun.peakRssMb - small.realRun.peakRssMb;
      process.stdout.write(`target: peak RSS growth ≤ +${TARGETS.rssGrowthMb} MB from the smallest to the largest size: ${growth >= 0 ? '+' : ''}${fmt(growth, 1)} MB (${verdict(growth <= TARGETS.rssGrowthMb)})\n`);
    }
    process.stderr.write('bench: start-up...\n');
    const startup = await measureStartup();
    process.stdout.write(`\nstart-up: node bin/cli.js --help, median of ${STARTUP_RUNS}: ${fmt(startup.medianSeconds)} s (runs ${startup.runs.map((x) => fmt(x)).join(', ')})\n`);
    process.stdout.write(`target: start-up ≤ ${TARGETS.startupSeconds} s: ${fmt(startup.medianSeconds)} s (${verdict(startup.medianSeconds <= TARGETS.startupSeconds)})\n`);
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, postgres: version };
    fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, batchSize: options.batchSize ?? 'default', targets: TARGETS, startup, figures }, null, 2));
    process.stdout.write(`\nfigures written to ${path.relative(process.cwd(), file)}\n`);
    const problems = figures.flatMap((f) => f.appView.problems.map((p) => `${f.rows} rows: ${p}`));
    if (problems.length > 0) throw new Error(`bench: check failed under the app's load:\n  ${problems.join('\n  ')}`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error.message}\n`);
  process.exit(1);
});
