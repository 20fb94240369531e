import test from 'ava';
import { ConsoleReporter, defaultColor, renderVerdictTable } from '../../../harness/reporters/console.ts';
import type { RunRecord } from '../../../harness/results.ts';
import { sampleRun } from './sample-run.ts';

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(s: string) {
    this.text += s;
    return true;
  }
}

/** Feeds a finished run through the listener the way the engine calls it while running. */
function replay(reporter: ConsoleReporter, run: RunRecord): void {
  for (const t of run.tests) {
    if (t.attempts.length) reporter.onTestStart({ id: t.id, title: t.title });
    for (const a of t.attempts) {
      reporter.onAttemptStart({ id: t.id }, a.attempt);
      for (const s of a.steps) reporter.onStepEnd({ id: t.id }, s);
    }
    reporter.onTestEnd(t);
  }
  reporter.onRunEnd(run);
}

const ANSI = /\x1b\[/;

test('live progress: a line per test start, per step and per verdict, with retries visible', (t) => {
  const out = new Capture();
  const run = sampleRun();
  replay(new ConsoleReporter({ out, total: run.tests.length }), run);
  const lines = out.text.split('\n');
  t.is(lines[0], '[1/5] BR1-sc-credit-esme  SC switches a prepayment ESME of the failed supplier to Credit');
  t.is(lines[1], '      ok     1 IS switches ESME-1 to Prepayment (CV1)  12 ms');
  t.is(lines[2], '    PASS BR1-sc-credit-esme (1.2 s)');
  t.true(lines.includes('      FAIL   2 SC sends an altered Pre-Command to ESME-1 (CV5)  13 ms: expected response code E53, got I0'));
  const retry = lines.indexOf('      attempt 2');
  t.true(retry > 0);
  t.is(lines[retry + 2], '    PASS BR5-altered-precommand[gsme] (3.1 s, 2 attempts)');
  t.true(lines.includes('[5/5] SKIP BR7-nightly-soak (0 ms) - the run timed out before this scenario started'), 'a test skipped without starting still gets its line');
});

test('every retry is announced with its number, also after an attempt that ran no step (its world could not be set up)', (t) => {
  const out = new Capture();
  const run = sampleRun();
  const test0 = run.tests[0]!;
  const step = test0.attempts[0]!.steps[0]!;
  test0.attempts = [
    { ...test0.attempts[0]!, attempt: 1, verdict: 'error', steps: [], message: 'setting up the world failed: the S1SP did not answer' },
    { ...test0.attempts[0]!, attempt: 2, verdict: 'error', steps: [{ ...step, verdict: 'error' }] },
    { ...test0.attempts[0]!, attempt: 3, verdict: 'pass', steps: [step] },
  ];
  run.tests = [test0];
  replay(new ConsoleReporter({ out, steps: false }), run);
  t.deepEqual(out.text.split('\n').filter((l) => l.startsWith('      attempt')), ['      attempt 2', '      attempt 3']);
});

test('the verdict table lists id, verdict, attempts and duration, then failures with message and first unexpected change', (t) => {
  const text = renderVerdictTable(sampleRun());
  const lines = text.split('\n');
  t.deepEqual(lines.slice(0, 7), [
    'ID                            VERDICT  ATTEMPTS  DURATION',
    '----------------------------  -------  --------  --------',
    'BR1-sc-credit-esme            PASS            1     1.2 s',
    'BR5-altered-precommand[esme]  FAIL            1     2.5 s',
    'BR5-altered-precommand[gsme]  PASS            2     3.1 s',
    'BR3-smets1-prepayment         ERROR           2    20.0 s',
    'BR7-nightly-soak              SKIP            0      0 ms',
  ]);
  t.true(text.includes('  FAIL BR5-altered-precommand[esme]  Altered Pre-Command <refused> & "no change"  (scenarios/mp134b/br5-precommand.yaml)\n    step 2 (SC sends an altered Pre-Command to ESME-1 (CV5)): expected response code E53, got I0\n    first unexpected change: ESME-1 tariff.price: 1200 -> 1 (step 2, SC sends an altered Pre-Command to ESME-1 (CV5))\n'));
  t.true(text.includes('  ERROR BR3-smets1-prepayment  SMETS1 Prepayment request refused'));
  t.true(text.endsWith('5 tests: 2 passed, 1 failed, 1 error, 1 skipped in 26.8 s (run 3f9c2a8e-6b1d-4e7a-9c55-0d2f1e3a4b5c, target emulated)\n'));
});

test('no colour when the output is not a terminal; colour on a terminal unless NO_COLOR is set', (t) => {
  const plain = new Capture(false);
  replay(new ConsoleReporter({ out: plain }), sampleRun());
  t.notRegex(plain.text, ANSI);

  const tty = new Capture(true);
  t.true(defaultColor(tty, {}));
  t.false(defaultColor(tty, { NO_COLOR: '1' }));
  replay(new ConsoleReporter({ out: tty, color: defaultColor(tty, {}) }), sampleRun());
  t.regex(tty.text, ANSI);
  // Colour never changes the column layout.
  const stripped = tty.text.replace(/\x1b\[[0-9;]*m/g, '');
  t.is(stripped, plain.text);
});

test('steps can be left out of the live output', (t) => {
  const out = new Capture();
  replay(new ConsoleReporter({ out, steps: false }), sampleRun());
  t.false(out.text.includes(' ok '));
  t.true(out.text.includes('      attempt 2'));
});

test('control characters in titles, messages and changes reach the terminal as visible escapes, never raw', (t) => {
  const run = sampleRun();
  const failed = run.tests[1]!;
  failed.title = 'clears the screen\x1b[2J and beeps\x07';
  const step = failed.attempts[0]!.steps[1]!;
  step.title = 'reversed \u202Etxet';
  step.message = 'meter said "\x1b]0;owned\x07"\nand more';
  const out = new Capture(false);
  replay(new ConsoleReporter({ out, total: run.tests.length }), run);
  const raw = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
  t.false(raw.test(out.text), 'only line breaks of its own');
  t.true(out.text.includes('clears the screen\\x1B[2J and beeps\\x07'));
  t.true(out.text.includes('reversed \\u202Etxet'));
  t.true(out.text.includes('meter said "\\x1B]0;owned\\x07"\n          and more'), 'a message keeps its line breaks, its later lines set in');
  t.false(raw.test(renderVerdictTable(run)));
});
