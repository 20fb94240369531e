import test from 'ava';
import { verifyApdu } from '../../../protocol/gbcs/security.ts';
import { parseFutureDatedAlert } from '../../../protocol/gbcs/usecases/alerts.ts';
import { ECS02, ECS03, GCS02, GCS03 } from '../../../protocol/gbcs/usecases/catalogue.ts';
import { ECS08, GCS05 } from '../../../protocol/gbcs/usecases/prepayment-config.ts';
import { expectedChanges } from '../../../devices/expected-changes.ts';
import { diffSnapshots, unexpectedChanges } from '../../../devices/snapshot.ts';
import { GSME_CALENDAR, SCHEDULE, SPECIAL_DAYS } from '../../protocol/gbcs/usecases-support.ts';
import { apduOf, keys, meter, pki, send } from '../support.ts';

const HOUR = 3600_000;
const prepay = { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 500 } as const;

function alerts(sent: Uint8Array[], eui: Parameters<typeof keys.keysFor>[0]) {
  return sent.map((f) => {
    const a = apduOf(f);
    const p = parseFutureDatedAlert(a);
    if (!p.ok) throw new Error(p.error.toString());
    return { apdu: a, alert: p.value, signed: verifyApdu(a, keys.keysFor(eui).ds.publicKey) };
  });
}

for (const [codec, variant, target, attributes] of [
  [ECS02, 'esme', { mode: 'credit' }, ['006F/0001130000FF/13']],
  [ECS03, 'esme-twin', prepay, ['2328/00005E2C8016/6', '006F/0001130000FF/13']],
  [GCS02, 'gsme', { mode: 'credit' }, ['0705/01/06']],
  [GCS03, 'gsme', prepay, ['0705/01/06']],
] as const) {
  test(`${codec.name}: a future-dated change waits for the clock, executes at its time and raises 8F66 per ${variant === 'gsme' ? 'ZCL command' : 'activation attribute'}`, (t) => {
    const { meter: m, clock, sent } = meter(variant, { paymentMode: target.mode === 'credit' ? 'prepayment' : 'credit' });
    const at = new Date(clock.now() + 24 * HOUR);
    const s0 = m.snapshot();
    const a = send(m, codec, { variant, change: { target, execution: { kind: 'at', at } } }, { counter: 1001n });
    t.true(a?.outcome.success, 'accepted now');
    const s1 = m.snapshot();
    t.deepEqual(unexpectedChanges(diffSnapshots(s0, s1), expectedChanges(codec.name, { source: pki.supplier.eui, execution: 'future' })), []);
    t.is(s1.paymentMode, s0.paymentMode, 'not yet');
    t.like(s1.pending.paymentMode as object, { counter: '1001', executeAt: at.toISOString(), useCase: codec.name, change: { mode: target.mode } });

    clock.advance(24 * HOUR - 1);
    t.is(m.paymentMode, s0.paymentMode);
    t.is(sent.length, 0);
    const s2 = m.snapshot();
    clock.advance(1);
    const s3 = m.snapshot();
    t.is(s3.paymentMode, target.mode);
    t.is(s3.pending.paymentMode, null);
    t.deepEqual(unexpectedChanges(diffSnapshots(s2, s3), expectedChanges(codec.name, { source: pki.supplier.eui, phase: 'execution' })), []);

    const got = alerts(sent, m.eui);
    t.is(got.length, attributes.length);
    got.forEach((g, i) => {
      t.true(g.signed, 'critical alert signed by the meter');
      t.is(g.apdu.cra, 'alert');
      t.is(g.apdu.recipient, pki.supplier.eui, 'to the party that sent the command');
      t.is(g.alert.counter, 1001n);
      t.is(g.alert.messageCode, codec.code);
      t.is(g.alert.executedAt.getTime(), at.getTime());
      t.is(g.alert.alertCounter, BigInt(i + 1));
      const fired = g.alert.attribute ? `${g.alert.attribute.classId.toString(16).toUpperCase().padStart(4, '0')}/${g.alert.attribute.instance}/${g.alert.attribute.index}` : `${g.alert.zcl!.clusterId.toString(16).padStart(4, '0')}/${g.alert.zcl!.frameControl.toString(16).padStart(2, '0')}/${g.alert.zcl!.commandId.toString(16).padStart(2, '0')}`;
      t.is(fired, attributes[i] ?? '');
    });
    t.is(s3.alertCounter, String(attributes.length));
  });

  test(`${codec.name}: cancellation ("never") clears the pending change without an alert`, (t) => {
    const { meter: m, clock, sent } = meter(variant);
    const at = new Date(clock.now() + HOUR);
    send(m, codec, { variant, change: { target, execution: { kind: 'at', at } } }, { counter: 1n });
    t.not(m.snapshot().pending.paymentMode, null);
    const before = m.snapshot();
    const c = send(m, codec, { variant, change: { target, execution: { kind: 'never' } } }, { counter: 2n });
    t.true(c?.outcome.success);
    const after = m.snapshot();
    t.is(after.pending.paymentMode, null);
    t.deepEqual(unexpectedChanges(diffSnapshots(before, after), expectedChanges(codec.name, { source: pki.supplier.eui, execution: 'cancel' })), []);
    clock.advance(2 * HOUR);
    t.is(m.paymentMode, before.paymentMode);
    t.deepEqual(sent, []);
  });
}

test('an immediate change replaces a pending one; a second future-dated one replaces the first', (t) => {
  const { meter: m, clock, sent } = meter('esme', { paymentMode: 'prepayment' });
  const first = new Date(clock.now() + HOUR);
  const second = new Date(clock.now() + 2 * HOUR);
  send(m, ECS03, { variant: 'esme', change: { target: prepay, execution: { kind: 'at', at: first } } }, { counter: 1n });
  send(m, ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'at', at: second } } }, { counter: 2n });
  t.like(m.snapshot().pending.paymentMode as object, { counter: '2' });
  clock.advance(HOUR);
  t.is(m.paymentMode, 'prepayment', 'the first was replaced');
  t.is(sent.length, 0);
  send(m, ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { counter: 3n });
  t.is(m.paymentMode, 'credit');
  t.is(m.snapshot().pending.paymentMode, null);
  clock.advance(2 * HOUR);
  t.is(sent.length, 0, 'nothing left to execute');
});

test('an execution time already past executes at once (no alert)', (t) => {
  const { meter: m, clock, sent } = meter('gsme', { paymentMode: 'prepayment' });
  clock.advance(HOUR);
  send(m, GCS02, { variant: 'gsme', change: { target: { mode: 'credit' }, execution: { kind: 'at', at: new Date(clock.now() - 1000) } } }, { counter: 1n });
  t.is(m.paymentMode, 'credit');
  t.is(m.snapshot().pending.paymentMode, null);
  t.is(sent.length, 0);
});

test('future-dated prepayment configuration: 9 ESME alerts, 6 GSME alerts, values applied at the time', (t) => {
  const e = meter('esme');
  const at = new Date(e.clock.now() + HOUR);
  send(e.meter, ECS08, { execution: { kind: 'at', at }, maxMeterBalance: 1, maxCreditThreshold: 2, debtRecoveryRateCap: 3, debtRecoveryRateCapPeriod: 4, lowCreditThreshold: 5, emergencyCreditLimit: 6, emergencyCreditThreshold: 7, specialDays: SPECIAL_DAYS, calendar: SCHEDULE }, { counter: 1n });
  t.is(e.meter.snapshot().emergencyCredit.limit, 1_000_000);
  t.not(e.meter.snapshot().pending.prepaymentConfiguration, null);
  e.clock.advance(HOUR);
  t.is(e.meter.snapshot().emergencyCredit.limit, 6);
  t.is(alerts(e.sent, e.meter.eui).length, 9);

  const g = meter('gsme');
  send(g.meter, GCS05, { execution: { kind: 'at', at }, emergencyCreditLimit: 6, emergencyCreditThreshold: 7, debtRecoveryRateCap: 3, lowCreditThreshold: 5, maxMeterBalance: 1, maxCreditThreshold: 2, calendar: GSME_CALENDAR }, { counter: 1n });
  g.clock.advance(HOUR);
  t.is(g.meter.snapshot().prepaymentConfiguration.lowCreditThreshold, 5);
  t.deepEqual(alerts(g.sent, g.meter.eui).map((a) => a.alert.zcl?.commandId), [0x03, 0x0c, 0x09, 0x0b, 0x00, 0x04]);
});
