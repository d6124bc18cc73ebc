'use strict';
// The app's view of a run: `DATABASE_URL=… node bench/app-load.js [--clients 4] [--rate 200]` drives what the app does
// to the table while a migration works on it: single-row writes of random assessments, each client on its own
// connection, at a fixed total rate. It prints `ready` once every client is connected, runs until SIGTERM, SIGINT, a
// line `stop` on stdin or the end of stdin (so it never outlives the bench that spawned it), completes the writes
// that fell due before that, and prints one JSON line:
// {"count","errors","p50Ms","p99Ms","maxMs","fromSend":{"p50Ms","p99Ms","maxMs"},"seconds","ratePerSecond","clients"}.
//
// Open loop: write k of a client is due at start + offset + k × interval whatever happened to write k-1, so a write
// stalled behind a run's row lock does not lower the offered load. One connection runs one statement at a time, so the
// writes that fell due during a stall wait their turn and are sent back to back when it ends. Latency is measured from
// the write's *due* time (what the app's user waits), which counts the time a write spent queued behind a stalled one;
// the time from the actual send is recorded too, as `fromSend`, and hides the queueing (coordinated omission).
const { Client } = require('pg');

// An app's write that leaves the equipment data alone: it touches only the row's timestamp. It still takes the row's
// lock and gives the row a new version, as any app write would.
const APP_WRITE = { name: 'bench-app-write', text: 'UPDATE assessments SET updated_at = now() WHERE id = $1' };

function parseArgs(argv) {
  const options = { clients: 4, rate: 200 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--clients') options.clients = Number(argv[++i]);
    else if (argv[i] === '--rate') options.rate = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (usage: node bench/app-load.js [--clients N] [--rate per-second])`);
  }
  if (!(options.clients >= 1 && options.rate > 0)) throw new Error('--clients and --rate must be positive');
  return options;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(values) {
  const sorted = Float64Array.from(values).sort();
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return { p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.length ? sorted[sorted.length - 1] : null) };
}

/** A connected client; `client.broken` turns true when its connection is lost (pg emits 'error' on the client). */
async function connect() {
  const client = new Client({ connectionString: process.env.DATABASE_URL, application_name: 'bench-app-load' });
  client.broken = false;
  client.on('error', () => (client.broken = true));
  await client.connect();
  return client;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
  const clients = await Promise.all(Array.from({ length: options.clients }, connect));
  const [{ min, max }] = (await clients[0].query('SELECT min(id)::int AS min, max(id)::int AS max FROM assessments')).rows;
  if (min === null) throw new Error('assessments is empty');

  let stopAt = Infinity;
  const stop = () => (stopAt = Math.min(stopAt, nowMs()));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => /(^|\n)stop\b/.test(chunk) && stop());
  process.stdin.on('end', stop);

  const fromDue = [];
  const fromSend = [];
  let errors = 0;
  const firstError = [];
  // Each client writes every clients/rate seconds, the clients staggered so the total is evenly spread.
  const intervalMs = (1000 * options.clients) / options.rate;
  const start = nowMs() + 50;
  const drive = async (index) => {
    for (let k = 0; ; k += 1) {
      const due = start + (index * intervalMs) / options.clients + k * intervalMs;
      if (due >= stopAt) break;
      const wait = due - nowMs();
      if (wait > 0) await sleep(wait);
      if (due >= stopAt) break; // stopped while waiting: this write was never due
      const id = min + Math.floor(Math.random() * (max - min + 1));
      const sent = nowMs();
      try {
        await clients[index].query({ ...APP_WRITE, values: [id] });
        const done = nowMs();
        fromDue.push(done - due);
        fromSend.push(done - sent);
      } catch (error) {
        errors += 1;
        if (firstError.length === 0) firstError.push(error.message);
        // A broken connection is replaced, as an app's pool would; the write is not retried.
        if (clients[index].broken) {
          await clients[index].end().catch(() => undefined);
          clients[index] = await connect().catch(() => clients[index]);
        }
      }
    }
  };
  process.stdout.write('ready\n');
  const started = nowMs();
  await Promise.all(clients.map((_, i) => drive(i)));
  const seconds = (nowMs() - started) / 1000;
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  process.stdout.write(
    JSON.stringify({
      count: fromDue.length,
      errors,
      ...stats(fromDue),
      fromSend: stats(fromSend),
      seconds: Math.round(seconds * 1000) / 1000,
      ratePerSecond: options.rate,
      clients: options.clients,
      ...(firstError.length ? { firstError: firstError[0] } : {}),
    }) + '\n',
  );
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
