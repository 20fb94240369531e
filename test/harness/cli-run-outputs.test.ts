/** `smets-hil run`: outputs that would write over each other (a report on the run history, a report where the evidence folder goes) are refused before the run. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'smets-hil-cli-run-outputs-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** One short scenario: the refusals below must come before it runs. */
const ONE = ['run', '--grep', '^CTRL-network-operator-cannot-switch$'];

async function historyRuns(db: string): Promise<number> {
  const h = await runCli(['history', '--db', db, '--json']);
  return (JSON.parse(h.stdout) as unknown[]).length;
}

test('run: a report on the run history, or on the files SQLite keeps beside it, is refused before the run and the history is kept', async (t) => {
  const dir = join(scratch, 'history');
  mkdirSync(dir);
  const first = await runCli([...ONE, '--history-db', 'hist.sqlite'], { cwd: dir });
  t.is(first.code, 0, first.stdout + first.stderr);
  const before = readFileSync(join(dir, 'hist.sqlite'));
  symlinkSync('hist.sqlite', join(dir, 'link.sqlite'));
  for (const [args, message] of [
    [['--report', 'json=hist.sqlite', '--history-db', 'hist.sqlite'], '--report json=hist.sqlite and --history-db hist.sqlite name the same file'],
    [['--report', 'html=sub/../hist.sqlite', '--history-db', './hist.sqlite'], '--report html=sub/../hist.sqlite and --history-db ./hist.sqlite name the same file'],
    [['--report', 'json=link.sqlite', '--history-db', 'hist.sqlite'], '--report json=link.sqlite and --history-db hist.sqlite name the same file'],
    [['--report', 'junit=hist.sqlite-wal', '--history-db', 'hist.sqlite'], '--report junit=hist.sqlite-wal and --history-db hist.sqlite (its hist.sqlite-wal) name the same file'],
    [['--report', 'json=hist.sqlite-journal', '--history-db', 'link.sqlite'], '--report json=hist.sqlite-journal and --history-db link.sqlite (its hist.sqlite-journal) name the same file'],
    [['--report', 'json=.smets-hil/history.sqlite'], '--report json=.smets-hil/history.sqlite and the run history .smets-hil/history.sqlite name the same file'],
    [['--evidence', 'hist.sqlite', '--history-db', 'hist.sqlite'], '--evidence hist.sqlite and --history-db hist.sqlite name the same path'],
  ] as const) {
    const r = await runCli([...ONE, ...args], { cwd: dir });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.is(r.stderr, `${message}\nrun smets-hil --help for usage\n`);
    t.notRegex(r.stdout, /\btests?:/, 'nothing ran');
  }
  t.deepEqual(readFileSync(join(dir, 'hist.sqlite')), before, 'the history file is untouched');
  t.is(await historyRuns(join(dir, 'hist.sqlite')), 1);
  t.is(statSync(join(dir, '.smets-hil'), { throwIfNoEntry: false }), undefined, 'the default history was not made');
});

test('run: a report where the evidence folder (or another report, or the history) needs a folder is refused before the run', async (t) => {
  const dir = join(scratch, 'evidence');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a-file'), 'x');
  for (const [args, message] of [
    [['--report', 'json=same', '--evidence', 'same', '--no-history'], /^--report json=same and --evidence same name the same path$/m],
    [['--report', 'json=out', '--evidence', 'out/evidence', '--no-history'], /^--report json=out and --evidence out\/evidence collide: the first is written as a file, the second inside it$/m],
    [['--report', 'json=out', '--report', 'junit=out/junit.xml', '--no-history'], /^--report json=out and --report junit=out\/junit\.xml collide: the first is written as a file, the second inside it$/m],
    [['--report', 'json=out', '--history-db', 'out/h.sqlite'], /^--report json=out and --history-db out\/h\.sqlite collide: the first is written as a file, the second inside it$/m],
    // Refused before as well: what is there already is of the wrong kind.
    [['--report', `json=${dir}`, '--no-history'], /^--report .*: is a directory$/m],
    [['--evidence', 'a-file', '--no-history'], /^--evidence a-file: cannot write there \(ENOTDIR/m],
  ] as const) {
    const r = await runCli([...ONE, ...args], { cwd: dir });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /\btests?:/, 'nothing ran');
  }
  t.is(statSync(join(dir, 'out'), { throwIfNoEntry: false }), undefined, 'no folder was made for a refused run');
});

test('run: reports and the history may go inside the evidence folder: each bundle gets a folder of its own there', async (t) => {
  const dir = join(scratch, 'together');
  mkdirSync(dir);
  const r = await runCli([...ONE, '--step-timeout', '90s', '--evidence', 'out', '--report', 'json=out/run.json', '--history-db', 'out/history.sqlite'], { cwd: dir });
  t.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(readFileSync(join(dir, 'out', 'run.json'), 'utf8')) as { summary: { passed: number }; options: Record<string, unknown> };
  t.is(report.summary.passed, 1);
  // The report says what chose its one test and what limits it ran under, as given.
  t.like(report.options, { grep: '^CTRL-network-operator-cannot-switch$', timeouts: { run: null, scenario: null, step: '90s', device: null } });
  t.regex(r.stdout, /^evidence: .*\/out\/\d{8}T\d{6}Z-[0-9a-f-]+$/m);
  t.is(await historyRuns(join(dir, 'out', 'history.sqlite')), 1);
});
