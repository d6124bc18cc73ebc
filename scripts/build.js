#!/usr/bin/env node
'use strict';
// `npm run build` (always) and the `prepare` script (when a source changed): esbuild + SWC into dist/.
const { ensureFreshBuild } = require('./build-lib');

ensureFreshBuild({ force: process.argv.includes('--force') }).then(
  (built) => process.stderr.write(built ? `build: ${built.files} inputs, dist/cli.js and dist/src/ in ${built.ms} ms\n` : 'build: dist/ is up to date\n'),
  (error) => {
    process.stderr.write(`build failed: ${error.message}\n`);
    process.exitCode = 1;
  },
);
