/**
 * Load test of the DUIS gateway from a second process on loopback: starts `smets-hil dcc serve` (in-memory
 * state, hosted emulated meters) as a child process, unless --url names a running DCC, and drives it with
 * bench/load-driver.ts. Bounded in count (--requests) and time (--seconds). Prints throughput, latency
 * percentiles of processed (200) and overload (503) answers, and the accounting of every processed request.
 *
 *   npm run bench:load [-- --users 32 --requests 4000 --seconds 60 --mix switch|transform --max-concurrent 16]
 *   npm run bench:load -- --url http://127.0.0.1:8079 --users 8
 *   add --json for one JSON line instead of the table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad } from './load-driver.ts';
import { BenchOptions } from './options.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const options = new BenchOptions(
  'usage: npm run bench:load [-- --users 32 --requests 4000 --seconds 60 --mix switch|transform --max-concurrent 16 --url URL --json]',
  ['users', 'requests', 'seconds', 'mix', 'max-concurrent', 'url'],
  ['json'],
);
const json = options.flag('json');
const users = options.integer('users', 32);
const requests = options.integer('requests', 4000);
const seconds = options.seconds('seconds', 60);
const mix = options.choice('mix', ['switch', 'transform'], 'switch');
const maxConcurrent = options.integer('max-concurrent', 16);
const given = options.optional('url');
if (given !== undefined && !/^https?:$/.test(URL.canParse(given) ? new URL(given).protocol : '')) options.refuse(`--url ${given}: not an http(s) URL`);
const log = (line: string) => !json && process.stderr.write(`${line}\n`);

function serve(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'bin/smets-hil.mjs'), 'dcc', 'serve', '--port', '0', '--max-concurrent', String(maxConcurrent)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`dcc serve exited with ${code}:\n${out}`)));
  });
}

const dcc = given === undefined ? await serve() : null;
const url = given ?? dcc!.url;
log(`DCC at ${url}${dcc ? ` (dcc serve, pid ${dcc.child.pid}, --max-concurrent ${maxConcurrent})` : ''}`);
try {
  const r = await runLoad({ dccUrl: url, users, requests, maxSeconds: seconds, mix, log });
  const health = await fetch(`${url}/admin/v1/health`).then((x) => x.status).catch(() => 0);
  const unaccounted = r.accounting.filter((a) => a.answered !== a.audited || a.open > 0);
  const fiveHundreds = Object.entries(r.statuses).filter(([s]) => Number(s) >= 500 && s !== '503');
  if (json) {
    process.stdout.write(JSON.stringify({ ...r, accounting: { users: r.accounting.length, unaccounted: unaccounted.length }, health }) + '\n');
  } else {
    const l = (x: typeof r.latency.ok) => `p50 ${x.p50} ms, p95 ${x.p95} ms, p99 ${x.p99} ms, max ${x.max} ms (${x.count})`;
    log('');
    log(`users (concurrent senders)   ${r.users}`);
    log(`duration                     ${r.seconds} s`);
    log(`HTTP answers                 ${Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
    log(`DUIS codes of 200 answers    ${Object.entries(r.codes).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
    log(`throughput (processed)       ${r.throughput} requests/s`);
    log(`latency, processed (200)     ${l(r.latency.ok)}`);
    log(`latency, overloaded (503)    ${l(r.latency.overloaded)}; Retry-After on ${r.retryAfterGiven}`);
    log(`accounting                   ${r.accounting.reduce((n, a) => n + a.answered, 0)} answered 200, ${r.accounting.reduce((n, a) => n + a.audited, 0)} in the audit log, ${unaccounted.length} User(s) with a mismatch or an open request`);
    log(`5xx other than 503           ${fiveHundreds.length ? JSON.stringify(fiveHundreds) : 'none'}; transport errors ${r.errors.length}; DCC health after: HTTP ${health}`);
  }
  process.exitCode = unaccounted.length || fiveHundreds.length || r.errors.length || health !== 200 ? 1 : 0;
} finally {
  dcc?.child.kill('SIGTERM');
}
