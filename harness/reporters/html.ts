/**
 * The HTML report (`--report html=FILE`): one self-contained page a person reads. Run summary, a verdict table
 * with filters by verdict and tag, and per test its attempts, steps, state diffs (unexpected changes
 * highlighted) and DUIS/GBCS traffic (collapsed, summary line first, payload as indented XML or a hex dump).
 * Every piece of run data is escaped; a Content-Security-Policy allows only the page's own style and script
 * (by hash) and no network at all.
 */
import { createHash } from 'node:crypto';
import type { AttemptRecord, DeviceDiff, RunRecord, StepRecord, TestRecord, TrafficRecord, Verdict } from '../results.ts';
import { REPORT_CSS, REPORT_JS } from './html-assets.ts';
import { escapeAttr, escapeText } from './markup-escape.ts';
import { viewPayload } from './payload-view.ts';
import { allTags, attemptMessage, describeChange, failureMessage, firstUnexpectedChange, formatDuration, formatValue, isUnexpected, runSummary, SUMMARY_KEY, VERDICT_ORDER } from './run-facts.ts';

const h = escapeText;
const a = escapeAttr;

function cspHash(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

function badge(v: Verdict): string {
  return `<span class="badge v-${v}">${v.toUpperCase()}</span>`;
}

/** "07:20:02.100", with the full timestamp kept in the datetime attribute. */
function clock(iso: string): string {
  const m = /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(iso);
  return `<time datetime="${a(iso)}">${h(m?.[1] ?? iso)}</time>`;
}

function filterAttrs(t: TestRecord): string {
  return `data-verdict="${a(t.verdict)}" data-tags="${a(JSON.stringify(t.tags))}"`;
}

function renderSummary(run: RunRecord): string {
  const s = runSummary(run);
  const cells = [`<div data-count="total"><dt>Total</dt><dd>${s.total}</dd></div>`];
  for (const v of VERDICT_ORDER) {
    const key = SUMMARY_KEY[v];
    cells.push(`<div data-count="${key}"><dt>${key[0]!.toUpperCase()}${key.slice(1)}</dt><dd class="v-${v}">${s[key]}</dd></div>`);
  }
  return `<dl class="summary" id="summary">${cells.join('')}</dl>`;
}

function renderEnvironment(run: RunRecord): string {
  const rows: [string, string][] = [
    ['Started', run.startedAt],
    ['Finished', run.finishedAt],
    ['Target', run.target],
    ['smets-hil', run.environment.smetsHil],
    ['Node.js', run.environment.node],
    ['Platform', run.environment.platform],
    ['Host', run.environment.host],
    ['Options', JSON.stringify(run.options)],
  ];
  return `<details class="environment"><summary>Environment and options</summary><table>${rows.map(([k, v]) => `<tr><th>${h(k)}</th><td class="mono">${h(v)}</td></tr>`).join('')}</table></details>`;
}

function renderFilters(run: RunRecord): string {
  const s = runSummary(run);
  const boxes = VERDICT_ORDER.map((v) => `<label><input type="checkbox" name="verdict" value="${v}" checked> <span class="v-${v}">${v}</span> (${s[SUMMARY_KEY[v]]})</label>`).join(' ');
  const tags = allTags(run).map((t) => `<option value="${a(t)}">${h(t)}</option>`).join('');
  return (
    `<nav class="filters" id="filters" aria-label="Filters">` +
    `<fieldset><legend>Verdict</legend>${boxes}</fieldset>` +
    `<label>Tag <select id="tag-filter"><option value="">all tags</option>${tags}</select></label>` +
    `<span id="shown-count" class="muted">${s.total} of ${s.total} tests shown</span></nav>`
  );
}

function renderVerdictTable(run: RunRecord): string {
  const rows = run.tests.map((t, i) => {
    const message = failureMessage(t);
    return (
      `<tr class="test-row" data-test="t${i}" ${filterAttrs(t)}>` +
      `<td><a href="#t${i}" class="mono">${h(t.id)}</a></td><td>${h(t.title)}</td><td>${h(t.tags.join(', '))}</td>` +
      `<td class="verdict">${badge(t.verdict)}</td><td class="num attempts">${t.attempts.length}</td>` +
      `<td class="num">${h(formatDuration(t.durationMs))}</td><td class="row-message">${message === undefined ? '' : h(message)}</td></tr>`
    );
  });
  return (
    `<table class="verdicts" id="verdict-table"><thead><tr><th>ID</th><th>Title</th><th>Tags</th><th>Verdict</th><th>Attempts</th><th>Duration</th><th>Message</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function renderDiff(diffs: readonly DeviceDiff[]): string {
  const rows: string[] = [];
  for (const d of diffs) {
    const extra = d.unexpected.filter((u) => !d.changes.some((c) => c.path === u.path));
    for (const c of [...d.changes, ...extra]) {
      const bad = isUnexpected(d.unexpected, c);
      rows.push(
        `<tr class="change${bad ? ' unexpected' : ''}"><td>${h(d.device)}</td><td class="mono">${h(c.path)}</td>` +
          `<td class="mono before">${h(formatValue(c.before))}</td><td class="mono after">${h(formatValue(c.after))}</td>` +
          `<td>${bad ? '<span class="flag">unexpected</span>' : 'allowed'}</td></tr>`,
      );
    }
  }
  if (rows.length === 0) return '';
  const cols = '<colgroup><col class="c-device"><col class="c-field"><col class="c-value"><col class="c-value"><col class="c-flag"></colgroup>';
  return `<table class="diff"><caption>State changes</caption>${cols}<thead><tr><th>Device</th><th>Field</th><th>Before</th><th>After</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderMessage(m: TrafficRecord): string {
  const view = viewPayload(m.kind, m.payload);
  const party = m.party ? ` <span class="mono muted">${h(m.party)}</span>` : '';
  return (
    `<details class="message-detail"><summary>${clock(m.at)} <span class="mono">${h(m.direction)}</span> <strong>${h(m.kind.toUpperCase())}</strong>${party} ${h(m.summary)}</summary>` +
    `<div class="payload"><div class="muted">${h(view.label)}</div><pre class="payload-${view.format}">${h(view.text)}</pre></div></details>`
  );
}

function renderStep(step: StepRecord): string {
  const traffic = step.traffic.length
    ? `<div class="traffic"><h4>Traffic (${step.traffic.length} message${step.traffic.length === 1 ? '' : 's'})</h4>${step.traffic.map(renderMessage).join('')}</div>`
    : '';
  return (
    `<li class="step" data-step-verdict="${a(step.verdict)}"><div class="step-head">${badge(step.verdict)} <strong>${step.index + 1}.</strong> <span class="step-title">${h(step.title)}</span>` +
    ` <span class="mono muted">${h(step.kind)}</span> <span class="muted">${h(formatDuration(step.durationMs))}</span></div>` +
    (step.message ? `<div class="message">${h(step.message)}</div>` : '') +
    renderDiff(step.diffs) +
    traffic +
    `</li>`
  );
}

function renderAttempt(attempt: AttemptRecord, of: number, open: boolean): string {
  const message = attemptMessage(attempt);
  const steps = attempt.steps.length ? `<ol class="steps">${attempt.steps.map(renderStep).join('')}</ol>` : '<p class="muted">No steps ran in this attempt.</p>';
  return (
    `<details class="attempt"${open ? ' open' : ''}><summary>Attempt ${attempt.attempt} of ${of}: ${badge(attempt.verdict)} ${h(formatDuration(attempt.durationMs))}` +
    `${message ? ` <span class="muted">${h(message)}</span>` : ''}</summary>${steps}</details>`
  );
}

function renderTest(t: TestRecord, i: number): string {
  const message = failureMessage(t);
  const change = firstUnexpectedChange(t);
  const cls = t.verdict === 'fail' ? ' failed' : t.verdict === 'error' ? ' errored' : '';
  const attempts = t.attempts.length
    ? // The last attempt of a test that did not pass opens by itself: that is what the reader came for.
      t.attempts.map((att, n) => renderAttempt(att, t.attempts.length, t.verdict !== 'pass' && n === t.attempts.length - 1)).join('')
    : '<p class="muted">No attempt ran.</p>';
  return (
    `<section class="test${cls}" id="t${i}" ${filterAttrs(t)}>` +
    `<h2>${badge(t.verdict)} <span class="mono test-id">${h(t.id)}</span> ${h(t.title)}</h2>` +
    `<p class="muted">${h(t.file)} · level ${h(t.level)} · tags ${h(t.tags.join(', ') || '-')} · ${h(formatDuration(t.durationMs))} · ${t.attempts.length} attempt${t.attempts.length === 1 ? '' : 's'}</p>` +
    (message !== undefined ? `<div class="${t.verdict === 'skip' ? 'skip-reason' : 'message'} test-message">${h(message)}</div>` : '') +
    (change ? `<p class="first-unexpected">First unexpected change: ${h(describeChange(change))}</p>` : '') +
    attempts +
    `</section>`
  );
}

export function renderHtml(run: RunRecord): string {
  const s = runSummary(run);
  const css = REPORT_CSS;
  const js = REPORT_JS;
  const csp = `default-src 'none'; style-src ${cspHash(css)}; script-src ${cspHash(js)}; img-src 'none'; base-uri 'none'; form-action 'none'`;
  const outcome = `${run.interrupted ? 'INTERRUPTED, ' : ''}${s.failed || s.errors ? `${s.failed} failed, ${s.errors} error${s.errors === 1 ? '' : 's'}` : `${s.failed} failed, ${s.passed} passed`}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${a(csp)}">`,
    '<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>smets-hil: ${h(outcome)} (run ${h(run.runId)})</title>`,
    `<style>${css}</style></head><body>`,
    `<header><h1>smets-hil run report</h1><p class="muted">run <code>${h(run.runId)}</code> · started ${h(run.startedAt)} · target ${h(run.target)} · ${h(formatDuration(run.durationMs))}</p>`,
    ...(run.interrupted ? [`<p class="interrupted"><strong>Interrupted:</strong> ${h(run.interrupted)}; the tests after that point did not run.</p>`] : []),
    renderSummary(run),
    renderEnvironment(run),
    '</header>',
    renderFilters(run),
    '<main>',
    renderVerdictTable(run),
    run.tests.map(renderTest).join('\n'),
    '</main>',
    `<script>${js}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
