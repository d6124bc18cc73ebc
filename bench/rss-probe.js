'use strict';
// Preloaded into every Node process of a measured command (NODE_OPTIONS=--require): at exit, records this process's
// peak RSS so the benchmark can report the CLI's own memory without extra tools.
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_RSS_DIR;
if (dir) {
  process.on('exit', () => {
    const record = { pid: process.pid, argv: process.argv.slice(1), maxRssKb: process.resourceUsage().maxRSS };
    try {
      fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(record));
    } catch {
      // measuring must never change the measured command's outcome
    }
  });
}
