/** `smets-hil demo` on the shared fixtures and on incomplete or altered copies of them: what it says and its exit code. */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli.ts';
import { fixturePath, fixturesDir, RTDS_ESME, RTDS_GSME } from '../helpers/fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'smets-hil-cli-demo-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the fixtures' frames and keystore without the files named. */
function partialCopy(name: string, leaveOut: readonly string[]): string {
  const dir = join(scratch, name);
  for (const sub of ['rtds-1.6', 'keystore']) {
    if (leaveOut.includes(sub)) continue;
    cpSync(fixturePath(sub), join(dir, sub), { recursive: true, filter: (src) => !leaveOut.some((f) => src.endsWith(`/${f}`)) });
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

test('demo: every reference frame decodes and every check passes on the shared fixtures -> exit 0', async (t) => {
  const r = await runCli(['demo', '--fixtures', fixturesDir]);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /\n16 reference frames, 0 problem\(s\)\n$/);
  t.notRegex(r.stdout, /no-key|NOT REBUILT/);
});

test('demo: with no --fixtures it reads SMETS_HIL_FIXTURES, from any working directory', async (t) => {
  const r = await runCli(['demo'], { cwd: scratch, env: { ...process.env, SMETS_HIL_FIXTURES: fixturesDir } });
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /\n16 reference frames, 0 problem\(s\)\n$/);
});

test('demo: signatures and MACs the fixtures lack the device certificates for are not a pass: counted, explained, exit 2', async (t) => {
  const none = partialCopy('no-certs', [`${RTDS_ESME.toLowerCase()}-ds.pem`, `${RTDS_ESME.toLowerCase()}-ka.pem`, `${RTDS_GSME.toLowerCase()}-ds.pem`, `${RTDS_GSME.toLowerCase()}-ka.pem`]);
  const r = await runCli(['demo', '--fixtures', none]);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stdout, /sig no-key/);
  t.regex(r.stdout, /\n16 reference frames, 0 problem\(s\), 16 check\(s\) not made\n$/);
  t.regex(r.stderr, new RegExp(`^16 check\\(s\\) not made: their keys are not in .*no-certs/keystore$`, 'm'));
  t.regex(r.stderr, new RegExp(`^  4 signature\\(s\\): no Digital Signing certificate for ${RTDS_GSME}$`, 'm'));
  t.regex(r.stderr, new RegExp(`^  2 command\\(s\\) not rebuilt: no Key Agreement certificate for ${RTDS_ESME}$`, 'm'));
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');

  const one = partialCopy('one-cert-missing', [`${RTDS_GSME.toLowerCase()}-ds.pem`]);
  const partial = await runCli(['demo', '--fixtures', one]);
  t.is(partial.code, 2, partial.stdout + partial.stderr);
  t.regex(partial.stdout, /\n16 reference frames, 0 problem\(s\), 4 check\(s\) not made\n$/);
  t.regex(partial.stderr, new RegExp(`^4 check\\(s\\) not made: .*\n  4 signature\\(s\\): no Digital Signing certificate for ${RTDS_GSME}\n`, 'm'));
});

test('demo: a frame whose signature does not verify is a failure (exit 1), even where other checks could not be made', async (t) => {
  const dir = partialCopy('tampered', [`${RTDS_ESME.toLowerCase()}-ds.pem`]);
  const file = join(dir, 'rtds-1.6', 'GCS02_1.6_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX');
  const hex = readFileSync(file, 'utf8').trim();
  writeFileSync(file, hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0'));
  const r = await runCli(['demo', '--fixtures', dir]);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /GCS02_1\.6_IMMEDIATE_SUCCESS_RESPONSE .*sig invalid/);
  t.regex(r.stdout, /\n16 reference frames, 1 problem\(s\), 2 check\(s\) not made\n$/);
  t.regex(r.stderr, new RegExp(`^  2 signature\\(s\\): no Digital Signing certificate for ${RTDS_ESME}$`, 'm'));
});

test('demo: fixtures without frames or without a keystore get a message saying what is missing (exit 2), not a stack trace', async (t) => {
  const empty = partialCopy('empty-frames', []);
  rmSync(join(empty, 'rtds-1.6'), { recursive: true });
  mkdirSync(join(empty, 'rtds-1.6'));
  for (const [dir, message] of [
    [join(scratch, 'nothing-here'), /^no reference frames \(\*\.HEX\) under .*nothing-here\/rtds-1\.6 \(pass --fixtures DIR\)$/m],
    [empty, /^no reference frames \(\*\.HEX\) under .*empty-frames\/rtds-1\.6 \(pass --fixtures DIR\)$/m],
    [partialCopy('no-keystore', ['keystore']), /^no keystore folder .*no-keystore\/keystore \(zaz1-keystore\.json and the RTDS device certificates; pass --fixtures DIR\)$/m],
    [partialCopy('no-zaz1', ['zaz1-keystore.json']), /^cannot read keystore .*no-zaz1\/keystore\/zaz1-keystore\.json: ENOENT$/m],
  ] as const) {
    const r = await runCli(['demo', '--fixtures', dir]);
    t.is(r.code, 2, `${dir}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
    t.is(r.stdout, '', 'no table for fixtures that cannot be checked');
  }
});

test('demo reads the frames as gbcs decode does: hex with junk after it is a problem, hex wrapped over lines is not', async (t) => {
  const dir = partialCopy('hex-forms', []);
  const frames = join(dir, 'rtds-1.6');
  const junk = join(frames, 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX');
  writeFileSync(junk, readFileSync(junk, 'utf8').trim() + 'XYZ-not-hex-DEADBEEF');
  const wrapped = join(frames, 'GCS02_1.6_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX');
  writeFileSync(wrapped, readFileSync(wrapped, 'utf8').trim().replace(/.{64}/g, '$&\r\n'));
  const r = await runCli(['demo', '--fixtures', dir]);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /ECS02_1\.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS\.HEX\s+UNREADABLE\s+not a hex string \(\d+ characters, non-hex characters from octet \d+\)/);
  t.regex(r.stdout, /GCS02_1\.6_IMMEDIATE_SUCCESS_COMMAND +command .*sig valid +mac valid +rebuilt/);
  t.regex(r.stdout, /\n16 reference frames, 1 problem\(s\)\n$/);
});

test('demo: a Pre-Command whose content contradicts its message code (ECS02, Credit, carrying prepayment) is a problem, and a *.HEX it cannot read is one too, not a crash', async (t) => {
  const dir = partialCopy('contradiction', []);
  const frames = join(dir, 'rtds-1.6');
  const pre = join(frames, 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX');
  const hex = readFileSync(pre, 'utf8');
  t.true(hex.includes('020216011601'), 'the fixture carries Credit where the test changes it');
  writeFileSync(pre, hex.replace('020216011601', '020216021601'));
  mkdirSync(join(frames, 'A_DIRECTORY_GBCS.HEX'));
  const r = await runCli(['demo', '--fixtures', dir]);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /ECS02_1\.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND +pre-command +0x\w{4} CONTENT ERROR bad-value/);
  t.regex(r.stdout, /A_DIRECTORY_GBCS\.HEX +UNREADABLE +EISDIR/);
  t.regex(r.stdout, /\n17 reference frames, 2 problem\(s\)\n$/);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
});
