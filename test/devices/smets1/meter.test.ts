import test from 'ava';
import { zigbeeUtcTime } from '../../../protocol/gbcs/datetime.ts';
import { checkReply, decodeS1sp, encodeInstruction, type S1spFrame } from '../../../protocol/s1sp/frame.ts';
import { type MeterOperation } from '../../../protocol/s1sp/operations.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { deriveKeyPair, generateKeyPair } from '../../../protocol/smki/keys.ts';
import { SimClock } from '../../../devices/clock.ts';
import { expectedChanges } from '../../../devices/expected-changes.ts';
import { type InitialState } from '../../../devices/meter.ts';
import { Smets1Meter } from '../../../devices/smets1/meter.ts';
import { diffSnapshots, unexpectedChanges } from '../../../devices/snapshot.ts';

const S1SP = parseEui('90B3D51F30000005');
const OTHER_S1SP = parseEui('90B3D51F30000006');
const METER = parseEui('00DB1234567890B0');
const s1spKey = deriveKeyPair('smets1 tests', 's1sp');

function rig(variant: 'esme' | 'gsme' = 'esme', initial: Partial<InitialState> = {}) {
  const clock = new SimClock();
  const meter = new Smets1Meter({ eui: METER, variant, clock, initial, s1sp: { eui: S1SP, publicKey: s1spKey.publicKey } });
  const sent: Uint8Array[] = [];
  meter.setOutput((f) => sent.push(f));
  return { meter, clock, sent };
}

function instruct(meter: Smets1Meter, operation: MeterOperation, id: bigint, o: { from?: typeof S1SP; key?: typeof s1spKey.privateKey; to?: typeof METER } = {}): S1spFrame | null {
  const frame = encodeInstruction({ type: 'instruction', id, from: o.from ?? S1SP, to: o.to ?? METER, time: zigbeeUtcTime(new Date(meter.now())), reference: 0n, operation }, o.key ?? s1spKey.privateKey);
  const reply = meter.process(frame);
  if (!reply) return null;
  const d = decodeS1sp(reply);
  if (!d.ok || !checkReply(d.value)) throw new Error('bad reply');
  return d.value.frame;
}

const credit: MeterOperation = { op: 'payment-mode', target: { mode: 'credit' }, execution: { kind: 'now' } };

test('an instruction from its S1SP executes: same state model and snapshot as SMETS2+', (t) => {
  const { meter } = rig('esme', { paymentMode: 'prepayment' });
  const before = meter.snapshot();
  const r = instruct(meter, credit, 1n);
  t.like(r, { type: 'response', status: 'executed', id: 1n, from: METER, to: S1SP });
  const after = meter.snapshot();
  t.is(after.paymentMode, 'credit');
  t.is(after.generation, 'smets1');
  t.deepEqual(unexpectedChanges(diffSnapshots(before, after), expectedChanges('payment-mode', { source: S1SP })), []);
  t.is(after.counters[S1SP], '1');
});

test('the meter checks only its S1SP: a wrong key, another S1SP or a replayed id change nothing but the Security Log', (t) => {
  const { meter } = rig('esme', { paymentMode: 'prepayment' });
  instruct(meter, { op: 'adjust-balance', amount: 1 }, 10n);
  for (const [how, o, code] of [
    ['another key', { key: generateKeyPair().privateKey }, '8F53'],
    ['another S1SP', { from: OTHER_S1SP }, '8F53'],
  ] as const) {
    const before = meter.snapshot();
    const r = instruct(meter, credit, 11n, o);
    t.like(r, { status: 'rejected' }, how);
    const after = meter.snapshot();
    t.deepEqual(unexpectedChanges(diffSnapshots(before, after), ['securityLog']), [], how);
    t.is((after.securityLog as { code: string }[]).at(-1)?.code, code);
  }
  for (const id of [10n, 9n]) {
    const before = meter.snapshot();
    t.like(instruct(meter, credit, id), { status: 'rejected' });
    t.deepEqual(unexpectedChanges(diffSnapshots(before, meter.snapshot()), ['securityLog']), []);
  }
  t.is(meter.paymentMode, 'prepayment');
  t.like(instruct(meter, credit, 11n), { status: 'executed' });
});

test('frames with no readable header, and frames for another meter, are logged and dropped', (t) => {
  const { meter } = rig();
  const good = encodeInstruction({ type: 'instruction', id: 1n, from: S1SP, to: METER, time: 1, reference: 0n, operation: credit }, s1spKey.privateKey);
  const before = meter.snapshot();
  t.is(meter.process(good.subarray(0, 30)), null);
  t.is(instruct(meter, credit, 1n, { to: parseEui('00DB1234567890B1') }), null);
  t.deepEqual(unexpectedChanges(diffSnapshots(before, meter.snapshot()), ['securityLog']), []);
  t.is((meter.snapshot().securityLog as unknown[]).length, 2);
});

test('an instruction from its S1SP that it cannot read is answered rejected, and logged with its source and id', (t) => {
  const { meter } = rig('esme', { paymentMode: 'prepayment' });
  const good = encodeInstruction({ type: 'instruction', id: 7n, from: S1SP, to: METER, time: 1, reference: 0n, operation: credit }, s1spKey.privateKey);
  const unknownOperation = Buffer.from(good);
  unknownOperation[32 + 2 + 8] = 0x7f; // header 32 octets, body length 2, reference 8, then the operation code
  for (const frame of [good.subarray(0, 40), unknownOperation]) {
    const before = meter.snapshot();
    const reply = meter.process(frame);
    const d = reply && decodeS1sp(reply);
    t.true(d?.ok && checkReply(d.value));
    if (d?.ok) t.like(d.value.frame, { type: 'response', status: 'rejected', id: 7n, from: METER, to: S1SP });
    t.deepEqual(unexpectedChanges(diffSnapshots(before, meter.snapshot()), ['securityLog']), []);
    t.like(meter.snapshot().securityLog.at(-1), { code: '8F1E', source: S1SP, counter: '7' });
  }
  t.is(meter.paymentMode, 'prepayment');
  t.is(meter.snapshot().counters[S1SP], undefined, 'the id is not spent');
});

test('future-dated instruction: scheduled, executed by the clock with an 8F66 alert to the S1SP; "never" cancels', (t) => {
  const { meter, clock, sent } = rig('gsme', { paymentMode: 'prepayment' });
  const at = new Date(clock.now() + 3600_000);
  t.like(instruct(meter, { ...credit, execution: { kind: 'at', at } } as MeterOperation, 1n), { status: 'scheduled' });
  t.like(meter.snapshot().pending.paymentMode as object, { executeAt: at.toISOString(), source: S1SP });
  clock.advance(3600_000);
  t.is(meter.paymentMode, 'credit');
  t.is(sent.length, 1);
  const a = decodeS1sp(sent[0]!);
  t.true(a.ok && checkReply(a.value));
  t.like(a.ok ? a.value.frame : {}, { type: 'alert', code: 0x8f66, instructionId: 1n, operation: 'payment-mode', from: METER, to: S1SP });

  instruct(meter, { op: 'payment-mode', target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: false, disablementThreshold: 0 }, execution: { kind: 'at', at: new Date(clock.now() + 1000) } }, 2n);
  t.like(instruct(meter, { ...credit, execution: { kind: 'never' } } as MeterOperation, 3n), { status: 'cancelled' });
  clock.advance(5000);
  t.is(meter.paymentMode, 'credit');
  t.is(sent.length, 1);
});

test('reads answer with values; a gas meter refuses remote enable', (t) => {
  const { meter } = rig('gsme', { meterBalance: 321, supply: 'disabled' });
  const r = instruct(meter, { op: 'read', what: 'prepay-values' }, 1n);
  t.like(r, { status: 'executed', read: { what: 'prepay-values', meterBalance: 321 } });
  const before = meter.snapshot();
  t.like(instruct(meter, { op: 'supply', action: 'enable' }, 2n), { status: 'refused' });
  t.is(meter.supply, 'disabled');
  t.deepEqual(unexpectedChanges(diffSnapshots(before, meter.snapshot()), [`counters.${S1SP}`, 'eventLog']), []);
});

test('a saved pending instruction is refused when its use case is not its operation or it carries GBCS alert targets; nothing is scheduled', (t) => {
  const { meter, clock } = rig('esme', { paymentMode: 'prepayment' });
  t.like(instruct(meter, { ...credit, execution: { kind: 'at', at: new Date(clock.now() + 3600_000) } } as MeterOperation, 1n), { status: 'scheduled' });
  const text = meter.exportState();
  type Saved = { pending: { ctx: { useCase: string }; alertInfo?: unknown }[] };
  const damaged: [string, (s: Saved) => void, RegExp][] = [
    ['use case', (s) => (s.pending[0]!.ctx.useCase = 'supply'), /use case supply is not its operation, payment-mode/],
    ['alert', (s) => (s.pending[0]!.alertInfo = { attributes: [] }), /a SMETS1 meter raises no GBCS alert/],
  ];
  for (const [what, damage, message] of damaged) {
    const saved = JSON.parse(text) as Saved;
    damage(saved);
    const other = rig('esme');
    t.throws(() => other.meter.importState(JSON.stringify(saved)), { message }, what);
    other.clock.advance(7200_000);
    t.is(other.meter.paymentMode, 'credit', `${what}: nothing was scheduled`);
    t.is(other.sent.length, 0, `${what}: no alert`);
  }
  // The state as saved is taken, and its change executes when due.
  const again = rig('esme');
  again.meter.importState(text);
  again.clock.advance(7200_000);
  t.is(again.sent.length, 1);
});
