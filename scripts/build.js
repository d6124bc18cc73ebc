#!/usr/bin/env node
'use strict';
const { ensureFreshBuild } = require('./build-lib');

const force = process.argv.includes('--force');
const started = Date.now();
const compiled = ensureFreshBuild({ force });
process.stderr.write(`build: ${compiled} file(s) compiled to dist/ in ${Date.now() - started} ms\n`);
