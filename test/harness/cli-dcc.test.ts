/** `smets-hil dcc serve` refuses option values it could not serve with, before it listens. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';

const notASchema = join(mkdtempSync(join(tmpdir(), 'smets-hil-xsd-')), 'duis.xsd');
writeFileSync(notASchema, 'this is not a schema\n');

test('dcc serve: a bad port, limit, timeout, callback URL, clock or XSD is a usage error naming it', async (t) => {
  for (const [args, message] of [
    [['--port', '99999'], /^--port 99999: a TCP port, 0 to 65535/],
    [['--max-concurrent', '0'], /^--max-concurrent 0: a positive integer/],
    [['--device-timeout', '-5'], /^--device-timeout -5: a time limit such as 90s, 10m or 2h \(a bare number is milliseconds\)/],
    [['--request-timeout', '1.5'], /^--request-timeout 1\.5: a time limit such as 90s/],
    [['--device-timeout', '0s'], /^--device-timeout 0s: a time limit above 0 and at most 24 days/],
    [['--callback', 'not a url'], /^--callback not a url: an http:\/\/ or https:\/\/ URL/],
    [['--callback', 'ftp://example.invalid/'], /^--callback ftp:\/\/example\.invalid\/: an http:\/\/ or https:\/\/ URL/],
    [['--xsd', '/nonexistent/duis.xsd'], /^cannot read the DUIS XSD \/nonexistent\/duis\.xsd: ENOENT/],
    // Taken, it answered every DUIS request with 500.
    [['--xsd', notASchema], /^--xsd .*duis\.xsd: libxml2 could not use the schema/],
    [['--frozen', '--clock', 'March 7'], /^--clock March 7: not an ISO-8601 date-time such as 2026-01-05T09:00:00Z/],
  ] as const) {
    const port = args[0] === '--port' ? [] : ['--port', '0'];
    const r = await runCli(['dcc', 'serve', ...port, ...args], { timeoutMs: 20_000 });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /listening/);
  }
});

test('dcc serve takes its timeouts as durations, as run does, or as milliseconds', async (t) => {
  const { startDccProcess } = await import('../helpers/dcc-process.ts');
  for (const args of [['--device-timeout', '10s', '--request-timeout', '2m'], ['--device-timeout', '20000', '--request-timeout', '500ms']]) {
    const dcc = await startDccProcess(args);
    t.teardown(() => dcc.stop());
    t.is((await fetch(`${dcc.url}/admin/v1/health`)).status, 200, args.join(' '));
  }
});
