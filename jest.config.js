'use strict';
// Unit tests (pure code, beside the sources) and integration tests (real PostgreSQL, under test/).
// Nest 12 packages are ESM-only; Node 20's Jest cannot require() them natively, so SWC transforms them to CommonJS.
const fs = require('node:fs');
const path = require('node:path');

const swcOptions = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcOptions.$schema;
// In tests keep dynamic import() compiled to require(): Jest's sandbox cannot run native import() without a flag.
swcOptions.module = { type: 'commonjs' };

const ESM_ONLY_PACKAGES = ['@nestjs', 'uid', 'file-type', 'strtok3', 'token-types', '@tokenizer', 'uint8array-extras', '@borewit'];
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { ...swcOptions, swcrc: false }] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY_PACKAGES.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

module.exports = {
  maxWorkers: 2,
  // Integration tests start real processes and databases; no test asserts on time.
  testTimeout: 60000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
