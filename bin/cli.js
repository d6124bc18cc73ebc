#!/usr/bin/env node
'use strict';
// `npm run cli -- <command> [options]`: rebuilds dist/ if a source changed since the last build (scripts/build-lib.js),
// then runs the app bundled into one file (dist/cli.js).
const { setFlagsFromString } = require('node:v8');
const { ensureFreshBuild, isFresh, BUNDLE } = require('../scripts/build-lib');

function run() {
  if (process.env.NODE_V8_COVERAGE) {
    // Coverage runs (npm run test:coverage): Node's own loader, which records the bundle's source map for c8.
    process.setSourceMapsEnabled(true);
    require(BUNDLE);
    return;
  }
  // The flag src/main.ts sets, set before compiling too: V8's code cache is only accepted under the flags it was
  // written with (a mismatch is harmless: the cache is rejected and rewritten).
  setFlagsFromString('--heap-growing-percent=20');
  require('./run-bundle').runBundle(BUNDLE);
}

if (isFresh()) run();
else {
  ensureFreshBuild().then(run, (error) => {
    process.stderr.write(`build failed: ${error.message}\n`);
    process.exitCode = 1;
  });
}
