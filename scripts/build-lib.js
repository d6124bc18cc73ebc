'use strict';
// Incremental SWC build of src/ and ormconfig.ts into dist/.
// `npm ci` runs it once (the `prepare` script); bin/cli.js calls ensureFreshBuild() on every start so that
// `npm run cli` always runs the current source without type-checking or compiling the whole project each time.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.build-stamp.json');
const SWCRC = path.join(ROOT, '.swcrc');

function listSources() {
  const files = [path.join(ROOT, 'ormconfig.ts')];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|json)$/.test(entry.name) && !/\.(spec|test)\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.push(full);
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return files;
}

function outputPath(source) {
  const rel = path.relative(ROOT, source);
  return path.join(DIST, rel.endsWith('.ts') ? rel.replace(/\.ts$/, '.js') : rel);
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return { swcrc: 0, files: {} };
  }
}

// Concurrent starts may build at the same moment: every write goes to a temporary file that is renamed into place.
function writeAtomically(file, content) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** Rebuilds what changed since the last build; returns the number of files compiled. */
function ensureFreshBuild({ force = false } = {}) {
  const stamp = force ? { swcrc: 0, files: {} } : readStamp();
  const swcrcMtime = fs.statSync(SWCRC).mtimeMs;
  const allStale = stamp.swcrc !== swcrcMtime;
  const sources = listSources();
  const next = { swcrc: swcrcMtime, files: {} };
  const stale = [];
  for (const source of sources) {
    const rel = path.relative(ROOT, source);
    const mtime = fs.statSync(source).mtimeMs;
    next.files[rel] = mtime;
    if (allStale || stamp.files[rel] !== mtime || !fs.existsSync(outputPath(source))) stale.push(source);
  }
  const removed = Object.keys(stamp.files).filter((rel) => !(rel in next.files));
  if (stale.length === 0 && removed.length === 0) return 0;

  const swc = require('@swc/core');
  const options = JSON.parse(fs.readFileSync(SWCRC, 'utf8'));
  delete options.$schema;
  for (const source of stale) {
    if (source.endsWith('.json')) {
      writeAtomically(outputPath(source), fs.readFileSync(source));
      continue;
    }
    const { code } = swc.transformFileSync(source, { ...options, swcrc: false, filename: source });
    writeAtomically(outputPath(source), code);
  }
  for (const rel of removed) fs.rmSync(outputPath(path.join(ROOT, rel)), { force: true });
  writeAtomically(STAMP, JSON.stringify(next));
  return stale.length;
}

module.exports = { ensureFreshBuild, ROOT, DIST };
