import test from 'ava';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../helpers/fixtures.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair } from '../../protocol/smki/keys.ts';
import { SimClock } from '../../devices/clock.ts';
import { connectInMemory } from '../../devices/connect.ts';
import { Smets1Meter } from '../../devices/smets1/meter.ts';
import { TransportError } from '../../devices/transports/transport.ts';
import { operationFromUpdatePaymentMode, S1sp, type S1spAlertEvent, S1spReplyError } from '../../emulator/s1sp.ts';

const S1SP = parseEui('90B3D51F30000005');
const METER = parseEui('00DB1234567890B0');
const GAS = parseEui('00DB1234567890B1');
const key = deriveKeyPair('s1sp tests', 's1sp');

async function setup() {
  const clock = new SimClock();
  const meters = [
    new Smets1Meter({ eui: METER, variant: 'esme', clock, initial: { paymentMode: 'prepayment' }, s1sp: { eui: S1SP, publicKey: key.publicKey } }),
    new Smets1Meter({ eui: GAS, variant: 'gsme', clock, s1sp: { eui: S1SP, publicKey: key.publicKey } }),
  ];
  const c = await connectInMemory(meters, { transport: { timeouts: { responseMs: 500 } } });
  const s1sp = new S1sp({ eui: S1SP, signingKey: key.privateKey, channel: c.transport, now: () => clock.date() });
  return { clock, meters, c, s1sp };
}

test('the S1SP signs and numbers instructions; the meter applies them and answers', async (t) => {
  const { meters, c, s1sp } = await setup();
  const r1 = await s1sp.instruct(METER, operationFromUpdatePaymentMode({ kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } }), { reference: 1002n });
  t.like(r1, { status: 'executed', id: 1n });
  t.is(meters[0]!.paymentMode, 'credit');
  const r2 = await s1sp.instruct(GAS, { op: 'read', what: 'prepay-values' });
  t.like(r2, { status: 'executed', id: 2n, read: { what: 'prepay-values', paymentMode: 'credit' } });
  t.deepEqual(meters[0]!.snapshot().counters, { [S1SP]: '1' });
  await c.close();
});

test('future-dated instructions raise an alert the S1SP passes on', async (t) => {
  const { clock, c, s1sp } = await setup();
  const alerts: S1spAlertEvent[] = [];
  s1sp.onAlert((e) => alerts.push(e));
  const op = operationFromUpdatePaymentMode({ kind: 'UpdatePaymentMode', executionDateTime: new Date(clock.now() + 60_000).toISOString(), paymentMode: { mode: 'Credit' } });
  t.like(await s1sp.instruct(METER, op), { status: 'scheduled' });
  clock.advance(60_000);
  for (let i = 0; i < 50 && alerts.length === 0; i++) await new Promise((r) => setImmediate(r));
  t.like(alerts[0], { meter: METER, alert: { code: 0x8f66, instructionId: 1n } });
  await c.close();
});

test('DUIS Update Payment Mode maps to the operation, including the cancellation sentinel', (t) => {
  t.deepEqual(operationFromUpdatePaymentMode({ kind: 'UpdatePaymentMode', executionDateTime: '3000-12-31T00:00:00.00Z', paymentMode: { mode: 'Credit' } }), { op: 'payment-mode', target: { mode: 'credit' }, execution: { kind: 'never' } });
  t.deepEqual(
    operationFromUpdatePaymentMode({ kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: true, suspendDebtEmergency: false, disablementThreshold: 5 } }),
    { op: 'payment-mode', target: { mode: 'prepayment', suspendDebtDisabled: true, suspendDebtEmergency: false, disablementThreshold: 5 }, execution: { kind: 'now' } },
  );
});

test('a date-time without zone is UTC whatever the host is set to, as the DCC checks it (not the local time of the host)', (t) => {
  // The host's zone is fixed when a process starts (a test worker cannot change it), so each zone gets a process.
  const script = `import { operationFromUpdatePaymentMode } from './emulator/s1sp.ts';
    const op = (at) => operationFromUpdatePaymentMode({ kind: 'UpdatePaymentMode', executionDateTime: at, paymentMode: { mode: 'Credit' } }).execution;
    console.log(JSON.stringify([op('2026-07-01T10:30:00'), op('3000-12-30T19:00:00')]));`;
  for (const TZ of ['America/New_York', 'Asia/Tokyo', 'Europe/London']) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { ...process.env, TZ }, encoding: 'utf8' });
    // Five hours before the cancel sentinel in New York's time is not the sentinel: the SC role may not cancel.
    t.deepEqual(JSON.parse(out), [
      { kind: 'at', at: '2026-07-01T10:30:00.000Z' },
      { kind: 'at', at: '3000-12-30T19:00:00.000Z' },
    ], TZ);
  }
});

test('infrastructure failures surface as such: a lost answer is a TransportError, a corrupted one an S1spReplyError', async (t) => {
  const { c, s1sp, meters } = await setup();
  c.pair.faults.add({ action: 'drop', direction: 'to-dcc', frames: 0 });
  const e = await t.throwsAsync(s1sp.instruct(METER, { op: 'adjust-balance', amount: 1 }, { responseTimeoutMs: 50 }), { instanceOf: TransportError });
  t.is(e?.kind, 'timeout');
  c.pair.faults.clear().add({ action: 'corrupt', direction: 'to-dcc', frames: 1, corrupt: (f) => Buffer.concat([f.subarray(0, f.length - 1), Uint8Array.of(f[f.length - 1]! ^ 1)]) });
  await t.throwsAsync(s1sp.instruct(METER, { op: 'adjust-balance', amount: 1 }), { instanceOf: S1spReplyError });
  t.is(meters[0]!.meterBalance, 2, 'both instructions executed; only the answers were lost');
  await c.close();
});
