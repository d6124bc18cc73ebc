#!/usr/bin/env node
'use strict';
// `npm run cli -- <command> [options]`: recompiles changed sources (SWC, no type-check), then runs the Nest CLI.
const path = require('node:path');
const { ensureFreshBuild, DIST } = require('../scripts/build-lib');

ensureFreshBuild();
process.setSourceMapsEnabled(true);
require(path.join(DIST, 'src', 'main.js'));
