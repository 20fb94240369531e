import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { defaultHistoryPath, History, recordRun, summarizeTestHistory } from '../../../harness/history.ts';
import type { RunRecord, Verdict } from '../../../harness/results.ts';
import { summarize } from '../../../harness/results.ts';
import { runCli } from '../../helpers/cli.ts';
import { repoRoot } from '../../helpers/fixtures.ts';
import { sampleRun } from './sample-run.ts';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-history-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The sample run on another day, with BR1's verdict and attempt count set. */
function runOn(day: number, br1: Verdict, br1Attempts = 1): RunRecord {
  const run = sampleRun();
  run.runId = `run-${day}`;
  run.startedAt = `2026-11-${String(day).padStart(2, '0')}T07:20:00.000Z`;
  const t0 = run.tests[0]!;
  t0.verdict = br1;
  t0.attempts = Array.from({ length: br1Attempts }, (_, i) => ({ ...t0.attempts[0]!, attempt: i + 1, verdict: i === br1Attempts - 1 ? br1 : 'error', message: br1 === 'pass' && i === br1Attempts - 1 ? undefined : `attempt ${i + 1} went ${br1}` }));
  run.summary = summarize(run.tests);
  return run;
}

function seed(file: string): void {
  const h = History.open(file);
  h.record(runOn(1, 'pass'));
  h.record(runOn(3, 'fail'), { evidenceDir: '/evidence/run-3' });
  h.record(runOn(2, 'pass', 2));
  h.close();
}

test('runs are listed newest first with their counts and evidence folder', (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  seed(file);
  const h = History.open(file, { readonly: true });
  t.teardown(() => h.close());
  const runs = h.runs();
  t.deepEqual(runs.map((r) => r.runId), ['run-3', 'run-2', 'run-1']);
  t.like(runs[0], { total: 5, passed: 1, failed: 2, errors: 1, skipped: 1, evidenceDir: '/evidence/run-3', target: 'emulated', host: 'ci-runner-1' });
  t.deepEqual(h.runs(2).map((r) => r.runId), ['run-3', 'run-2']);
});

test("one test's verdicts across runs, newest first, and a flaky one is called out", (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  seed(file);
  const h = History.open(file, { readonly: true });
  t.teardown(() => h.close());
  const rows = h.testHistory('BR1-sc-credit-esme');
  t.deepEqual(rows.map((r) => [r.runId, r.verdict, r.attempts]), [['run-3', 'fail', 1], ['run-2', 'pass', 2], ['run-1', 'pass', 1]]);
  t.is(rows[0]!.message, 'attempt 1 went fail');
  t.deepEqual(rows[0]!.tags, ['BR1', 'esme', 'smoke']);
  t.deepEqual(summarizeTestHistory(rows), { runs: 3, counts: { pass: 2, fail: 1, error: 0, skip: 0 }, flips: 1, interruptedErrors: 0, passedAfterRetry: 1, flaky: true });
  t.false(summarizeTestHistory(h.testHistory('BR3-smets1-prepayment')).flaky, 'always erroring is broken, not flaky');
  t.deepEqual(h.testIdsLike('altered'), ['BR5-altered-precommand[esme]', 'BR5-altered-precommand[gsme]']);
});

/** BR1 errored in a run that was interrupted: stopped by it (its attempt marked so by the runner) or on its own before. */
function interruptedRunOn(day: number, stoppedBr1: boolean): RunRecord {
  const run = { ...runOn(day, 'error'), interrupted: 'the run was interrupted' };
  const last = run.tests[0]!.attempts.at(-1)!;
  if (stoppedBr1) Object.assign(last, { message: 'step 1 (advance): the run was interrupted', interrupted: true });
  else last.message = 'step 1 (advance): the serial link to m1 failed';
  return run;
}

test('an error the run\'s interruption caused (a CI timeout stopping the step) does not make a test that otherwise passes look flaky', (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const h = History.open(file);
  t.teardown(() => h.close());
  h.record(runOn(1, 'pass'));
  h.record(runOn(2, 'pass'));
  h.record(interruptedRunOn(3, true));
  const s = summarizeTestHistory(h.testHistory('BR1-sc-credit-esme'));
  t.like(s, { runs: 3, counts: { pass: 2, fail: 0, error: 1, skip: 0 }, flips: 0, interruptedErrors: 1, flaky: false });
  // An error in a run that finished is the test's own, as before.
  h.record(runOn(4, 'error'));
  t.like(summarizeTestHistory(h.testHistory('BR1-sc-credit-esme')), { flips: 1, interruptedErrors: 1, flaky: true });
});

test('an error of the test\'s own in a run interrupted later counts: the interruption excuses only the test it stopped', (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const h = History.open(file);
  t.teardown(() => h.close());
  h.record(runOn(1, 'pass'));
  h.record(interruptedRunOn(2, false));
  h.record(runOn(3, 'pass'));
  t.like(summarizeTestHistory(h.testHistory('BR1-sc-credit-esme')), { counts: { pass: 2, fail: 0, error: 1, skip: 0 }, flips: 2, interruptedErrors: 0, flaky: true });
});

test('a version 2 history tells the stopped test by its message: read as it is, and once upgraded', (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const h = History.open(file);
  h.record(runOn(1, 'pass'));
  h.record(interruptedRunOn(2, true));
  h.record(interruptedRunOn(3, false));
  h.close();
  // Back to version 2: no stopped column.
  const v2 = new Database(file);
  v2.exec('ALTER TABLE test_verdicts DROP COLUMN stopped');
  v2.pragma('user_version = 2');
  v2.close();
  const expected = { counts: { pass: 1, fail: 0, error: 2, skip: 0 }, interruptedErrors: 1, flips: 1, flaky: true };
  const readOnly = History.open(file, { readonly: true });
  t.deepEqual(readOnly.testHistory('BR1-sc-credit-esme').map((r) => [r.runId, r.stopped]), [['run-3', false], ['run-2', true], ['run-1', false]]);
  t.like(summarizeTestHistory(readOnly.testHistory('BR1-sc-credit-esme')), expected);
  readOnly.close();
  const upgraded = History.open(file);
  t.teardown(() => upgraded.close());
  t.deepEqual(upgraded.testHistory('BR1-sc-credit-esme').map((r) => [r.runId, r.stopped]), [['run-3', false], ['run-2', true], ['run-1', false]]);
  t.like(summarizeTestHistory(upgraded.testHistory('BR1-sc-credit-esme')), expected);
});

test('recording the same run again replaces it instead of counting it twice', (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const h = History.open(file);
  t.teardown(() => h.close());
  h.record(runOn(1, 'fail'));
  h.record(runOn(1, 'pass'));
  t.is(h.runs().length, 1);
  t.deepEqual(h.testHistory('BR1-sc-credit-esme').map((r) => r.verdict), ['pass']);
});

test('recordRun writes to .smets-hil/history.sqlite under the working directory by default', (t) => {
  const cwd = tempDir(t);
  t.is(defaultHistoryPath(cwd), join(cwd, '.smets-hil', 'history.sqlite'));
  t.is(recordRun(sampleRun(), { cwd, evidenceDir: join(cwd, 'ev') }), join(cwd, '.smets-hil', 'history.sqlite'));
  const h = History.open(defaultHistoryPath(cwd), { readonly: true });
  t.teardown(() => h.close());
  t.is(h.runs()[0]!.evidenceDir, join(cwd, 'ev'));
});

test('smets-hil history lists runs as a table and as JSON', async (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  seed(file);
  const table = await runCli(['history', '--db', file, '--limit', '2']);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^STARTED\s+RUN\s+TARGET\s+TOTAL\s+PASSED\s+FAILED\s+ERRORS\s+SKIPPED\s+DURATION\s+EVIDENCE$/);
  t.is(lines.length, 4);
  t.regex(lines[2]!, /^2026-11-03T07:20:00.000Z\s+run-3\s+emulated\s+5\s+1\s+2\s+1\s+1\s+26.8 s\s+\/evidence\/run-3$/);
  t.regex(lines[3]!, /run-2/);

  const json = await runCli(['history', '--db', file, '--json']);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(JSON.parse(json.stdout).map((r: { runId: string }) => r.runId), ['run-3', 'run-2', 'run-1']);
});

test('smets-hil history --test shows one test over time and flags it flaky', async (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  seed(file);
  const r = await runCli(['history', '--db', file, '--test', 'BR1-sc-credit-esme']);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith('BR1-sc-credit-esme: SC switches a prepayment ESME of the failed supplier to Credit (scenarios/mp134b/br1-switch.yaml)\n'));
  t.regex(r.stdout, /run-3\s+fail\s+1\s+1\.2 s\s+attempt 1 went fail/);
  t.regex(r.stdout, /3 runs: 2 pass, 1 fail, 0 error, 0 skip; verdict changed 1 time; passed only after a retry in 1 - looks FLAKY/);

  const json = await runCli(['history', '--db', file, '--test', 'BR1-sc-credit-esme', '--json']);
  const parsed = JSON.parse(json.stdout);
  t.is(parsed.summary.flaky, true);
  t.deepEqual(parsed.runs.map((x: { verdict: string }) => x.verdict), ['fail', 'pass', 'pass']);
});

test('smets-hil history: unknown test, bad --limit, and no history yet', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'h.sqlite');
  seed(file);
  const unknown = await runCli(['history', '--db', file, '--test', 'altered']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no verdicts recorded for test "altered".*did you mean: BR5-altered-precommand\[esme\], BR5-altered-precommand\[gsme\]/);
  const limit = await runCli(['history', '--db', file, '--limit', '0']);
  t.is(limit.code, 2);
  t.regex(limit.stderr, /--limit must be a positive integer/);

  // Nothing recorded yet at the default place is an ordinary state (a fresh clone), not an error; and reading
  // creates nothing.
  const fresh = await runCli(['history'], { cwd: dir });
  const missing = join(dir, '.smets-hil', 'history.sqlite');
  t.is(fresh.code, 0, fresh.stderr);
  t.is(fresh.stdout, `no run history yet: ${missing} does not exist\n`);
  t.false(existsSync(join(dir, '.smets-hil')));
  const freshJson = await runCli(['history', '--json'], { cwd: dir });
  t.deepEqual(JSON.parse(freshJson.stdout), []);
  const freshTest = await runCli(['history', '--test', 'BR1-sc-credit-esme', '--json'], { cwd: dir });
  t.like(JSON.parse(freshTest.stdout), { runs: [], seededLeftOut: 0 }, 'the same keys as with a history');
  // A file named that is not there is a mistyped path: a flake gate reading "flaky: false" from it would pass.
  const typo = await runCli(['history', '--db', join(dir, 'h.sqlit'), '--test', 'BR1-sc-credit-esme', '--json']);
  t.is(typo.code, 2);
  t.is(typo.stdout, '');
  t.regex(typo.stderr, /--db .*h\.sqlit: no such file/);
  const alone = await runCli(['history', '--db', file, '--with-defects']);
  t.is(alone.code, 2);
  t.regex(alone.stderr, /--with-defects goes with --test ID/);
});

test('runs that seeded defects are kept and listed, but left out of a test\'s verdicts unless asked for: a negative control is not flakiness', async (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const h = History.open(file);
  h.record(runOn(1, 'pass'));
  const control = runOn(2, 'fail');
  control.options = { ...control.options, defects: ['sc-allowed-ecs03'] };
  h.record(control);
  h.record(runOn(3, 'pass'));
  t.deepEqual(h.runs().map((r) => [r.runId, r.defects]), [['run-3', []], ['run-2', ['sc-allowed-ecs03']], ['run-1', []]]);
  t.deepEqual(h.testHistory('BR1-sc-credit-esme').map((r) => r.runId), ['run-3', 'run-1']);
  t.false(summarizeTestHistory(h.testHistory('BR1-sc-credit-esme')).flaky);
  t.deepEqual(h.testHistory('BR1-sc-credit-esme', 20, { withDefects: true }).map((r) => [r.runId, r.defects]), [['run-3', []], ['run-2', ['sc-allowed-ecs03']], ['run-1', []]]);
  h.close();

  const text = await runCli(['history', '--db', file, '--test', 'BR1-sc-credit-esme']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /2 runs: 2 pass, 0 fail, 0 error, 0 skip; verdict changed 0 times; passed only after a retry in 0\n1 verdict from runs with seeded defects left out \(--with-defects to show them\)\n/);
  const all = await runCli(['history', '--db', file, '--test', 'BR1-sc-credit-esme', '--with-defects']);
  t.regex(all.stdout, /3 runs: 2 pass, 1 fail.* - looks FLAKY/);
  const runs = await runCli(['history', '--db', file]);
  t.regex(runs.stdout, /run-2\s+emulated \+defects sc-allowed-ecs03\s/);
});

test('a history written before defects were recorded reads as it was, and takes new runs once opened to record', (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const old = new Database(file);
  old.exec(`CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, target TEXT NOT NULL,
    total INTEGER NOT NULL, passed INTEGER NOT NULL, failed INTEGER NOT NULL, errors INTEGER NOT NULL, skipped INTEGER NOT NULL, evidence_dir TEXT,
    smets_hil TEXT NOT NULL, host TEXT NOT NULL, recorded_at TEXT NOT NULL);
    CREATE TABLE test_verdicts (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE, position INTEGER NOT NULL, test_id TEXT NOT NULL,
    title TEXT NOT NULL, file TEXT NOT NULL, tags TEXT NOT NULL, verdict TEXT NOT NULL, attempts INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    message TEXT, PRIMARY KEY (run_id, position));
    INSERT INTO runs VALUES ('run-old', '2026-10-01T00:00:00.000Z', '2026-10-01T00:01:00.000Z', 60000, 'emulated', 1, 1, 0, 0, 0, NULL, '0.1.0', 'ci', '2026-10-01T00:01:00.000Z');
    INSERT INTO test_verdicts VALUES ('run-old', 0, 'BR1-sc-credit-esme', 'SC switches', 'scenarios/mp134b/br1-switch.yaml', '[]', 'pass', 1, 1000, NULL);`);
  old.pragma('user_version = 1');
  old.close();
  const readOnly = History.open(file, { readonly: true });
  t.deepEqual(readOnly.runs().map((r) => [r.runId, r.defects]), [['run-old', []]]);
  t.deepEqual(readOnly.testHistory('BR1-sc-credit-esme').map((r) => r.runId), ['run-old']);
  readOnly.close();
  const h = History.open(file);
  h.record(runOn(1, 'pass'));
  t.deepEqual(h.runs().map((r) => r.runId), ['run-1', 'run-old']);
  h.close();
});

test('two recorders upgrading a version 1 history at once: the second waits for the first and finds it upgraded', async (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const v1 = new Database(file);
  v1.exec(`CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, target TEXT NOT NULL,
    total INTEGER NOT NULL, passed INTEGER NOT NULL, failed INTEGER NOT NULL, errors INTEGER NOT NULL, skipped INTEGER NOT NULL, evidence_dir TEXT,
    smets_hil TEXT NOT NULL, host TEXT NOT NULL, recorded_at TEXT NOT NULL);
    CREATE TABLE test_verdicts (run_id TEXT NOT NULL, position INTEGER NOT NULL, test_id TEXT NOT NULL, title TEXT NOT NULL, file TEXT NOT NULL,
    tags TEXT NOT NULL, verdict TEXT NOT NULL, attempts INTEGER NOT NULL, duration_ms INTEGER NOT NULL, message TEXT, PRIMARY KEY (run_id, position));`);
  v1.pragma('user_version = 1');
  v1.pragma('journal_mode = WAL');
  // The first recorder, mid-upgrade: it holds the write lock when the second (another process) opens the file.
  v1.exec('BEGIN IMMEDIATE');
  v1.exec("ALTER TABLE runs ADD COLUMN defects TEXT NOT NULL DEFAULT '[]'; ALTER TABLE runs ADD COLUMN interrupted TEXT");
  v1.pragma('user_version = 2');
  const history = pathToFileURL(join(repoRoot, 'harness/history.ts')).href;
  const second = spawn(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(history)}).then(({ History }) => { History.open(${JSON.stringify(file)}).close(); console.log('opened'); })`], { cwd: repoRoot });
  let out = '';
  second.stdout.on('data', (d: Buffer) => (out += d));
  second.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => second.on('exit', resolve));
  await new Promise((r) => setTimeout(r, 1500));
  v1.exec('COMMIT');
  v1.close();
  t.is(await exited, 0, out);
  t.is(out.trim(), 'opened');
});

test('smets-hil history prints what runs recorded with control characters as visible escapes: a title or message cannot drive the terminal', async (t) => {
  const file = join(tempDir(t), 'h.sqlite');
  const run = runOn(4, 'fail');
  run.tests[0]!.title = 'clears\x1b[2J the screen';
  run.tests[0]!.attempts[0]!.message = 'meter said \x1b]0;owned\x07\nthen \u202Eelse';
  const h = History.open(file);
  h.record(run, { evidenceDir: '/evidence/\x1b[31mred' });
  h.close();
  const raw = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E]/;
  const one = await runCli(['history', '--db', file, '--test', 'BR1-sc-credit-esme']);
  t.is(one.code, 0, one.stderr);
  t.false(raw.test(one.stdout), one.stdout);
  t.true(one.stdout.includes('clears\\x1B[2J the screen'));
  t.true(one.stdout.includes('meter said \\x1B]0;owned\\x07\\x0Athen \\u202Eelse'), 'a table cell stays on its line');
  const runs = await runCli(['history', '--db', file]);
  t.false(raw.test(runs.stdout), runs.stdout);
  t.true(runs.stdout.includes('/evidence/\\x1B[31mred'));
});
