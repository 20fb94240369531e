import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import test from 'ava';
import { History } from '../../../harness/history.ts';
import { renderVerdictTable } from '../../../harness/reporters/console.ts';
import { renderHtml } from '../../../harness/reporters/html.ts';
import { parseReportSpec, ReportSpecError, writeReports } from '../../../harness/reporters/index.ts';
import { renderJson } from '../../../harness/reporters/json.ts';
import { renderJunit } from '../../../harness/reporters/junit.ts';
import { GBCS_HEX, HOSTILE_XML, sampleRun } from './sample-run.ts';

test('has the summary and per-test keys the issue fixes, with attempts as a count', (t) => {
  const report = JSON.parse(renderJson(sampleRun()));
  t.deepEqual(report.summary, { total: 5, passed: 2, failed: 1, errors: 1, skipped: 1 });
  t.deepEqual(
    report.tests.map((x: Record<string, unknown>) => [x.id, x.verdict, x.attempts, x.durationMs]),
    [
      ['BR1-sc-credit-esme', 'pass', 1, 1230],
      ['BR5-altered-precommand[esme]', 'fail', 1, 2450],
      ['BR5-altered-precommand[gsme]', 'pass', 2, 3100],
      ['BR3-smets1-prepayment', 'error', 2, 20010],
      ['BR7-nightly-soak', 'skip', 0, 0],
    ],
  );
  const first = report.tests[1];
  for (const key of ['id', 'title', 'tags', 'verdict', 'attempts', 'durationMs']) t.true(key in first, key);
  t.deepEqual(first.tags, ['BR5', 'esme']);
  t.is(first.message, 'step 2 (SC sends an altered Pre-Command to ESME-1 (CV5)): expected response code E53, got I0');
  t.false('message' in report.tests[0], 'no message on a pass');
  t.is(report.tests[4].message, 'the run timed out before this scenario started');
});

test('keeps the run identity and the full attempt log with steps, traffic and diffs', (t) => {
  const report = JSON.parse(renderJson(sampleRun()));
  t.like(report, { runId: '3f9c2a8e-6b1d-4e7a-9c55-0d2f1e3a4b5c', startedAt: '2026-11-01T07:20:00.000Z', target: 'emulated' });
  t.deepEqual(report.environment, { node: 'v20.20.2', platform: 'linux-x64', smetsHil: '0.1.0', host: 'ci-runner-1' });
  const log = report.tests[1].attemptLog;
  t.is(log.length, 1);
  t.is(log[0].steps[1].traffic[0].payload, HOSTILE_XML);
  t.deepEqual(log[0].steps[1].diffs[0].unexpected, [{ path: 'tariff.price', before: 1200, after: 1 }]);
  t.is(report.tests[0].attemptLog[0].steps[0].traffic[1].payload, GBCS_HEX);
  t.is(report.tests[2].attemptLog.length, 2);
});

test('a bigint in a device snapshot is written as its decimal string', (t) => {
  const run = sampleRun();
  run.tests[0]!.attempts[0]!.steps[0]!.diffs[0]!.changes.push({ path: 'counters.x', before: 1n, after: 18446744073709551615n });
  const change = JSON.parse(renderJson(run)).tests[0].attemptLog[0].steps[0].diffs[0].changes[1];
  t.deepEqual(change, { path: 'counters.x', before: '1', after: '18446744073709551615' });
});

test('--report FORMAT=FILE is parsed, and bad values are refused with the formats listed', (t) => {
  t.deepEqual(parseReportSpec('json=out/run.json'), { format: 'json', file: 'out/run.json' });
  t.deepEqual(parseReportSpec('JUnit=a=b.xml'), { format: 'junit', file: 'a=b.xml' });
  for (const bad of ['json', 'json=', '=x', 'pdf=x.pdf']) {
    const e = t.throws(() => parseReportSpec(bad), { instanceOf: ReportSpecError });
    t.regex(e!.message, /json, junit, html/);
  }
});

test('writeReports writes every requested file, creating folders', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-reports-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const written = await writeReports(sampleRun(), [parseReportSpec('json=a/r.json'), parseReportSpec('junit=b/c/r.xml'), parseReportSpec('html=r.html')], dir);
  t.deepEqual(written, [join(dir, 'a/r.json'), join(dir, 'b/c/r.xml'), join(dir, 'r.html')]);
  t.is(JSON.parse(readFileSync(written[0]!, 'utf8')).summary.total, 5);
  t.true(readFileSync(written[1]!, 'utf8').startsWith('<?xml'));
  t.true(readFileSync(written[2]!, 'utf8').startsWith('<!doctype html>'));
});

test('an interrupted run says so in every report and in the history; a whole one says nothing of it', (t) => {
  const run = { ...sampleRun(), interrupted: 'the run was interrupted' };
  t.is(JSON.parse(renderJson(run)).interrupted, 'the run was interrupted');
  t.regex(renderJunit(run), /<property name="interrupted" value="the run was interrupted"\/>/);
  t.regex(renderHtml(run), /<title>smets-hil: INTERRUPTED, /);
  t.regex(renderHtml(run), /<p class="interrupted"><strong>Interrupted:<\/strong> the run was interrupted;/);
  t.regex(renderVerdictTable(run), /; INTERRUPTED: the run was interrupted$/m);
  const whole = sampleRun();
  for (const text of [renderJson(whole), renderJunit(whole), renderVerdictTable(whole)]) t.notRegex(text, /interrupted/i);
  t.notRegex(renderHtml(whole), /INTERRUPTED|<p class="interrupted">/);
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-json-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const h = History.open(join(dir, 'h.sqlite'));
  h.record(run);
  h.record({ ...whole, runId: 'whole' });
  t.deepEqual(h.runs().map((r) => [r.runId, r.interrupted]).sort(), [[run.runId, 'the run was interrupted'], ['whole', null]].sort());
  h.close();
});

test('a report is written whole or not at all: a write that fails leaves the report that was there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'report.html');
  await writeReports(sampleRun(), [{ format: 'html', file: path }]);
  const before = readFileSync(path, 'utf8');
  // Where the new report is put together first, something in the way: the write fails there.
  mkdirSync(`${path}.partial-${process.pid}`);
  const run = sampleRun();
  run.runId = 'another-run';
  await t.throwsAsync(writeReports(run, [{ format: 'html', file: path }]));
  t.is(readFileSync(path, 'utf8'), before, 'the report of the run before, whole');
  rmSync(`${path}.partial-${process.pid}`, { recursive: true });
  await writeReports(run, [{ format: 'html', file: path }]);
  t.true(readFileSync(path, 'utf8').includes('another-run'));
  t.deepEqual(readdirSync(dir), ['report.html'], 'nothing left beside it');
});

test('a report to a device or through a link is written into it: the device and the link stay what they were', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A FIFO (as a device such as /dev/full) takes the report and stays one: renamed over, /dev/full became a file.
  const fifo = join(dir, 'pipe.json');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => reader.kill());
  let read = '';
  reader.stdout.on('data', (d: Buffer) => (read += d.toString()));
  const done = new Promise((r) => reader.once('exit', r));
  await writeReports(sampleRun(), [{ format: 'json', file: fifo }]);
  t.true(statSync(fifo).isFIFO(), 'still a FIFO');
  await done;
  t.true(read.startsWith('{'), 'the reader got the report');
  const real = join(dir, 'real.json');
  writeFileSync(real, 'old');
  symlinkSync(real, join(dir, 'link.json'));
  await writeReports(sampleRun(), [{ format: 'json', file: join(dir, 'link.json') }]);
  t.true(lstatSync(join(dir, 'link.json')).isSymbolicLink(), 'the link is kept');
  t.true(readFileSync(real, 'utf8').startsWith('{'), 'the file it names holds the report');
});
