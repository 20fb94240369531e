/**
 * The HTML report as a reader sees it, in headless Chromium: summary counts, a failure's message and its
 * unexpected state change, verdict and tag filters, traffic that expands on click, hostile payloads shown as
 * text and never run, and no network request at all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import type { Page } from 'playwright-core';
import { renderHtml } from '../../../harness/reporters/html.ts';
import type { RunRecord } from '../../../harness/results.ts';
import { type Browser, launchChromium } from './browser.ts';
import { sampleRun } from './sample-run.ts';

interface Context {
  browser: Browser;
  dir: string;
  url: string;
  server: Server;
  /** Requests that reached the beacon server: any is a leak. */
  beaconHits: string[];
}
const test = anyTest as TestFn<Context>;

/** The few browser globals the page-side callbacks use (the project compiles without the DOM library). */
interface BrowserGlobals {
  getComputedStyle(el: unknown): { backgroundColor: string };
  __pwned?: unknown;
}

/** The sample run with markup that would load something from `beacon` (or run code) put in every text field. */
function hostileRun(beacon: string): RunRecord {
  const run = sampleRun();
  const bait = `<img src="${beacon}/img"><link rel="stylesheet" href="${beacon}/css"><iframe src="${beacon}/frame"></iframe><script>window.__pwned = 1</script>`;
  const failed = run.tests[1]!;
  failed.tags.push(`tag${bait}`);
  const step = failed.attempts[0]!.steps[1]!;
  step.traffic[0]!.payload += bait;
  step.traffic[1]!.summary += bait;
  step.diffs[0]!.changes[0]!.after = `credit${bait}`;
  run.tests[0]!.title += bait;
  run.target = `rig${bait}`;
  return run;
}

test.before(async (t) => {
  const beaconHits: string[] = [];
  const server = createServer((req, res) => {
    beaconHits.push(req.url ?? '');
    res.end('');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const beacon = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'smets-hil-html-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, renderHtml(hostileRun(beacon)));
  t.context = { browser: await launchChromium(), dir, url: pathToFileURL(file).href, server, beaconHits };
});

test.after.always(async (t) => {
  await t.context.browser?.close();
  t.context.server?.close();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

/** Opens the report, recording every request the page makes and everything it logs. */
async function open(t: { context: Context }): Promise<{ page: Page; requests: string[]; problems: string[] }> {
  const page = await t.context.browser.context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(t.context.url);
  return { page, requests, problems };
}

function section(page: Page, id: string) {
  return page.locator('section.test').filter({ has: page.locator('.test-id', { hasText: id }) });
}

test('the summary shows the run counts', async (t) => {
  const { page } = await open(t);
  const count = (key: string) => page.locator(`#summary [data-count="${key}"] dd`).innerText();
  t.is(await count('total'), '5');
  t.is(await count('passed'), '2');
  t.is(await count('failed'), '1');
  t.is(await count('errors'), '1');
  t.is(await count('skipped'), '1');
  t.true(await page.locator('#summary').isVisible());
  t.regex(await page.title(), /1 failed, 1 error/);
  await page.close();
});

test("a failed scenario shows its message and its unexpected state change, highlighted", async (t) => {
  const { page } = await open(t);
  const s = section(page, 'BR5-altered-precommand[esme]');
  t.true(await s.isVisible());
  const message = s.locator('.test-message');
  t.true(await message.isVisible());
  t.is(await message.innerText(), 'step 2 (SC sends an altered Pre-Command to ESME-1 (CV5)): expected response code E53, got I0');
  t.regex(await s.locator('.first-unexpected').innerText(), /ESME-1 tariff\.price: 1200 -> 1/);

  const unexpected = s.locator('tr.change.unexpected');
  t.is(await unexpected.count(), 1);
  t.true(await unexpected.isVisible());
  t.deepEqual(await unexpected.locator('td').allInnerTexts(), ['ESME-1', 'tariff.price', '1200', '1', 'unexpected']);
  // Highlighted: the unexpected row is painted differently from the allowed change beside it.
  const allowed = s.locator('tr.change:not(.unexpected)').first();
  const bg = (l: typeof allowed) => l.locator('td').first().evaluate((el) => (globalThis as unknown as BrowserGlobals).getComputedStyle(el).backgroundColor);
  t.not(await bg(unexpected), await bg(allowed));
  // The verdict table row carries the same message.
  const row = page.locator('#verdict-table tr.test-row', { has: page.locator('a', { hasText: 'BR5-altered-precommand[esme]' }) });
  t.regex(await row.locator('.row-message').innerText(), /expected response code E53, got I0/);
  await page.close();
});

test('unticking "pass" hides passed tests; a tag filter narrows to that tag', async (t) => {
  const { page } = await open(t);
  const passRow = page.locator('#verdict-table tr[data-verdict="pass"]').first();
  const failRow = page.locator('#verdict-table tr[data-verdict="fail"]');
  t.true(await passRow.isVisible());
  t.is(await page.locator('#shown-count').innerText(), '5 of 5 tests shown');

  await page.locator('#filters input[value="pass"]').uncheck();
  t.false(await passRow.isVisible());
  t.false(await section(page, 'BR1-sc-credit-esme').isVisible());
  t.true(await failRow.isVisible());
  t.true(await section(page, 'BR5-altered-precommand[esme]').isVisible());
  t.is(await page.locator('#shown-count').innerText(), '3 of 5 tests shown');

  await page.locator('#filters input[value="pass"]').check();
  await page.locator('#tag-filter').selectOption('smets1');
  const visibleIds = await page.locator('#verdict-table tr.test-row:visible a').allInnerTexts();
  t.deepEqual(visibleIds, ['BR3-smets1-prepayment']);
  t.is(await page.locator('#shown-count').innerText(), '1 of 5 tests shown');
  await page.close();
});

test('traffic is collapsed with its summary line first and expands on click, payload as indented XML or hex', async (t) => {
  const { page } = await open(t);
  const passed = section(page, 'BR1-sc-credit-esme');
  await passed.locator('details.attempt > summary').click();
  const messages = passed.locator('details.message-detail');
  t.is(await messages.count(), 2);
  const gbcs = messages.nth(1);
  t.regex(await gbcs.locator('summary').innerText(), /07:20:01\.150 dcc->device GBCS 00-DB-12-34-56-78-90-A0 Command ECS03/);
  const pre = gbcs.locator('pre');
  t.false(await pre.isVisible());
  await gbcs.locator('summary').click();
  t.true(await pre.isVisible());
  t.regex(await pre.innerText(), /^0000 {2}DF 09 00 00 00 00 00 00 00 01 08 00 DB 12 34 56\n0010 {2}/);
  t.regex(await gbcs.locator('.payload').innerText(), /GBCS frame, 44 bytes/);

  const duis = messages.nth(0);
  await duis.locator('summary').click();
  t.regex(await duis.locator('pre').innerText(), /^<sr:Request>\n {2}<sr:Body>ok<\/sr:Body>\n<\/sr:Request>$/);
  await page.close();
});

test('markup in payloads and titles is shown as text, never run, and nothing is fetched', async (t) => {
  const { page, requests, problems } = await open(t);
  const s = section(page, 'BR5-altered-precommand[esme]');
  const message = s.locator('details.message-detail').first();
  await message.locator('summary').click();
  const payload = await message.locator('pre').innerText();
  t.true(payload.includes('<script>window.__pwned = true; document.title = "pwned"</script>'));
  t.true(payload.includes('<img src=x onerror="window.__pwned=true">'));
  t.true(payload.includes('\\x01ctl'), 'a control character is shown as an escape');
  t.true((await page.locator('#verdict-table').innerText()).includes('<iframe src='));

  t.is(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__pwned), undefined);
  t.false((await page.title()).includes('pwned'));
  // The only elements that could run or load anything are the report's own script and nothing else.
  t.is(await page.locator('script').count(), 1);
  t.is(await page.locator('img, iframe, link, object, embed').count(), 0);

  await page.waitForTimeout(300);
  t.deepEqual(requests, [t.context.url], 'the page requested nothing but itself');
  t.deepEqual(t.context.beaconHits, []);
  t.deepEqual(problems, [], 'no script error or CSP violation');
  await page.close();
});
