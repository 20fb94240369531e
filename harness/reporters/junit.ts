/**
 * JUnit XML (`--report junit=FILE`) in the Ant/Surefire dialect that Jenkins, GitLab and the GitHub test-report
 * actions read. One <testsuite> per scenario file, one <testcase> per test:
 *  - classname: the scenario file without extension, dotted ("scenarios.mp134b.br5"), so Jenkins shows the
 *    folder as package and the file as class; name: the test id (stable across runs, so CI tracks its history).
 *  - the verdict of the last attempt: fail -> <failure>, error -> <error>, skip -> <skipped>, pass -> nothing.
 *  - every attempt kept twice over: earlier attempts as Surefire's rerun elements (<flakyFailure>/<flakyError>
 *    when the test passed in the end, <rerunFailure>/<rerunError> when it did not), which flaky-aware readers
 *    (Jenkins' Flaky Test Handler, Gradle, action-junit-report) understand and the rest ignore; and the full
 *    text of every attempt, steps, state changes and traffic summaries, in <system-out>, which Jenkins and
 *    GitLab both show on the test's page.
 */
import { type AttemptRecord, type RunRecord, seededDefects, type TestRecord } from '../results.ts';
import { attemptText } from './attempt-text.ts';
import { escapeAttr, escapeText } from './markup-escape.ts';
import { attemptMessage, describeChange, failureMessage, firstUnexpectedChange, runSummary } from './run-facts.ts';

/** "scenarios/mp134b/br5-altered.yaml" -> "scenarios.mp134b.br5-altered". */
export function classnameFor(file: string): string {
  const noExt = file.replace(/\.[^./\\]+$/, '');
  return noExt.replace(/^[./\\]+/, '').replace(/[/\\]+/g, '.') || 'scenarios';
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** Ant's schema wants a local date-time without zone; the run's times are UTC. */
function antTimestamp(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 19);
}

function el(name: string, attrs: Record<string, string | number | undefined>, body?: string): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join('');
  return body === undefined ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

function rerunElement(test: TestRecord, attempt: AttemptRecord): string | undefined {
  if (attempt.verdict !== 'fail' && attempt.verdict !== 'error') return undefined;
  const kind = attempt.verdict === 'fail' ? 'Failure' : 'Error';
  const name = test.verdict === 'pass' ? `flaky${kind}` : `rerun${kind}`;
  const text = attemptText(attempt, test.attempts.length);
  return el(name, { message: attemptMessage(attempt) ?? attempt.verdict, type: attempt.verdict }, el('stackTrace', {}, escapeText(text)));
}

function verdictElement(test: TestRecord): string {
  const message = failureMessage(test);
  if (test.verdict === 'skip') return el('skipped', { message: message ?? 'skipped' });
  if (test.verdict === 'pass') return '';
  const body = [message ?? test.verdict];
  const change = firstUnexpectedChange(test);
  if (change) body.push(`first unexpected state change: ${describeChange(change)}`);
  return el(test.verdict === 'fail' ? 'failure' : 'error', { message: message ?? test.verdict, type: test.verdict }, escapeText(body.join('\n')));
}

function systemOut(test: TestRecord): string {
  const head = [`${test.id}: ${test.title}`, `file: ${test.file}  level: ${test.level}  tags: ${test.tags.join(', ') || '-'}`];
  if (test.skipReason) head.push(`skipped: ${test.skipReason}`);
  const parts = [head.join('\n'), ...test.attempts.map((a) => attemptText(a, test.attempts.length))];
  return el('system-out', {}, escapeText(parts.join('\n\n')));
}

function testcase(test: TestRecord): string {
  const earlier = test.attempts.slice(0, -1).map((a) => rerunElement(test, a)).filter((x): x is string => x !== undefined);
  const body = [verdictElement(test), ...earlier, systemOut(test)].filter(Boolean).map((x) => `      ${x}`).join('\n');
  return `    ${el('testcase', { classname: classnameFor(test.file), name: test.id, time: seconds(test.durationMs), file: test.file }, `\n${body}\n    `)}`;
}

/** Tests grouped by scenario file, in the order the run met them. */
function byFile(tests: readonly TestRecord[]): Map<string, TestRecord[]> {
  const groups = new Map<string, TestRecord[]>();
  for (const t of tests) {
    const g = groups.get(t.file);
    if (g) g.push(t);
    else groups.set(t.file, [t]);
  }
  return groups;
}

function properties(run: RunRecord): string {
  const props: [string, string][] = [
    ['runId', run.runId],
    ['startedAt', run.startedAt],
    ['target', run.target],
    ['smetsHil', run.environment.smetsHil],
    ['node', run.environment.node],
    ['platform', run.environment.platform],
    // A negative control's failures are expected: a dashboard must be able to tell its runs apart.
    ...(seededDefects(run).length ? [['defects', seededDefects(run).join(',')] as [string, string]] : []),
    ...(run.interrupted ? [['interrupted', run.interrupted] as [string, string]] : []),
  ];
  return `    <properties>\n${props.map(([name, value]) => `      ${el('property', { name, value })}`).join('\n')}\n    </properties>`;
}

export function renderJunit(run: RunRecord): string {
  const total = runSummary(run);
  const suites: string[] = [];
  let id = 0;
  for (const [file, tests] of byFile(run.tests)) {
    const s = runSummary({ ...run, tests });
    const attrs = {
      name: file,
      tests: s.total,
      failures: s.failed,
      errors: s.errors,
      skipped: s.skipped,
      time: seconds(tests.reduce((n, t) => n + t.durationMs, 0)),
      timestamp: antTimestamp(tests.find((t) => t.attempts[0])?.attempts[0]?.startedAt ?? run.startedAt),
      hostname: run.environment.host,
      id: id++,
      package: classnameFor(file).split('.').slice(0, -1).join('.') || undefined,
    };
    suites.push(`  ${el('testsuite', attrs, `\n${properties(run)}\n${tests.map(testcase).join('\n')}\n  `)}`);
  }
  const root = el(
    'testsuites',
    { name: `smets-hil ${run.runId}`, tests: total.total, failures: total.failed, errors: total.errors, skipped: total.skipped, time: seconds(run.durationMs), timestamp: antTimestamp(run.startedAt) },
    `\n${suites.join('\n')}\n`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}
