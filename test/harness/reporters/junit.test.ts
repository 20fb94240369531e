import test from 'ava';
import { classnameFor, renderJunit } from '../../../harness/reporters/junit.ts';
import { child, children, parseXml, type XmlNode } from './xml-tree.ts';
import { sampleRun } from './sample-run.ts';

function testcases(root: XmlNode): XmlNode[] {
  return children(root, 'testsuite').flatMap((s) => children(s, 'testcase'));
}

function testcase(root: XmlNode, name: string): XmlNode {
  const tc = testcases(root).find((c) => c.attrs.name === name);
  if (!tc) throw new Error(`no testcase ${name}`);
  return tc;
}

test('is well-formed XML with run totals on <testsuites> and one <testsuite> per scenario file', (t) => {
  const root = parseXml(renderJunit(sampleRun()));
  t.is(root.name, 'testsuites');
  t.like(root.attrs, { tests: '5', failures: '1', errors: '1', skipped: '1', time: '26.790' });
  const suites = children(root, 'testsuite');
  t.deepEqual(
    suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures, s.attrs.errors, s.attrs.skipped]),
    [
      ['scenarios/mp134b/br1-switch.yaml', '1', '0', '0', '0'],
      ['scenarios/mp134b/br5-precommand.yaml', '2', '1', '0', '0'],
      ['scenarios/mp134b/br3-smets1.yaml', '1', '0', '1', '0'],
      ['scenarios/mp134b/br7-soak.yaml', '1', '0', '0', '1'],
    ],
  );
  t.is(suites[1]!.attrs.time, '5.550');
  const props = children(child(suites[0]!, 'properties')!, 'property');
  t.is(props.find((p) => p.attrs.name === 'runId')?.attrs.value, '3f9c2a8e-6b1d-4e7a-9c55-0d2f1e3a4b5c');
  t.false(props.some((p) => p.attrs.name === 'defects'), 'a real run seeds none');
});

test('a negative-control run names the defects it seeded in every suite, so a dashboard can tell its failures apart', (t) => {
  const run = sampleRun();
  run.options = { ...run.options, defects: ['sc-allowed-ecs03', 'meter-ignores-counter'] };
  for (const suite of children(parseXml(renderJunit(run)), 'testsuite')) {
    const props = children(child(suite, 'properties')!, 'property');
    t.is(props.find((p) => p.attrs.name === 'defects')?.attrs.value, 'sc-allowed-ecs03,meter-ignores-counter');
  }
});

test('each test is a testcase with classname, name and time in seconds', (t) => {
  const root = parseXml(renderJunit(sampleRun()));
  const tc = testcase(root, 'BR1-sc-credit-esme');
  t.like(tc.attrs, { classname: 'scenarios.mp134b.br1-switch', time: '1.230', file: 'scenarios/mp134b/br1-switch.yaml' });
  t.deepEqual(tc.children.map((c) => c.name), ['system-out'], 'a pass has no failure, error or skipped element');
});

test('a failure carries its message and the first unexpected state change', (t) => {
  const tc = testcase(parseXml(renderJunit(sampleRun())), 'BR5-altered-precommand[esme]');
  const failure = child(tc, 'failure')!;
  t.is(failure.attrs.message, 'step 2 (SC sends an altered Pre-Command to ESME-1 (CV5)): expected response code E53, got I0');
  t.regex(failure.text, /first unexpected state change: ESME-1 tariff\.price: 1200 -> 1/);
  t.is(child(tc, 'error'), undefined);
  const out = child(tc, 'system-out')!.text;
  t.true(out.startsWith('BR5-altered-precommand[esme]: Altered Pre-Command <refused> & "no change"'), 'the title round-trips through escaping');
  t.regex(out, /ESME-1 tariff\.price: 1200 -> 1 {2}UNEXPECTED/);
  t.regex(out, /user->dcc duis 90-B3-D5-1F-30-0C-00-00: CV5 SRV 1\.6 Signed Pre-Command <altered> & "re-signed"/);
});

test('every attempt is kept: earlier ones as flaky/rerun elements and all of them in system-out', (t) => {
  const root = parseXml(renderJunit(sampleRun()));
  const flaky = testcase(root, 'BR5-altered-precommand[gsme]');
  t.deepEqual(flaky.children.map((c) => c.name), ['flakyError', 'system-out'], 'passed on retry: counted as a pass, the error kept as flaky');
  t.is(child(flaky, 'flakyError')!.attrs.message, 'step 1 (set up world): serial link /dev/ttyUSB0 closed');
  t.regex(child(child(flaky, 'flakyError')!, 'stackTrace')!.text, /^Attempt 1 of 2: error/);
  const flakyOut = child(flaky, 'system-out')!.text;
  t.regex(flakyOut, /Attempt 1 of 2: error/);
  t.regex(flakyOut, /Attempt 2 of 2: pass/);

  const errored = testcase(root, 'BR3-smets1-prepayment');
  t.deepEqual(errored.children.map((c) => c.name), ['error', 'rerunError', 'system-out']);
  t.is(child(errored, 'error')!.attrs.type, 'error');
});

test('a skipped test says why', (t) => {
  const tc = testcase(parseXml(renderJunit(sampleRun())), 'BR7-nightly-soak');
  t.is(child(tc, 'skipped')!.attrs.message, 'the run timed out before this scenario started');
  t.is(tc.attrs.time, '0.000');
});

test('messages with markup, CDATA ends and control characters still give well-formed XML', (t) => {
  const run = sampleRun();
  const failed = run.tests[1]!;
  failed.attempts[0]!.message = 'bad ]]> <x/> & \u0000\u001B "q"\r\nnext';
  failed.id = 'id with "quotes" & <angle>';
  const tc = testcase(parseXml(renderJunit(run)), 'id with "quotes" & <angle>');
  t.is(child(tc, 'failure')!.attrs.message, 'bad ]]> <x/> & \\x00\\x1B "q"\r\nnext');
});

test('classname turns the scenario path into a dotted package and class', (t) => {
  t.is(classnameFor('scenarios/mp134b/br5-altered.yaml'), 'scenarios.mp134b.br5-altered');
  t.is(classnameFor('./local.yml'), 'local');
  t.is(classnameFor('a\\b\\c.yaml'), 'a.b.c');
});
