import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameRecorder, parseRecording, RecordingError } from '../../devices/rig/recording.ts';
import { encodeInstruction, encodeReply } from '../../protocol/s1sp/frame.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { rigS1spKey } from '../../harness/pools/rig.ts';
import { runCli } from '../helpers/cli.ts';
import { deviceCertPath, rtdsFrame, zaz1KeystorePath } from '../helpers/fixtures.ts';

const temp = () => mkdtempSync(join(tmpdir(), 'recording-cli-'));
const ESME = '00DB1234567890A0';
const KEYS = ['--keystore', zaz1KeystorePath, '--cert', deviceCertPath(ESME, 'ds'), '--cert', deviceCertPath(ESME, 'ka'), '--acb', '90B3D51F30000002'];
const S1SP = parseEui('00DB000000000101');
const S1SP_SP = parseEui('90B3D51F30000010');
const TIME = 880_000_000; // seconds since 2000-01-01, as S1SP frames count

/** A recording as a rig writes it: a GBCS command and its response on one line, an S1SP exchange on another. */
async function recording(): Promise<string> {
  const path = join(temp(), 'rig-20261129T000000.jsonl');
  let tick = 0;
  const r = new FrameRecorder(path, () => new Date(Date.UTC(2026, 10, 29, 0, 0, tick++)));
  r.record('esme-1', 'to-device', rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX'));
  r.record('esme-1', 'to-dcc', rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_RESPONSE_GBCS.HEX'));
  r.record('s1-1', 'to-device', encodeInstruction({ type: 'instruction', id: 7n, from: S1SP_SP, to: S1SP, time: TIME, reference: 3n, operation: { op: 'adjust-balance', amount: 42 } }, rigS1spKey('bench-1').privateKey));
  const reply = encodeReply({ type: 'response', id: 7n, from: S1SP, to: S1SP_SP, time: TIME, status: 'executed' });
  r.record('s1-1', 'to-dcc', reply);
  const broken = Buffer.from(reply);
  broken[broken.length - 1]! ^= 0xff;
  r.record('s1-1', 'to-dcc', broken);
  r.record('esme-1', 'to-dcc', Buffer.from('DF0011', 'hex'));
  r.record('esme-1', 'to-device', Buffer.from('0102', 'hex'), 'control');
  r.record('s1-1', 'to-dcc', encodeReply({ type: 'alert', id: 8n, from: S1SP, to: S1SP_SP, time: TIME, code: 0x8f66, instructionId: 7n, operation: 'payment-mode' }));
  await r.close();
  return path;
}

test('gbcs recording: one JSON line per frame, in order, GBCS and S1SP decoded and checked', async (t) => {
  const path = await recording();
  const r = await runCli(['gbcs', 'recording', path, ...KEYS, '--rig', 'bench-1']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(
    lines.map((l) => [l.index, l.device, l.dir]),
    [[0, 'esme-1', 'to-device'], [1, 'esme-1', 'to-dcc'], [2, 's1-1', 'to-device'], [3, 's1-1', 'to-dcc'], [4, 's1-1', 'to-dcc'], [5, 'esme-1', 'to-dcc'], [6, 'esme-1', 'to-device'], [7, 's1-1', 'to-dcc']],
  );
  t.is(lines[0].at, '2026-11-29T00:00:00.000Z');
  t.like(lines[0], { protocol: 'gbcs', kind: 'command', useCase: 'ECS02', paymentMode: 'credit', signature: 'valid', mac: 'valid', recipient: ESME });
  t.like(lines[1], { protocol: 'gbcs', kind: 'response', useCase: 'ECS02', signature: 'valid' });
  t.like(lines[2], { protocol: 's1sp', type: 'instruction', id: '7', reference: '3', operation: { op: 'adjust-balance', amount: 42 }, signature: 'valid', to: S1SP });
  t.is(lines[2].time, new Date(Date.UTC(2000, 0, 1) + TIME * 1000).toISOString());
  t.like(lines[3], { protocol: 's1sp', type: 'response', status: 'executed', check: 'valid' });
  t.like(lines[4], { protocol: 's1sp', type: 'response', check: 'invalid' });
  t.like(lines[5], { protocol: 'gbcs', error: { code: 'bad-length', offset: 1 } });
  t.deepEqual(lines[6], { index: 6, at: lines[6].at, device: 'esme-1', dir: 'to-device', kind: 'control', hex: '0102' });
  t.like(lines[7], { protocol: 's1sp', type: 'alert', id: '8', code: '0x8F66', instructionId: '7', operation: 'payment-mode', check: 'valid' });
});

test('gbcs recording --device keeps one device; a device not in the recording is a usage error naming those that are', async (t) => {
  const path = await recording();
  const one = await runCli(['gbcs', 'recording', path, '--device', 's1-1']);
  t.is(one.code, 0, one.stderr);
  t.deepEqual(
    one.stdout.trim().split('\n').map((l) => JSON.parse(l).index),
    [2, 3, 4, 7],
  );
  const none = await runCli(['gbcs', 'recording', path, '--device', 'gsme-9']);
  t.is(none.code, 2);
  t.is(none.stdout, '');
  t.regex(none.stderr, /no frames of device gsme-9 \(the recording has esme-1, s1-1\)/);
});

test("gbcs recording: without keys the checks say no-key; another rig's S1SP key says invalid", async (t) => {
  const path = await recording();
  const bare = (await runCli(['gbcs', 'recording', path])).stdout.split('\n').map((l) => l && JSON.parse(l));
  t.like(bare[0], { kind: 'command', signature: 'no-key', mac: 'no-key' });
  t.like(bare[2], { type: 'instruction', signature: 'no-key' });
  const other = (await runCli(['gbcs', 'recording', path, '--rig', 'bench-2', '--device', 's1-1'])).stdout.split('\n')[0]!;
  t.like(JSON.parse(other), { type: 'instruction', signature: 'invalid' });
});

test('a recording line that is not a recorded frame is refused with FILE:LINE, by the parser and by the CLI', async (t) => {
  const good = JSON.stringify({ at: '2026-11-29T00:00:00.000Z', device: 'esme-1', dir: 'to-dcc', kind: 'data', hex: 'df00' });
  const cases: [string, RegExp][] = [
    ['{"at":', /:2: not JSON/],
    [JSON.stringify({ at: 'x', device: 'esme-1', dir: 'sideways', kind: 'data', hex: '' }), /:2: dir: /],
    [JSON.stringify({ at: 'x', device: 'esme-1', dir: 'to-dcc', kind: 'data', hex: 'abc' }), /:2: hex: hex octets/],
    [JSON.stringify({ at: 'x', device: 'esme-1', dir: 'to-dcc', kind: 'data', hex: 'ab', extra: 1 }), /:2: line: /],
  ];
  for (const [bad, message] of cases) {
    const path = join(temp(), 'bad.jsonl');
    writeFileSync(path, `${good}\n${bad}\n${good}\n`);
    const e = t.throws(() => parseRecording(`${good}\n${bad}\n`, path), { instanceOf: RecordingError });
    t.is(e?.line, 2, bad);
    const r = await runCli(['gbcs', 'recording', path]);
    t.is(r.code, 2, bad);
    t.is(r.stdout, '', bad);
    t.regex(r.stderr, new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') + message.source), bad);
  }
  // A last line cut short by a recorder stopped mid-write is left out with a warning; strict readers refuse it.
  const torn = join(temp(), 'torn.jsonl');
  writeFileSync(torn, `${good}\n${good.slice(0, 30)}`);
  const r = await runCli(['gbcs', 'recording', torn]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim().split('\n').length, 1);
  t.regex(r.stderr, /torn\.jsonl:2: the last line is cut short/);
  t.throws(() => parseRecording(`${good}\n${good.slice(0, 30)}`, torn), { instanceOf: RecordingError, message: /:2: not JSON/ });
  const missing = await runCli(['gbcs', 'recording', join(temp(), 'nothing.jsonl')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read recording .*ENOENT/);
});
