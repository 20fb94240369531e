/**
 * The HTML report's inline style and script. Both are allowed by hash in the page's Content-Security-Policy, so
 * nothing else can run or load even if some text escaped its escaping; the page needs no network at all.
 */

export const REPORT_CSS = `
:root { --pass: #1a7f37; --fail: #cf222e; --error: #8250df; --skip: #9a6700; --line: #d0d7de; --muted: #57606a; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0; color: #1f2328; background: #fff; }
header, nav, main { padding: 12px 24px; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 6px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.interrupted { color: var(--error); border-left: 4px solid var(--error); padding-left: 8px; }
[hidden] { display: none !important; }
.summary { display: flex; gap: 12px; margin: 10px 0 6px; padding: 0; }
.summary div { border: 1px solid var(--line); border-radius: 6px; padding: 6px 14px; min-width: 90px; }
.summary dt { font-size: 12px; color: var(--muted); }
.summary dd { margin: 0; font-size: 22px; font-weight: 600; }
.v-pass { color: var(--pass); } .v-fail { color: var(--fail); } .v-error { color: var(--error); } .v-skip { color: var(--skip); }
.badge { display: inline-block; min-width: 52px; text-align: center; border-radius: 4px; padding: 0 6px; font-size: 12px; font-weight: 700; color: #fff; }
.badge.v-pass { background: var(--pass); color: #fff; } .badge.v-fail { background: var(--fail); color: #fff; }
.badge.v-error { background: var(--error); color: #fff; } .badge.v-skip { background: var(--skip); color: #fff; }
nav.filters { display: flex; flex-wrap: wrap; gap: 18px; align-items: center; background: var(--bg-soft); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
nav.filters fieldset { border: 0; margin: 0; padding: 0; display: flex; gap: 10px; align-items: center; }
nav.filters legend { float: left; margin-right: 6px; font-weight: 600; }
table { border-collapse: collapse; }
table.verdicts { width: 100%; margin-bottom: 24px; }
table.verdicts th, table.verdicts td { text-align: left; border-bottom: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
table.verdicts td.num { text-align: right; }
section.test { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0 0 16px; }
section.test.failed { border-left: 4px solid var(--fail); }
section.test.errored { border-left: 4px solid var(--error); }
.message { white-space: pre-wrap; background: #fff8f8; border: 1px solid #ffcecb; border-radius: 4px; padding: 6px 10px; }
.skip-reason { white-space: pre-wrap; background: #fff8c5; border: 1px solid #d4a72c; border-radius: 4px; padding: 6px 10px; }
.first-unexpected { background: #fff1e5; border: 1px solid #ffb77c; border-radius: 4px; padding: 6px 10px; }
details.attempt { margin: 8px 0; }
details.attempt > summary { font-weight: 600; cursor: pointer; }
ol.steps { padding-left: 0; list-style: none; }
li.step { border-top: 1px dashed var(--line); padding: 6px 0; }
.step-head { display: flex; gap: 8px; align-items: baseline; }
table.diff { margin: 6px 0 6px 20px; width: calc(100% - 20px); table-layout: fixed; }
table.diff td { overflow-wrap: break-word; white-space: pre-wrap; }
table.diff col.c-device { width: 12%; } table.diff col.c-field { width: 24%; } table.diff col.c-value { width: 27%; } table.diff col.c-flag { width: 10%; }
table.diff caption { text-align: left; font-weight: 600; font-size: 12px; color: var(--muted); }
table.diff th, table.diff td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; vertical-align: top; }
table.diff tr.unexpected td { background: #ffebe9; font-weight: 600; }
.flag { color: var(--fail); font-weight: 700; }
.traffic { margin: 6px 0 0 20px; }
.traffic h4 { margin: 4px 0; font-size: 12px; color: var(--muted); }
details.message-detail { border: 1px solid var(--line); border-radius: 4px; margin: 3px 0; }
details.message-detail > summary { cursor: pointer; padding: 2px 8px; background: var(--bg-soft); }
.payload { padding: 6px 10px; }
.payload pre { margin: 4px 0 0; white-space: pre-wrap; word-break: break-all; background: var(--bg-soft); padding: 8px; border-radius: 4px; max-height: 480px; overflow: auto; }
`;

/** Verdict and tag filters over the verdict table rows and the per-test sections (both carry data-verdict/data-tags). */
export const REPORT_JS = `
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[name="verdict"]'));
  var tagSelect = document.getElementById('tag-filter');
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-verdict][data-tags]'));
  var shown = document.getElementById('shown-count');
  var rows = items.filter(function (el) { return el.tagName === 'TR'; }).length;
  function apply() {
    var verdicts = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var tag = tagSelect.value;
    var visibleRows = 0;
    items.forEach(function (el) {
      var tags = JSON.parse(el.getAttribute('data-tags'));
      var visible = verdicts.indexOf(el.getAttribute('data-verdict')) >= 0 && (tag === '' || tags.indexOf(tag) >= 0);
      el.hidden = !visible;
      if (visible && el.tagName === 'TR') visibleRows++;
    });
    shown.textContent = visibleRows + ' of ' + rows + ' tests shown';
  }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  tagSelect.addEventListener('change', apply);
  apply();
})();
`;
