#!/usr/bin/env node
'use strict';
// `npm run cli -- <command> [options]`: rebuilds dist/ if a source changed since the last build (scripts/build-lib.js),
// then runs the app bundled into one file (dist/cli.js).
const { setFlagsFromString } = require('node:v8');
const path = require('node:path');
const { ensureFreshBuild, isFresh, BUNDLE, DIST } = require('../scripts/build-lib');

function run() {
  if (process.env.NODE_V8_COVERAGE) {
    // Coverage runs (npm run test:coverage): the same app from the one-file-per-source build (dist/src), whose inline
    // SWC maps c8 maps line for line. Through the bundle's composed map c8 loses the ends of functions, so every
    // line would count as covered.
    process.setSourceMapsEnabled(true);
    require(path.join(DIST, 'src', 'main.js'));
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
