import { spawn } from 'node:child_process';
import { copyFileSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { decodeGeneralCiphering, encodeGeneralSigning, decodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { runCli } from '../helpers/cli.ts';
import { deviceCertPath, fixturePath, repoRoot, rtdsFrame, rtdsFrames, zaz1KeystorePath } from '../helpers/fixtures.ts';
import { scratchDir } from '../helpers/scratch.ts';

const KEYS = ['--keystore', zaz1KeystorePath];
const CERTS = ['00DB1234567890A0', '00DB1234567890A1'].flatMap((eui) => ['--cert', deviceCertPath(eui, 'ds'), '--cert', deviceCertPath(eui, 'ka')]);

function expectedKind(name: string): string {
  if (name.includes('_PRECOMMAND_')) return 'pre-command';
  if (name.includes('_COMMAND_')) return 'command';
  if (name.includes('_RESPONSE_')) return 'response';
  return 'alert';
}

for (const { name, bytes } of rtdsFrames()) {
  test(`gbcs decode ${name}`, async (t) => {
    const r = await runCli(['gbcs', 'decode', fixturePath('rtds-1.6', name), ...KEYS, ...CERTS, '--acb', '90B3D51F30000002']);
    t.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const kind = expectedKind(name);
    t.is(out.kind, kind);
    const useCase = name.slice(0, 5);
    t.is(out.cra, kind === 'response' ? 'response' : kind === 'alert' ? 'alert' : 'command');
    t.regex(out.counter, /^\d+$/);
    t.regex(out.originator, /^[0-9A-F]{16}$/);
    t.regex(out.messageCode, /^0x[0-9A-F]{4}$/);
    t.is(out.useCase, kind === 'alert' ? null : useCase);
    t.is(out.paymentMode, useCase.endsWith('02') ? 'credit' : 'prepayment');
    if (kind === 'pre-command' || kind === 'command') {
      t.is(out.execution, name.includes('FUTURE_DATED') ? '2030-01-15T09:00:00.000Z' : 'now');
    }
    t.is(out.signature, kind === 'pre-command' ? 'absent' : 'valid');
    t.is(out.mac, kind === 'command' ? 'valid' : 'absent');
    // Cross-check the JSON against the frame itself.
    const hex = bytes.toString('hex').toUpperCase();
    t.true(hex.includes(out.originator) && hex.includes(out.recipient));
  });
}

test('gbcs decode - reads the frame from standard input, as from a file', async (t) => {
  const path = fixturePath('rtds-1.6', 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX');
  const fromFile = await runCli(['gbcs', 'decode', path]);
  const piped = await runCli(['gbcs', 'decode', '-'], { input: readFileSync(path, 'utf8') });
  t.is(piped.code, 0, piped.stderr);
  t.is(piped.stdout, fromFile.stdout);
  t.regex(piped.stdout, /"useCase":"ECS02"/);
});

test('gbcs decode: without keys the checks say no-key; a tampered signature says invalid', async (t) => {
  const frame = rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX');
  const bare = JSON.parse((await runCli(['gbcs', 'decode', frame.toString('hex')])).stdout);
  t.is(bare.signature, 'no-key');
  t.is(bare.mac, 'no-key');
  const tampered = Buffer.from(frame);
  tampered[tampered.length - 20]! ^= 0x01; // inside the signature
  const r = await runCli(['gbcs', 'decode', tampered.toString('hex'), ...KEYS, ...CERTS]);
  const out = JSON.parse(r.stdout);
  t.is(out.signature, 'invalid');
  t.is(out.mac, 'invalid');
});

test('gbcs decode: malformed input is a JSON error on stderr and exit code 1', async (t) => {
  for (const input of ['DF0011', 'ZZ', 'DF', rtdsFrame('GCS02_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX').subarray(0, 40).toString('hex')]) {
    const r = await runCli(['gbcs', 'decode', input]);
    t.is(r.code, 1, input);
    t.is(r.stdout, '');
    const err = JSON.parse(r.stderr.trim().split('\n')[0]!).error;
    t.is(typeof err.code, 'string');
    t.is(typeof err.message, 'string');
    t.is(typeof err.offset, 'number');
  }
});

for (const { name, bytes } of rtdsFrames().filter((f) => f.name.includes('_COMMAND_'))) {
  test(`gbcs command rebuilds ${name} from its Signed Pre-Command`, async (t) => {
    const c = decodeGeneralCiphering(bytes);
    if (!c.ok) return t.fail();
    const inner = decodeGeneralSigning(c.value.payload);
    if (!inner.ok) return t.fail();
    const r = await runCli(['gbcs', 'command', encodeGeneralSigning(inner.value).toString('hex'), ...KEYS, '--acb', '90B3D51F30000002', '--cert', deviceCertPath(inner.value.recipient, 'ka')]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.trim(), bytes.toString('hex').toUpperCase());
  });
}

const TEMPLATES: [string, string][] = [
  ['ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS', 'esme'],
  ['ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS', 'esme'],
  ['GCS02_1.6_IMMEDIATE_SUCCESS', 'gsme'],
  ['GCS02_1.6_FUTURE_DATED_SUCCESS', 'gsme'],
  ['GCS03_1.6_IMMEDIATE_SUCCESS', 'gsme'],
];
for (const [name, device] of TEMPLATES) {
  test(`gbcs precommand builds ${name} byte-identically from the DUIS template`, async (t) => {
    const r = await runCli(['gbcs', 'precommand', '--from', fixturePath('duis', `${name}_REQUEST_DUIS.XML`), '--device', device]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.trim(), rtdsFrame(`${name}_PRECOMMAND_GBCS.HEX`).toString('hex').toUpperCase());
  });
}

test('gbcs precommand --from - reads the request from standard input', async (t) => {
  const name = 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS';
  const r = await runCli(['gbcs', 'precommand', '--from', '-', '--device', 'esme'], { input: readFileSync(fixturePath('duis', `${name}_REQUEST_DUIS.XML`), 'utf8') });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), rtdsFrame(`${name}_PRECOMMAND_GBCS.HEX`).toString('hex').toUpperCase());
});

test('gbcs precommand --at: an ESME Pre-Command does not depend on it; one a GSME cannot carry is a usage error naming --at', async (t) => {
  const esme = 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS';
  const built = await runCli(['gbcs', 'precommand', '--from', fixturePath('duis', `${esme}_REQUEST_DUIS.XML`), '--device', 'esme', '--at', '1999-12-31T00:00:00Z']);
  t.is(built.code, 0, built.stderr);
  t.is(built.stdout.trim(), rtdsFrame(`${esme}_PRECOMMAND_GBCS.HEX`).toString('hex').toUpperCase());
  const gsme = await runCli(['gbcs', 'precommand', '--from', fixturePath('duis', 'GCS02_1.6_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML'), '--device', 'gsme', '--at', '1999-12-31T00:00:00Z']);
  t.is(gsme.code, 2, gsme.stderr);
  t.regex(gsme.stderr, /^--at 1999-12-31T00:00:00Z: a GSME's Issuer Event ID is the DCC's clock in ZigBee UTCTime, and 1999-12-31T00:00:00\.000Z is outside ZigBee UTCTime/);
  t.notRegex(gsme.stderr, /ExecutionDateTime/);
});

test('gbcs precommand refuses a request that is not SRV 1.6', async (t) => {
  const r = await runCli(['gbcs', 'precommand', '--from', fixturePath('duis', 'ECS42_7.1_SUCCESS_REQUEST_DUIS.XML'), '--device', 'esme']);
  t.is(r.code, 1);
  t.regex(r.stderr, /SRV 1\.6/);
});

test('usage errors exit 2', async (t) => {
  t.is((await runCli(['gbcs', 'precommand', '--from', 'x.xml', '--device', 'toaster'])).code, 2);
  t.is((await runCli(['no-such-command'])).code, 2);
  // A path that does not exist is said to be missing, not decoded as hex that is bad.
  const missing = await runCli(['gbcs', 'decode', '/nonexistent/frame.hex']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^cannot read hex file \/nonexistent\/frame\.hex: ENOENT/);
  // A list option without its value, and an option's "-" however it is written, are refused like any other.
  t.is((await runCli(['gbcs', 'decode', 'DF00', '--cert'])).code, 2);
  const dash = await runCli(['gbcs', 'decode', 'DF00', '--keystore=-'], { input: readFileSync(zaz1KeystorePath, 'utf8') });
  t.is(dash.code, 2);
  t.regex(dash.stderr, /--keystore -: "-" \(standard input\) is taken by file arguments, not by options/);
});

test('gbcs decode: bad hex says from which octet it stops being hex', async (t) => {
  for (const [input, offset] of [['DF00ZZ11', 2], ['DF0', 1], ['DF 00 11 0G', 3]] as const) {
    const r = await runCli(['gbcs', 'decode', input]);
    t.is(r.code, 1, input);
    t.like(JSON.parse(r.stderr.trim()).error, { code: 'bad-hex', offset }, input);
  }
});

test('gbcs precommand --at takes an ISO-8601 date-time with its zone: the Pre-Command must not depend on the machine', async (t) => {
  const from = fixturePath('duis', 'GCS02_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML');
  for (const at of ['2026-01-05T09:00:00', 'March 7', '1']) {
    const r = await runCli(['gbcs', 'precommand', '--from', from, '--device', 'gsme', '--at', at]);
    t.is(r.code, 2, at);
    t.regex(r.stderr, /not an ISO-8601 date-time/);
  }
});

test('gbcs recording --rig takes the rig by name or by its file, and refuses what is neither', async (t) => {
  const dir = scratchDir(t, 'cli-rig');
  const recording = join(dir, 'rec.jsonl');
  writeFileSync(recording, '');
  const byFile = await runCli(['gbcs', 'recording', recording, '--rig', join(repoRoot, 'rigs/emulated-serial.yaml')]);
  t.is(byFile.code, 0, byFile.stderr);
  const neither = await runCli(['gbcs', 'recording', recording, '--rig', 'rigs/missing.yaml']);
  t.is(neither.code, 2);
  t.regex(neither.stderr, /--rig rigs\/missing\.yaml: neither a rig's name nor a rig file/);
});

test('an input too large to read at once is a usage error naming it, not a stack trace', async (t) => {
  const dir = scratchDir(t, 'cli-large');
  const large = join(dir, 'large.jsonl');
  writeFileSync(large, '');
  truncateSync(large, 600 * 2 ** 20); // sparse: no disk used
  const r = await runCli(['gbcs', 'recording', large]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^recording .*large\.jsonl is 629145600 bytes: more than the 268435456 read at once/);
});

/** The CLI with standard input read from `path` (a device file that never ends), to its exit. */
function cliFrom(path: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), ...args], { stdio: [openSync(path, 'r'), 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr })));
  });
}

test('an input that never ends (a pipe, /dev/zero) is read up to the limit and refused (exit 2), not read until memory runs out', async (t) => {
  const named = await runCli(['gbcs', 'decode', '/dev/zero']);
  t.is(named.code, 2, named.stderr);
  t.regex(named.stderr, /^hex file \/dev\/zero holds more than the 268435456 bytes read at once/);
  const piped = await cliFrom('/dev/zero', ['gbcs', 'decode', '-']);
  t.is(piped.code, 2, piped.stderr);
  t.regex(piped.stderr, /^hex file <stdin> holds more than the 268435456 bytes read at once/);
  const validated = await runCli(['duis', 'validate', '/dev/zero']);
  t.is(validated.code, 2, validated.stderr);
  t.regex(validated.stderr, /^DUIS file \/dev\/zero holds more than the 268435456 bytes read at once/);
});

test('duis validate: a file that cannot be read is a usage error (exit 2), as for the other tools, not an invalid document', async (t) => {
  const r = await runCli(['duis', 'validate', '/nonexistent.xml']);
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /^cannot read DUIS file \/nonexistent\.xml: ENOENT/);
});

test('gbcs decode: a file whose name is all hex (cafe) is read as the file it is', async (t) => {
  const dir = scratchDir(t, 'cli-hexname');
  const file = join(dir, 'cafe');
  copyFileSync(fixturePath('rtds-1.6/ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX'), file);
  const r = await runCli(['gbcs', 'decode', 'cafe'], { cwd: dir });
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /"useCase":"ECS02"/);
});
