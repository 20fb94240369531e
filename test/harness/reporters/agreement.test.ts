/**
 * Reports agree with each other: one RunRecord rendered by every reporter gives the same counts and, for each
 * test, the same verdict and attempt count in the console table, JSON, JUnit, the HTML page (as Chromium
 * parses and shows it), the run history and the evidence bundle's copies.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { History } from '../../../harness/history.ts';
import { renderVerdictTable } from '../../../harness/reporters/console.ts';
import { writeEvidenceBundle } from '../../../harness/reporters/evidence.ts';
import { renderHtml } from '../../../harness/reporters/html.ts';
import { renderJson } from '../../../harness/reporters/json.ts';
import { renderJunit } from '../../../harness/reporters/junit.ts';
import type { AttemptRecord, RunRecord, RunSummary, TestRecord, Verdict } from '../../../harness/results.ts';
import { summarize } from '../../../harness/results.ts';
import { launchChromium } from './browser.ts';
import { child, children, parseXml } from './xml-tree.ts';
import { sampleRun } from './sample-run.ts';

interface Row {
  id: string;
  verdict: Verdict;
  attempts: number;
}
interface View {
  summary: RunSummary;
  rows: Row[];
}

/** Every final verdict with every number of attempts the engine can produce, spread over several files. */
function bigRun(): RunRecord {
  const run = sampleRun();
  const tests: TestRecord[] = [...run.tests];
  const verdicts: Verdict[] = ['pass', 'fail', 'error'];
  let n = 0;
  for (const verdict of verdicts) {
    for (let attempts = 1; attempts <= 3; attempts++) {
      n++;
      const list: AttemptRecord[] = Array.from({ length: attempts }, (_, i) => {
        const last = i === attempts - 1;
        const v: Verdict = last ? verdict : 'error';
        return { attempt: i + 1, verdict: v, startedAt: `2026-11-01T08:00:0${i}.000Z`, durationMs: 10, steps: [], ...(v === 'pass' ? {} : { message: `attempt ${i + 1}: ${v} <${n}>` }) };
      });
      tests.push({ id: `gen-${n}/${verdict}x${attempts} "q" & <t>`, title: `generated ${n}`, file: `scenarios/gen/g${n % 3}.yaml`, tags: [`g${n % 3}`], level: 'pit', verdict, attempts: list, durationMs: 10 * attempts });
    }
  }
  tests.push({ id: 'gen-skip', title: 'skipped', file: 'scenarios/gen/g0.yaml', tags: [], level: 'nightly', verdict: 'skip', attempts: [], durationMs: 0, skipReason: 'level nightly not selected' });
  return { ...run, tests, summary: summarize(tests) };
}

const expected = (run: RunRecord): View => ({ summary: summarize(run.tests), rows: run.tests.map((t) => ({ id: t.id, verdict: t.verdict, attempts: t.attempts.length })) });

function fromJson(text: string): View {
  const r = JSON.parse(text);
  return { summary: r.summary, rows: r.tests.map((t: Row) => ({ id: t.id, verdict: t.verdict, attempts: t.attempts })) };
}

function fromJunit(text: string, order: readonly string[]): View {
  const root = parseXml(text);
  const rows = children(root, 'testsuite')
    .flatMap((s) => children(s, 'testcase'))
    .map((tc): Row => {
      const verdict: Verdict = child(tc, 'failure') ? 'fail' : child(tc, 'error') ? 'error' : child(tc, 'skipped') ? 'skip' : 'pass';
      const attempts = (child(tc, 'system-out')?.text.match(/^Attempt \d+ of \d+:/gm) ?? []).length;
      return { id: tc.attrs.name!, verdict, attempts };
    });
  // JUnit groups by file; put rows back in run order to compare.
  rows.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const a = root.attrs;
  const total = Number(a.tests);
  const summary = { total, passed: total - Number(a.failures) - Number(a.errors) - Number(a.skipped), failed: Number(a.failures), errors: Number(a.errors), skipped: Number(a.skipped) };
  return { summary, rows };
}

function fromConsole(text: string): View {
  const lines = text.split('\n');
  const rows: Row[] = [];
  for (const line of lines.slice(2)) {
    if (line === '') break;
    const m = /^(.*?)\s+(PASS|FAIL|ERROR|SKIP)\s+(\d+)\s+\S+ \S+$/.exec(line);
    if (!m) throw new Error(`unreadable table line: ${line}`);
    rows.push({ id: m[1]!, verdict: m[2]!.toLowerCase() as Verdict, attempts: Number(m[3]) });
  }
  const s = /^(\d+) tests?: (\d+) passed, (\d+) failed, (\d+) errors?, (\d+) skipped/m.exec(text);
  if (!s) throw new Error('no summary line');
  return { summary: { total: +s[1]!, passed: +s[2]!, failed: +s[3]!, errors: +s[4]!, skipped: +s[5]! }, rows };
}

function fromHistory(file: string, run: RunRecord): View {
  const h = History.open(file, { readonly: true });
  try {
    const r = h.runs(1)[0]!;
    const rows = run.tests.map((t) => {
      const v = h.testHistory(t.id, 1)[0]!;
      return { id: v.testId, verdict: v.verdict, attempts: v.attempts };
    });
    return { summary: { total: r.total, passed: r.passed, failed: r.failed, errors: r.errors, skipped: r.skipped }, rows };
  } finally {
    h.close();
  }
}

test('console, JSON, JUnit, HTML, history and the evidence bundle agree on counts, verdicts and attempts', async (t) => {
  const run = bigRun();
  const want = expected(run);
  t.deepEqual(want.summary, { total: 15, passed: 5, failed: 4, errors: 4, skipped: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-agree-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const order = run.tests.map((x) => x.id);

  t.deepEqual(fromConsole(renderVerdictTable(run)), want, 'console');
  t.deepEqual(fromJson(renderJson(run)), want, 'json');
  t.deepEqual(fromJunit(renderJunit(run), order), want, 'junit');

  const db = join(dir, 'history.sqlite');
  const h = History.open(db);
  h.record(run);
  h.close();
  t.deepEqual(fromHistory(db, run), want, 'history');

  const { dir: bundle } = await writeEvidenceBundle(run, dir);
  t.deepEqual(fromJson(readFileSync(join(bundle, 'report.json'), 'utf8')), want, 'bundle json');
  t.deepEqual(fromJunit(readFileSync(join(bundle, 'report.junit.xml'), 'utf8'), order), want, 'bundle junit');
  t.is(readFileSync(join(bundle, 'report.html'), 'utf8'), renderHtml(run));

  // The HTML as a reader sees it: counts in the summary, and per test the table row and its section's attempts.
  const html = join(dir, 'report.html');
  writeFileSync(html, renderHtml(run));
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(pathToFileURL(html).href);
  const count = async (key: string) => Number(await page.locator(`#summary [data-count="${key}"] dd`).innerText());
  const summary = { total: await count('total'), passed: await count('passed'), failed: await count('failed'), errors: await count('errors'), skipped: await count('skipped') };
  const rows: Row[] = [];
  const tableRows = page.locator('#verdict-table tr.test-row');
  for (let i = 0; i < (await tableRows.count()); i++) {
    const tr = tableRows.nth(i);
    const section = page.locator(`section#${await tr.getAttribute('data-test')}`);
    const badge = (await tr.locator('.verdict').innerText()).toLowerCase() as Verdict;
    const attempts = Number(await tr.locator('.attempts').innerText());
    t.is(await section.locator('details.attempt').count(), attempts, 'the section shows as many attempts as the table says');
    t.is((await section.locator('h2 .badge').innerText()).toLowerCase(), badge);
    rows.push({ id: await tr.locator('a').innerText(), verdict: badge, attempts });
  }
  t.deepEqual({ summary, rows }, want, 'html');
});
