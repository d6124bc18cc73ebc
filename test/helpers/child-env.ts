/**
 * The environment of a CLI child process: only PATH, HOME, LANG and the test's own variables, so the developer's
 * environment (a DATABASE_URL, PG* variables) never reaches the run. NODE_V8_COVERAGE is passed on when set
 * (`npm run test:coverage`), so the child's coverage is recorded too (bin/cli.js then loads the bundle with its map).
 */
export function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const coverage = process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {};
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...coverage, ...env };
}
