#!/usr/bin/env node
'use strict';
// `npm run demo`: the guide's workflow on a deterministic sample, on the embedded PostgreSQL by default
// (or on DATABASE_URL / PG* when set): seed, dry run, real run with a report, then the guide's jq query.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ensureFreshBuild, ROOT } = require('./build-lib');

const REPORT = path.join('.data', 'demo-report.json');
const JQ_FILTER = '.details[] | select(.status=="flagged") | .user_email';
const external = Boolean(process.env.DATABASE_URL || ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE'].some((k) => process.env[k]));

function step(title, args, { script = 'bin/cli.js', allowed = [0] } = {}) {
  process.stdout.write(`\n$ ${title}\n`);
  const result = spawnSync(process.execPath, [path.join(ROOT, script), ...args], { stdio: 'inherit', cwd: ROOT });
  if (!allowed.includes(result.status)) {
    process.stderr.write(`demo: "${title}" exited with ${result.status ?? result.signal}\n`);
    process.exit(result.status ?? 1);
  }
}

ensureFreshBuild();
fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
if (external) step('npm run migration:run', ['typeorm', 'migration:run', '-d', 'dist/ormconfig.js'], { script: 'bin/with-database.js' });
step('npm run cli -- seed-demo --count 150', ['seed-demo', '--count', '150']);
step('npm run cli -- migrate-equipment --dry-run', ['migrate-equipment', '--dry-run']);
step(`npm run cli -- migrate-equipment --save-report ${REPORT}`, ['migrate-equipment', '--save-report', REPORT]);

process.stdout.write(`\n$ jq '${JQ_FILTER}' ${REPORT}\n`);
const jq = spawnSync('jq', [JQ_FILTER, REPORT], { stdio: 'inherit', cwd: ROOT });
if (jq.error) {
  // No jq on this machine: the same query in Node, so the step still shows what the guide's command prints.
  process.stdout.write('(jq is not installed; the same query in Node:)\n');
  const report = JSON.parse(fs.readFileSync(path.join(ROOT, REPORT), 'utf8'));
  for (const detail of report.details) if (detail.status === 'flagged') process.stdout.write(`${JSON.stringify(detail.user_email)}\n`);
} else if (jq.status !== 0) {
  process.exit(jq.status ?? 1);
}
step('npm run cli -- migration-runs --limit 3', ['migration-runs', '--limit', '3']);
// The sample keeps its error rows (they are never changed), so verification lists them and exits 1.
step('npm run cli -- verify-equipment', ['verify-equipment'], { allowed: [0, 1] });
process.stdout.write(`\nThe full report is in ${REPORT}; the embedded database's files are in .data/postgres.\n`);
