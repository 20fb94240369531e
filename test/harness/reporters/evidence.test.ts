import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import test from 'ava';
import { MANIFEST, safeFileName, verifyEvidenceBundle, writeEvidenceBundle } from '../../../harness/reporters/evidence.ts';
import { HOSTILE_XML, sampleRun } from './sample-run.ts';
import { scratchDir } from '../../helpers/scratch.ts';

test('a bundle holds the run, the reports, a log per device, traffic per test and a manifest sha256sum accepts', async (t) => {
  const root = scratchDir(t, 'smets-hil-evidence');
  const { dir } = await writeEvidenceBundle(sampleRun(), root);
  t.is(dir, join(root, '20261101T072000Z-3f9c2a8e-6b1d-4e7a-9c55-0d2f1e3a4b5c'));
  t.deepEqual(readdirSync(dir).sort(), [MANIFEST, 'devices', 'report.html', 'report.json', 'report.junit.xml', 'run.json', 'traffic', 'verdicts.txt']);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')), sampleRun());
  // The real sha256sum checks the manifest: the format is the standard one.
  const out = execFileSync('sha256sum', ['-c', MANIFEST], { cwd: dir, encoding: 'utf8' });
  t.is(out.trim().split('\n').length, 14);
  t.false(out.includes('FAILED'));
});

test('each device gets its own log, lines in order, never mixed with another device', async (t) => {
  const rootDir = scratchDir(t, 'smets-hil-evidence');
  const { dir } = await writeEvidenceBundle(sampleRun(), rootDir);
  const index = JSON.parse(readFileSync(join(dir, 'devices', 'index.json'), 'utf8'));
  t.deepEqual(index, {
    'BR1-sc-credit-esme_ESME-1.log': 'BR1-sc-credit-esme/ESME-1',
    'BR5-altered-precommand_esme_ESME-1.log': 'BR5-altered-precommand[esme]/ESME-1',
    'escape_attempt.log': '../escape/attempt',
  });
  t.is(readFileSync(join(dir, 'devices', 'BR1-sc-credit-esme_ESME-1.log'), 'utf8'), '2026-11-01T07:20:01.150Z rx Command ECS03\n2026-11-01T07:20:01.160Z paymentMode credit -> prepayment\n');
  t.is(readFileSync(join(dir, 'devices', 'BR5-altered-precommand_esme_ESME-1.log'), 'utf8'), '2026-11-01T07:20:02.150Z rx Command ECS02\n2026-11-01T07:20:02.160Z multi\n    line entry\n');
  t.deepEqual(readdirSync(rootDir), [basename(dir)], 'a device id with ../ stays inside the bundle');
});

test('traffic of every test is kept as JSON lines, one file per test, payloads byte for byte', async (t) => {
  const { dir } = await writeEvidenceBundle(sampleRun(), scratchDir(t, 'smets-hil-evidence'));
  const files = readdirSync(join(dir, 'traffic')).sort();
  t.deepEqual(files, ['001-BR1-sc-credit-esme.jsonl', '002-BR5-altered-precommand_esme.jsonl', '003-BR5-altered-precommand_gsme.jsonl', '004-BR3-smets1-prepayment.jsonl', '005-BR7-nightly-soak.jsonl']);
  const lines = readFileSync(join(dir, 'traffic', files[1]!), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 2);
  t.like(lines[0], { test: 'BR5-altered-precommand[esme]', attempt: 1, step: 1, direction: 'user->dcc', kind: 'duis', payload: HOSTILE_XML });
  t.is(readFileSync(join(dir, 'traffic', files[4]!), 'utf8'), '', 'a test with no traffic still has its (empty) file');
});

test('verify reports a changed, a missing and an added file', async (t) => {
  const { dir } = await writeEvidenceBundle(sampleRun(), scratchDir(t, 'smets-hil-evidence'));
  t.like(await verifyEvidenceBundle(dir), { ok: true, checked: 14, mismatched: [], missing: [], unlisted: [], invalid: [] });

  appendFileSync(join(dir, 'report.json'), ' ');
  unlinkSync(join(dir, 'devices', 'escape_attempt.log'));
  writeFileSync(join(dir, 'traffic', 'extra.jsonl'), '{}\n');
  const v = await verifyEvidenceBundle(dir);
  t.false(v.ok);
  t.deepEqual(v.mismatched.map((m) => m.path), ['report.json']);
  t.regex(v.mismatched[0]!.expected, /^[0-9a-f]{64}$/);
  t.not(v.mismatched[0]!.actual, v.mismatched[0]!.expected);
  t.deepEqual(v.missing, ['devices/escape_attempt.log']);
  t.deepEqual(v.unlisted, ['traffic/extra.jsonl']);
});

test('verify refuses manifest entries that point outside the bundle, and a bundle without a manifest', async (t) => {
  const { dir } = await writeEvidenceBundle(sampleRun(), scratchDir(t, 'smets-hil-evidence'));
  appendFileSync(join(dir, MANIFEST), `${'0'.repeat(64)}  ../outside.txt\nnot a manifest line\n`);
  const v = await verifyEvidenceBundle(dir);
  t.false(v.ok);
  t.is(v.invalid.length, 2);
  unlinkSync(join(dir, MANIFEST));
  t.like(await verifyEvidenceBundle(dir), { ok: false, missing: [MANIFEST] });
});

test('verify sees evidence removed with its manifest line, an emptied manifest, and a rewritten manifest against its printed digest', async (t) => {
  const { dir, manifestSha256 } = await writeEvidenceBundle(sampleRun(), scratchDir(t, 'smets-hil-evidence'));
  t.like(await verifyEvidenceBundle(dir, { manifestSha256 }), { ok: true, incomplete: [] });
  // A failing test's traffic taken out, and its manifest line: every listed hash still matches.
  const traffic = readdirSync(join(dir, 'traffic')).sort()[1]!;
  unlinkSync(join(dir, 'traffic', traffic));
  const manifest = readFileSync(join(dir, MANIFEST), 'utf8');
  writeFileSync(join(dir, MANIFEST), manifest.split('\n').filter((l) => !l.endsWith(`traffic/${traffic}`)).join('\n'));
  const v = await verifyEvidenceBundle(dir);
  t.like(v, { ok: false, mismatched: [], missing: [], unlisted: [], invalid: [] });
  t.deepEqual(v.incomplete, ["traffic/ (1 of the run's 5 tests have no traffic file)"]);
  const anchored = await verifyEvidenceBundle(dir, { manifestSha256 });
  t.deepEqual(anchored.mismatched.map((m) => m.path), [MANIFEST], 'the manifest is not the one written');
  writeFileSync(join(dir, MANIFEST), '');
  t.like(await verifyEvidenceBundle(dir), { ok: false, checked: 0, invalid: [`${MANIFEST} lists no files`] });
});

test('a bundle is written whole or left named .partial: a write that fails says where, and no folder reads as a finished bundle', async (t) => {
  const rootDir = scratchDir(t, 'smets-hil-evidence');
  const run = sampleRun();
  const folder = join(rootDir, `20261101T072000Z-${run.runId}`);
  // A run record that cannot be written (a cycle) stands for a disk that fails midway.
  const broken = { ...run, options: { ...run.options } };
  (broken.options as Record<string, unknown>).self = broken.options;
  await t.throwsAsync(writeEvidenceBundle(broken, rootDir), { message: new RegExp(`\\(what was written is left in ${folder}\\.partial\\)$`) });
  t.false(existsSync(folder), 'no folder named as a finished bundle');
  t.true(existsSync(`${folder}.partial`));
  // Left in the way, it is not written over: a bundle of that run is refused until it is looked at.
  await t.throwsAsync(writeEvidenceBundle(run, rootDir), { code: 'EEXIST' });
  t.false(existsSync(folder));
});

test('a bundle is written once: the same run into the same folder is refused', async (t) => {
  const rootDir = scratchDir(t, 'smets-hil-evidence');
  await writeEvidenceBundle(sampleRun(), rootDir);
  await t.throwsAsync(writeEvidenceBundle(sampleRun(), rootDir), { code: 'EEXIST' });
});

test('file names are safe and distinct', (t) => {
  t.is(safeFileName('../../etc/passwd'), 'etc_passwd');
  t.is(safeFileName('BR5[esme]/ESME 1'), 'BR5_esme_ESME_1');
  t.is(safeFileName('...'), 'unnamed');
});
