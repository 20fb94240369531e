import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectInMemory } from '../../../devices/connect.ts';
import { DeviceLogs } from '../../../devices/rig/device-log.ts';
import { checkDevice, powerCycle } from '../../../devices/rig/health.ts';
import { LeaseStore } from '../../../devices/rig/leases.ts';
import { FrameRecorder, readRecording, RecordingLink, ReplayLink } from '../../../devices/rig/recording.ts';
import { RigSetupError } from '../../../devices/rig/rig-files.ts';
import { DeviceHost } from '../../../devices/host.ts';
import { Transport, TransportError } from '../../../devices/transports/transport.ts';
import { ECS04a } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { build, ESME_EUI, meter } from '../support.ts';
import { MockWire } from '../transports/serial/mock-wire.ts';

const temp = (p: string) => mkdtempSync(join(tmpdir(), p));

test('per-device logs: two devices writing at once, each file holds only its own whole lines, in order', async (t) => {
  const logs = new DeviceLogs(temp('rig-logs-'));
  const a = logs.for('esme-1');
  const b = logs.for('gsme-1');
  const long = 'x'.repeat(5000);
  await Promise.all(
    ['esme-1', 'gsme-1'].map(async (id) => {
      for (let i = 0; i < 400; i++) {
        (id === 'esme-1' ? a : b).line(`${id} line ${i} ${i % 50 === 0 ? long : ''}`);
        if (i % 37 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  await logs.close();
  for (const id of ['esme-1', 'gsme-1']) {
    const lines = readFileSync(join(logs.dir, `${id}.log`), 'utf8').trimEnd().split('\n');
    t.is(lines.length, 400);
    lines.forEach((l, i) => t.regex(l, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${id} line ${i}( |$)`), `${id} line ${i}`));
  }
});

test('a device that does not answer its health check is taken out of service; a passing check restores it', async (t) => {
  const store = new LeaseStore(temp('health-'));
  const failing = await checkDevice(store, 'bench', 'esme-1', () => new Promise(() => undefined), 50);
  t.false(failing.healthy);
  t.regex(failing.reason ?? '', /no answer within 50 ms/);
  t.false(store.health('bench', 'esme-1')!.healthy);
  const refused = await checkDevice(store, 'bench', 'esme-1', () => Promise.reject(new Error('link failed')), 50);
  t.is(refused.reason, 'link failed');
  t.is(store.health('bench', 'esme-1')!.failures, 2);
  t.true((await checkDevice(store, 'bench', 'esme-1', () => Promise.resolve('pong'), 50)).healthy);
  t.true(store.health('bench', 'esme-1')!.healthy);
});

test('power-cycle commands run with a timeout', async (t) => {
  const ok = await powerCycle('echo relay off; echo relay on', 5000);
  t.deepEqual([ok.ok, ok.output], [true, 'relay off\nrelay on\n']);
  const slow = await powerCycle('sleep 30', 100);
  t.deepEqual([slow.ok, slow.timedOut], [false, true]);
  t.false((await powerCycle('exit 3', 5000)).ok);
});

test('a recording or device log goes where the rig says, its folder made if missing; a path that cannot be written is a RigSetupError at once', async (t) => {
  const dir = temp('rig-files-');
  const recording = join(dir, 'not', 'there', 'yet', 'frames.jsonl');
  const recorder = new FrameRecorder(recording);
  recorder.record('esme-1', 'to-device', Uint8Array.of(1, 2));
  await recorder.close();
  t.is(readRecording(recording).length, 1);
  const logs = new DeviceLogs(join(dir, 'logs', 'deeper'));
  logs.for('esme-1').line('hello');
  await logs.close();
  t.regex(readFileSync(join(dir, 'logs', 'deeper', 'esme-1.log'), 'utf8'), /Z hello\n$/);

  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  t.throws(() => new FrameRecorder(join(file, 'frames.jsonl')), { instanceOf: RigSetupError, message: /^cannot write the frame recording .*a-file\/frames\.jsonl: E(EXIST|NOTDIR)/ });
  t.throws(() => new DeviceLogs(join(file, 'logs')), { instanceOf: RigSetupError, message: /^cannot keep device logs in .*a-file\/logs: ENOTDIR/ });
  t.throws(() => new LeaseStore(join(file, 'leases')), { instanceOf: RigSetupError, message: /^cannot keep leases in .*a-file\/leases: ENOTDIR/ });
});

test('frames are recorded as JSON lines and a replay answers like the recorded device', async (t) => {
  const path = join(temp('recording-'), 'frames.jsonl');
  const recorder = new FrameRecorder(path);
  const { meter: m } = meter('esme');
  const conn = await connectInMemory([m]);
  await conn.transport.close();
  const recorded = new Transport(new RecordingLink(conn.pair.dcc, recorder, 'esme-1'));
  await recorded.open();
  const commands = [1n, 2n, 3n].map((c) => build.command(ECS04a, { amount: 10 }, { device: ESME_EUI, counter: c }));
  const replies = [];
  for (const c of commands) replies.push(Buffer.from((await recorded.request(c)).frame));
  await recorded.close();
  await recorder.close();
  const frames = readRecording(path);
  t.deepEqual(frames.map((f) => f.dir), ['to-device', 'to-dcc', 'to-device', 'to-dcc', 'to-device', 'to-dcc']);
  t.true(frames.every((f) => f.device === 'esme-1' && f.kind === 'data' && /^[0-9a-f]+$/.test(f.hex) && !Number.isNaN(Date.parse(f.at))));

  // Offline: the same commands against the recording get the same answers, and nothing diverges.
  const replay = new ReplayLink(frames, { device: 'esme-1', strict: true });
  const offline = new Transport(replay);
  await offline.open();
  for (const [i, c] of commands.entries()) t.deepEqual(Buffer.from((await offline.request(c)).frame), replies[i]);
  t.deepEqual(replay.divergences, []);
  t.is(replay.remaining, 0);
  // A command the recording never saw is refused in strict mode.
  const other = build.command(ECS04a, { amount: 99 }, { device: ESME_EUI, counter: 9n });
  await t.throwsAsync(offline.request(other));
  t.is(replay.divergences.length, 1);
});

test('a command withdrawn at its send timeout is not recorded; the rest keep their order and replay', async (t) => {
  const path = join(temp('recording-'), 'frames.jsonl');
  const recorder = new FrameRecorder(path);
  const wire = new MockWire();
  // The meter's first two ACKs are lost: the first command stays on the wire, its answer back before its ACK.
  wire.rule = (f) => (f.direction === 'b->a' && f.type === 'ack' && f.index < 2 ? 'drop' : 'pass');
  const { meter: m } = meter('esme');
  const host = new DeviceHost(wire.link('b', { ackTimeoutMs: 150 })).add(m);
  await host.start();
  const recorded = new Transport(new RecordingLink(wire.link('a', { ackTimeoutMs: 150 }), recorder, 'esme-1'), { timeouts: { sendMs: 100 } });
  await recorded.open();
  const [first, withdrawn, third] = [1n, 2n, 3n].map((c) => build.command(ECS04a, { amount: 10 }, { device: ESME_EUI, counter: c }));
  const replies = [recorded.request(first!)];
  const e = await t.throwsAsync(recorded.request(withdrawn!), { instanceOf: TransportError });
  t.deepEqual([e?.kind, e?.phase], ['timeout', 'send']);
  replies.push(recorded.request(third!, { sendTimeoutMs: 10_000 }));
  const answers = (await Promise.all(replies)).map((r) => Buffer.from(r.frame));
  await recorded.close();
  await host.stop();
  await recorder.close();
  const frames = readRecording(path);
  t.deepEqual(frames.map((f) => f.dir), ['to-device', 'to-dcc', 'to-device', 'to-dcc']);
  t.false(frames.some((f) => f.hex === Buffer.from(withdrawn!).toString('hex')), 'the withdrawn command never crossed the link');

  const offline = new Transport(new ReplayLink(frames, { device: 'esme-1', strict: true }));
  await offline.open();
  t.deepEqual(Buffer.from((await offline.request(first!)).frame), answers[0]);
  t.deepEqual(Buffer.from((await offline.request(third!)).frame), answers[1]);
});
