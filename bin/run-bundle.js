'use strict';
// Runs the single-file bundle (dist/cli.js) with V8's code cache: Node 20 has no compile cache of its own
// (module.enableCompileCache is 22.1+), and with one file the cache is one vm.Script's cachedData beside it.
// The cache file starts with a line naming the bundle it belongs to (size, mtime, Node version); V8 itself
// rejects data from another V8 or flag set, and a rejected or missing cache is rewritten when the process exits.
// Compiled through vm.Script, the bundle's source map is not seen by Node's own mapping of stack traces, so frames
// in the bundle are mapped here (lazily, on the first stack trace formatted) with Node's module.SourceMap.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

/** When the code cache is written, if the process has not ended by then: after start-up, before a long run's work ages it. */
const CACHE_AFTER_MS = 1500;

function cacheKey(file) {
  const stat = fs.statSync(file);
  return `${stat.size}:${stat.mtimeMs}:${process.version}\n`;
}

function readCache(cacheFile, key) {
  try {
    const data = fs.readFileSync(cacheFile);
    const header = data.subarray(0, key.length).toString('utf8');
    return header === key ? data.subarray(key.length) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(cacheFile, key, data) {
  try {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(key, 'utf8'), data]));
    fs.renameSync(tmp, cacheFile);
  } catch {
    // A read-only dist/ only means no cache next time.
  }
}

/** Error.prepareStackTrace that names src/ files for frames in the bundle (the rest as V8 would print them). */
function mapStackTraces(file) {
  let sourceMap;
  const lookup = () => {
    if (sourceMap === undefined) {
      try {
        sourceMap = new Module.SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
      } catch {
        sourceMap = null;
      }
    }
    return sourceMap;
  };
  const dir = path.dirname(file);
  const mapFrame = (frame) => {
    const text = String(frame);
    if (frame.getFileName() !== file || !lookup()) return text;
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    const entry = sourceMap.findEntry(line - 1, column - 1);
    if (!entry || !entry.originalSource) return text;
    const original = path.resolve(dir, entry.originalSource.replace(/^file:\/\//, ''));
    return text.replace(`${file}:${line}:${column}`, `${original}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
  };
  Error.prepareStackTrace = (error, frames) => {
    let head;
    try {
      head = String(error);
    } catch {
      head = 'Error';
    }
    return [head, ...frames.map((frame) => `    at ${mapFrame(frame)}`)].join('\n');
  };
}

/** Loads `file` (a CommonJS bundle) as the main program would require it, through the code cache. */
function runBundle(file) {
  const cacheFile = `${file}.cache`;
  const key = cacheKey(file);
  const cachedData = readCache(cacheFile, key);
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    // Written once start-up is over (or at exit, if sooner), so it also holds the functions start-up compiled lazily.
    // Not at the exit of a long run: V8 flushes the bytecode of functions unused for a while, and a cache written at
    // the end of a 10,000,000-row migration held half as much: --help 0.42 -> 0.62 s, a migration's start-up
    // 0.54 -> 0.74 s, for every later run, since an accepted cache is never written again.
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      writeCache(cacheFile, key, script.createCachedData());
    };
    setTimeout(write, CACHE_AFTER_MS).unref();
    process.once('exit', write);
  }
  mapStackTraces(file);
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(path.dirname(file));
  bundle.loaded = true;
  script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, path.dirname(file));
}

module.exports = { runBundle };
