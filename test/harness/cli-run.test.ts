/** `smets-hil run` and `list` as users and CI call them: exit codes, reports written, usage errors. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'smets-hil-cli-run-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
const notJsonAnchors = join(scratch, 'anchors-not-json.json');
writeFileSync(notJsonAnchors, '{ supplier: ');
const incompleteAnchors = join(scratch, 'anchors-incomplete.json');
writeFileSync(incompleteAnchors, '{}');

test('run: all pass -> exit 0, and the JSON report has the summary and one entry per test', async (t) => {
  const json = join(scratch, 'pass.json');
  const r = await runCli(['run', '--tags', 'BR2', '--no-history', '--report', `json=${json}`]);
  t.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  t.deepEqual(report.summary, { total: 3, passed: 3, failed: 0, errors: 0, skipped: 0 });
  t.deepEqual(
    report.tests.map((x: { verdict: string; attempts: number }) => [x.verdict, x.attempts]),
    [
      ['pass', 1],
      ['pass', 1],
      ['pass', 1],
    ],
  );
  t.regex(r.stdout, /3 tests: 3 passed, 0 failed/);
});

test('run: a seeded defect makes the scenarios relying on it fail -> exit 1, with the failure in the JUnit report', async (t) => {
  const junit = join(scratch, 'fail.xml');
  const r = await runCli(['run', '--grep', '^BR5-smets2-prepayment-refused', '--defect', 'sc-allowed-ecs03', '--no-history', '--report', `junit=${junit}`]);
  t.is(r.code, 1, r.stdout + r.stderr);
  const xml = readFileSync(junit, 'utf8');
  t.is((xml.match(/<failure /g) ?? []).length, 3);
});

test('usage errors exit 2: unknown defect, bad report spec, invalid scenario file, nothing selected, a --grep that is not a regular expression', async (t) => {
  t.is((await runCli(['run', '--defect', 'no-such-defect', '--no-history'])).code, 2);
  t.is((await runCli(['run', '--report', 'pdf=out.pdf', '--no-history'])).code, 2);
  const bad = join(scratch, 'bad.yaml');
  writeFileSync(bad, `world: ${join(repoRoot, 'scenarios/worlds/standard.yaml')}\nscenarios:\n  - id: x\n    title: t\n    steps:\n      - advance: soon\n`);
  const invalid = await runCli(['run', bad, '--no-history']);
  t.is(invalid.code, 2);
  t.regex(invalid.stderr, /bad\.yaml:6: scenarios\.0\.steps\.0\.advance: a duration/);
  writeFileSync(bad, `world: ${join(repoRoot, 'scenarios/worlds/standard.yaml')}\nscenarios:\n  - id: x\n    title: t\n    timeouts: { scenario: -5m }\n    steps:\n      - advance: 1h\n`);
  const negative = await runCli(['run', bad, '--no-history']);
  t.is(negative.code, 2);
  t.regex(negative.stderr, /bad\.yaml:5: scenarios\.0\.timeouts\.scenario: a time limit above 0 and at most 24 days/);
  t.is((await runCli(['run', '--tags', 'no-such-tag', '--no-history'])).code, 2);
  const none = await runCli(['list', '--tags', 'no-such-tag']);
  t.is(none.code, 2, 'list, as run: a mistyped tag is not an empty pack');
  t.regex(none.stderr, /no scenario matches the paths, tags, level and grep given/);
  const grep = await runCli(['list', '--grep', '(']);
  t.is(grep.code, 2);
  t.regex(grep.stderr, /^--grep \(: Invalid regular expression/);
});

test('an option given without a value, or with an empty one (or an empty argument), is a usage error: nothing runs on a default instead', async (t) => {
  // `run --rig "$RIG"` with RIG unset in a nightly job must not quietly run the emulated pack and pass.
  for (const [args, message] of [
    [['run', '--rig', '--no-history'], /Not enough arguments following: rig/],
    [['run', '--rig', '', '--no-history'], /--rig needs a value/],
    [['run', '--level', '--no-history'], /Not enough arguments following: level/],
    [['run', '--report', '--no-history'], /Not enough arguments following: report/],
    [['run', '--defect', '--no-history'], /Not enough arguments following: defect/],
    [['history', '--limit'], /Not enough arguments following: limit/],
    [['history', '--limit', 'many'], /--limit must be a number/],
    [['history', '--limit', '1e20'], /--limit must be a positive integer, got 100000000000000000000/],
    [['fleet', '--meters', '1000', '--seed'], /Not enough arguments following: seed/],
    [['gbcs', 'decode', ''], /^HEX needs a value$/m],
  ] as const) {
    const r = await runCli([...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /tests:|FLEET/, `${args.join(' ')} ran something`);
  }
});

test('a lone "-" as an option value is refused, before anything is read or written: only file arguments take standard input', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'dash-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  for (const args of [
    ['run', '--evidence', '-', '--no-history'],
    ['dcc', 'serve', '--port', '0', '--xsd', '-'],
  ]) {
    const r = await runCli(args, { cwd });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, /^--(evidence|xsd) -: "-" \(standard input\) is taken by file arguments, not by options$/m);
    t.deepEqual(readdirSync(cwd), [], `${args.join(' ')} wrote something`);
  }
});

test('an option whose check refuses the value is a usage error with its message, not a stack trace', async (t) => {
  for (const [args, message] of [
    [['fleet', '--meters', '1000', '--prepay-share', '2'], '--prepay-share must be between 0 and 1'],
    [['device', 'serve', '--type', 'esme'], 'give either --serial PATH or --pty'],
    [['device', 'serve', '--type', 'esme', '--pty', '--baud', '0'], '--baud 0: a positive integer'],
    [['device', 'serve', '--type', 'gsme', '--pty', '--twin'], '--twin is for --type esme (only an ESME has a second element)'],
    [['device', 'serve', '--type', 'esme', '--pty', '--fuel', 'gas'], '--fuel is for --type smets1 (an ESME is electricity, a GSME gas)'],
    [['device', 'serve', '--type', 'esme', '--pty', '--anchors', '/nonexistent/anchors.json'], 'cannot read the trust anchors file /nonexistent/anchors.json: ENOENT'],
    // A malformed anchors file is the user's to fix, not a failure to serve (exit 3).
    [['device', 'serve', '--type', 'esme', '--pty', '--anchors', notJsonAnchors], `--anchors ${notJsonAnchors}: not JSON (Expected property name or '}' in JSON at position 2)`],
    [['device', 'serve', '--type', 'esme', '--pty', '--anchors', incompleteAnchors], `--anchors ${incompleteAnchors}: supplier: Invalid input: expected object, received undefined; acb: Invalid input: expected object, received undefined`],
    [['run', '--no-history', '--report', 'json=-'], '--report "json=-": a report is written to a file; "-" (standard output) is not one'],
    // The second would silently replace the first.
    [['run', '--no-history', '--report', 'json=out/result', '--report', 'junit=out/../out/result'], '--report json=out/result and --report junit=out/../out/result name the same file'],
    // A report over what the run reads replaced it, and the next run could not load.
    [['run', '--no-history', '--report', 'junit=scenarios/worlds/standard.yaml'], '--report junit=scenarios/worlds/standard.yaml would write over the world file scenarios/worlds/standard.yaml, which this run reads'],
    [['run', 'scenarios/mp134b/br2-certificates.yaml', '--no-history', '--report', 'json=scenarios/mp134b/br2-certificates.yaml'], '--report json=scenarios/mp134b/br2-certificates.yaml would write over the scenario file scenarios/mp134b/br2-certificates.yaml, which this run reads'],
    [['run', '--no-history', '--rig', 'rigs/emulated-serial.yaml', '--report', 'junit=rigs/emulated-serial.yaml'], '--report junit=rigs/emulated-serial.yaml would write over the rig file rigs/emulated-serial.yaml, which this run reads'],
    // yargs lists an option given twice; read as one value it was a TypeError, or a --grep of "a,b".
    [['list', '--tags', 'BR5', '--tags', 'smets1'], '--tags is given more than once'],
    [['list', '--level', 'smoke', '--level', 'nightly'], '--level is given more than once'],
    [['list', '--grep', 'BR1', '--grep', 'smets1'], '--grep is given more than once'],
    [['history', '--db', 'a.sqlite', '--db', 'b.sqlite'], '--db is given more than once'],
    // A timer asked for more than 2^31 - 1 ms fires at once: a generous limit would fail a correct meter.
    [['run', '--no-history', '--scenario-timeout', '600h'], '--scenario-timeout 600h: a time limit above 0 and at most 24 days (the longest a timer waits)'],
    [['run', '--no-history', '--step-timeout', '0ms'], '--step-timeout 0ms: a time limit above 0 and at most 24 days (the longest a timer waits)'],
    [['dcc', 'serve', '--port', '0', '--device-timeout', '99999999999'], '--device-timeout 99999999999: a time limit above 0 and at most 24 days (the longest a timer waits)'],
    [['run', '--no-history', '--device-timeout', 'ten seconds'], '--device-timeout ten seconds: a time limit such as 90s, 10m or 2h (a bare number is milliseconds)'],
    [['rig', 'lease', 'esme-1', '--rig', 'rigs/emulated-serial.yaml', '--lease-dir', join(scratch, 'leases'), '--ttl', '9999999999h'], '--ttl 9999999999h: a lease lasts more than 0 and at most 7d'],
    [['rig', 'renew', 'esme-1', '--rig', 'rigs/emulated-serial.yaml', '--lease-dir', join(scratch, 'leases'), '--ttl', '0s'], '--ttl 0s: a lease lasts more than 0 and at most 7d'],
  ] as const) {
    const r = await runCli([...args]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr, `${message}\nrun smets-hil --help for usage\n`);
  }
});

test('a command group named without its command, or with one it lacks, says which commands it has or which word is wrong', async (t) => {
  for (const [args, message] of [
    [['gbcs'], 'name a gbcs command: decode, recording, command or precommand'],
    [['duis'], 'name a duis command: sign, verify or validate'],
    [['dcc'], 'name a dcc command: serve'],
    [['device'], 'name a device command: serve'],
    [['rig'], 'name a rig command: who, lease, renew, release, check or validate'],
    [['gbcs', 'foo'], 'Unknown argument: foo'],
    [['duis', 'foo'], 'Unknown argument: foo'],
  ] as const) {
    const r = await runCli([...args]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr, `${message}\nrun smets-hil --help for usage\n`);
  }
});

test('run: a report, evidence folder or history that cannot be written is refused before the run', async (t) => {
  const file = join(scratch, 'a-file');
  writeFileSync(file, 'x');
  const garbage = join(scratch, 'garbage.sqlite');
  writeFileSync(garbage, 'garbage');
  const foreign = join(scratch, 'foreign.sqlite');
  new Database(foreign).exec('CREATE TABLE leases (device TEXT)').close();
  for (const [args, message] of [
    [['--report', `json=${join(file, 'out.json')}`, '--no-history'], /^--report .*a-file\/out\.json: cannot write it \(/],
    [['--report', `junit=${scratch}`, '--no-history'], /^--report .*: is a directory/],
    [['--evidence', join(file, 'evidence'), '--no-history'], /^--evidence .*a-file\/evidence: cannot write there \(/],
    [['--history-db', join(file, 'history.sqlite')], /^--history-db .*a-file\/history\.sqlite: cannot write it \(/],
    [['--history-db', garbage], /^--history-db .*garbage\.sqlite: file is not a database$/m],
    [['--history-db', foreign], /^--history-db .*foreign\.sqlite: .* is not a smets-hil run history: it holds the tables leases$/m],
  ] as const) {
    const r = await runCli(['run', '--tags', 'BR2', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /tests:/, 'nothing ran');
  }
});

test('run: an output lost after the run does not lose the others, and the run exits 3 saying which', async (t) => {
  // /dev/full takes the check (it can be opened for writing) and fails the write itself.
  const history = join(scratch, 'kept.sqlite');
  const r = await runCli(['run', '--tags', 'BR2', '--history-db', history, '--report', 'json=/dev/full']);
  t.is(r.code, 3, r.stdout + r.stderr);
  t.regex(r.stderr, /^cannot write report \/dev\/full: ENOSPC/);
  const h = await runCli(['history', '--db', history, '--json']);
  t.is((JSON.parse(h.stdout) as unknown[]).length, 1, 'the history has the run');
});

test('list: the pack at the pit level, filtered by tags', async (t) => {
  const r = await runCli(['list', '--tags', 'BR7']);
  t.is(r.code, 0);
  t.regex(r.stdout, /BR7-alerts-reach-srp-after-revocation\[device=esme\]/);
  t.regex(r.stdout, /\n\d+ scenario\(s\)\n$/);
  t.notRegex(r.stdout, /BR3-every-other-srv-refused/);
});

test('run stopped by SIGTERM (a CI job timeout) or Ctrl-C keeps what ran: reports and history written, the rest skipped, exit 130', async (t) => {
  const { spawn } = await import('node:child_process');
  const json = join(scratch, 'interrupted.json');
  const db = join(scratch, 'interrupted.sqlite');
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'run', '--tags', 'BR4', '--report', `json=${json}`, '--history-db', db], { cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/\[\s*2\/\d+\]/.test(stdout)) resolve();
    });
    void exited.then(() => reject(new Error(`the run ended before it was interrupted: ${stdout}${stderr}`)));
  });
  child.kill('SIGTERM');
  child.kill('SIGTERM'); // a second signal is absorbed until the results are written
  t.is(await exited, 130, stderr);
  t.regex(stderr, /interrupted: the scenarios not started are reported as skipped\n$/);
  const report = JSON.parse(readFileSync(json, 'utf8')) as { summary: { total: number; passed: number; failed: number; skipped: number }; tests: { verdict: string; message?: string }[] };
  t.true(report.summary.passed >= 1, JSON.stringify(report.summary));
  t.true(report.summary.skipped >= 1, JSON.stringify(report.summary));
  t.is(report.summary.failed, 0, JSON.stringify(report.tests.filter((x) => x.verdict === 'fail')));
  for (const x of report.tests.filter((x) => x.verdict === 'skip')) t.is(x.message, 'the run was interrupted before this scenario started');
  for (const x of report.tests.filter((x) => x.verdict === 'error')) t.regex(x.message ?? '', /the run was interrupted/);
  const history = new Database(db, { readonly: true });
  t.is((history.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n, 1, 'the run is in the history');
  history.close();
});

test('run whose standard output is closed by its reader (| head) still writes its reports and exits with its own code', async (t) => {
  const { spawn } = await import('node:child_process');
  const json = join(scratch, 'epipe.json');
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'run', '--tags', 'BR2', '--no-history', '--report', `json=${json}`], { cwd: repoRoot });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr.resume();
  // The reader goes away after the first chunk, as `head -1` does.
  child.stdout.once('data', () => child.stdout.destroy());
  t.is(await exited, 0);
  t.is(JSON.parse(readFileSync(json, 'utf8')).summary.passed, 3);
});

test('a usage error with standard output and error both piped into a reader that has gone (2>&1 | head) still exits 2', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'run', '--no-such-option'], { cwd: repoRoot });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Nobody reads either stream any more: the first write to each fails with EPIPE.
  child.stdout.destroy();
  child.stderr.destroy();
  t.is(await exited, 2);
});

test('a run whose standard output is on a full disk still runs, writes its reports and history, and exits 3 (its console is lost), not 1', async (t) => {
  const { spawn } = await import('node:child_process');
  const { openSync, closeSync } = await import('node:fs');
  const json = join(scratch, 'full-console.json');
  const db = join(scratch, 'full-console.sqlite');
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'run', '--grep', '^CTRL-network-operator-cannot-switch$', '--history-db', db, '--report', `json=${json}`], { cwd: repoRoot, stdio: ['ignore', full, 'pipe'] });
  closeSync(full);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.is(code, 3, stderr);
  t.regex(stderr, /the console could not be written \(ENOSPC/);
  t.is(JSON.parse(readFileSync(json, 'utf8')).summary.passed, 1);
  const history = new Database(db, { readonly: true });
  t.is((history.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n, 1);
  history.close();
});

test('a folder under a scenario path that cannot be listed is an invalid input (exit 2, naming it), not a crash', async (t) => {
  const { spawn } = await import('node:child_process');
  const { chmodSync, copyFileSync, mkdirSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-unlistable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  copyFileSync(join(repoRoot, 'scenarios/mp134b/controls.yaml'), join(dir, 'controls.yaml'));
  writeFileSync(join(dir, 'controls.yaml'), readFileSync(join(dir, 'controls.yaml'), 'utf8').replace('../worlds/standard.yaml', join(repoRoot, 'scenarios/worlds/standard.yaml')));
  mkdirSync(join(dir, 'lost+found'), { mode: 0o000 });
  // Root lists any folder: the CLI runs as nobody then, as a CI user would.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'list', dir], { cwd: tmpdir(), ...asNobody });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.is(code, 2, stderr);
  t.true(stderr.includes(`${join(dir, 'lost+found')}: cannot list: EACCES`), stderr);
});

test('a signal after the last scenario ended (the outputs being written) interrupted nothing: the reports say so, and the exit code agrees', async (t) => {
  const { execFileSync, spawn } = await import('node:child_process');
  const fifo = join(scratch, 'report.fifo');
  execFileSync('mkfifo', [fifo]);
  const db = join(scratch, 'late-signal.sqlite');
  // The JSON report is a FIFO: the run waits in writing its outputs until the test reads it.
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'run', '--grep', '^CTRL-network-operator-cannot-switch$', '--report', `json=${fifo}`, '--history-db', db], { cwd: scratch });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/^1 test: 1 passed/m.test(stdout)) resolve();
    }),
  );
  child.kill('SIGTERM');
  const report = JSON.parse(readFileSync(fifo, 'utf8')) as { interrupted?: string; summary: { passed: number } };
  t.is(await exited, 0);
  t.is(report.interrupted, undefined);
  t.is(report.summary.passed, 1);
});

test('list prints a scenario title with control characters as visible escapes', async (t) => {
  const file = join(scratch, 'hostile-title.yaml');
  writeFileSync(file, `world: ${join(repoRoot, 'scenarios/worlds/standard.yaml')}\nscenarios:\n  - id: s1\n    title: "clears\\e[2J the screen\\a"\n    steps:\n      - advance: 1h\n`);
  const r = await runCli(['list', file]);
  t.is(r.code, 0, r.stderr);
  t.false(/[\u0000-\u0009\u000B-\u001F]/.test(r.stdout), r.stdout);
  t.regex(r.stdout, /^s1\s+pit\s+\[\]\s+clears\\x1B\[2J the screen\\x07$/m);
});

test('a scenario file whose problems quote control characters is reported with them as visible escapes', async (t) => {
  const file = join(scratch, 'hostile-key.yaml');
  writeFileSync(file, `world: ${join(repoRoot, 'scenarios/worlds/standard.yaml')}\nscenarios:\n  - id: s1\n    title: t\n    "\\e]0;owned\\a": 1\n    steps:\n      - advance: 1h\n`);
  const r = await runCli(['list', file]);
  t.is(r.code, 2, r.stderr);
  t.false(/[\u0000-\u0009\u000B-\u001F]/.test(r.stderr), r.stderr);
  t.true(r.stderr.includes('\\x1B]0;owned\\x07'), r.stderr);
});

test('scenarios a --level leaves out are counted on stderr, not dropped in silence', async (t) => {
  const file = join(scratch, 'levels.yaml');
  const world = join(repoRoot, 'scenarios/worlds/standard.yaml');
  writeFileSync(file, `world: ${world}\nscenarios:\n  - id: quick\n    title: t\n    steps:\n      - advance: 1h\n  - id: long-one\n    title: t\n    level: nightly\n    steps:\n      - advance: 1h\n`);
  const r = await runCli(['list', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^quick\s/m);
  t.notRegex(r.stdout, /long-one/);
  t.is(r.stderr, '1 scenario left out by --level pit (nightly): --level nightly includes every level\n');
  const all = await runCli(['list', file, '--level', 'nightly']);
  t.regex(all.stdout, /long-one/);
  t.is(all.stderr, '');
});
