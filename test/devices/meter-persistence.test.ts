import test from 'ava';
import { ECS02, GCS02 } from '../../protocol/gbcs/usecases/catalogue.ts';
import { ECS04a } from '../../protocol/gbcs/usecases/meter-balance.ts';
import { SimClock } from '../../devices/clock.ts';
import { Smets2Meter } from '../../devices/smets2/meter.ts';
import { makeTestPki } from '../../devices/testing/command-builder.ts';
import { build, ESME_EUI, keys, meter, pki, send } from './support.ts';

test('a meter exported and imported into a new one has the same snapshot, counters and pending change, and executes it when due', (t) => {
  const rig = meter('esme', { paymentMode: 'prepayment' });
  const at = new Date(rig.clock.now() + 3_600_000);
  const codec = ECS02;
  rig.meter.process(build.command(codec, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'at', at } } }, { device: ESME_EUI, counter: 10n }));
  const before = rig.meter.snapshot();
  t.is((before.pending.paymentMode as { change: { mode: string } } | null)?.change.mode, 'credit');

  const clock = new SimClock(rig.clock.now());
  const restored = new Smets2Meter({ eui: ESME_EUI, variant: 'esme', keys, trustAnchors: pki.anchors, clock });
  restored.importState(rig.meter.exportState());
  t.deepEqual(restored.snapshot(), before);

  // The counter survived: the same command again is a replay.
  restored.process(build.command(codec, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: ESME_EUI, counter: 10n }));
  t.is(restored.snapshot().paymentMode, 'prepayment');
  t.is(restored.snapshot().securityLog.length, 1);

  // The pending change was scheduled again on the new clock.
  clock.advance(3_600_001);
  t.is(restored.snapshot().paymentMode, 'credit');
  t.is(rig.meter.snapshot().paymentMode, 'prepayment', 'the original is untouched');
});

test('a saved state of the wrong shape is refused field by field, and leaves the meter as it was and working', (t) => {
  const rig = meter('esme', { paymentMode: 'prepayment', meterBalance: 100 });
  const good = JSON.parse(rig.meter.exportState()) as Record<string, unknown>;
  const before = rig.meter.snapshot();
  const cases: [Record<string, unknown>, string][] = [
    [{ counters: {} }, 'counters: Invalid input: expected array, received object'],
    [{ counters: ['90B3D51F30010001'] }, 'counters: pairs of a sender and its counter'],
    [{ meterBalance: '100' }, 'meterBalance: Invalid input: expected number, received string'],
    [{ meterBalance: 1.5 }, 'meterBalance: Invalid input: expected int, received number'],
    [{ paymentMode: 'bogus' }, 'paymentMode: Invalid option: expected one of "credit"|"prepayment"'],
    [{ tariff: { standingCharge: 0, unitRates: [], digest: 'nope' } }, 'tariff.digest: 16 upper-case hex digits'],
    [{ securityLog: [{ at: 0, code: '8F99', reason: 'x' }] }, 'securityLog.0.code: Invalid option: expected one of "8F1E"|"8F30"|"8F53"|"8F60"'],
    [{ extra: 1 }, '(record): Unrecognized key: "extra"'],
  ];
  for (const [patch, problem] of cases) {
    t.throws(() => rig.meter.importState(JSON.stringify({ ...good, ...patch })), { message: `${ESME_EUI}: not a saved meter state (${problem})` }, JSON.stringify(patch));
    t.deepEqual(rig.meter.snapshot(), before, JSON.stringify(patch));
  }
  rig.meter.process(build.command(ECS04a, { amount: 5 }, { device: ESME_EUI, counter: 1n }));
  t.is(rig.meter.snapshot().meterBalance, 105, 'still a number, and the meter still answers');
});

test('a damaged saved state is refused naming the meter, and leaves the meter as it was', (t) => {
  const rig = meter('esme', { paymentMode: 'prepayment' });
  const before = rig.meter.snapshot();
  for (const damaged of ['{}', '{"paymentMode":"credit"', 'null', '[]']) {
    const e = t.throws(() => rig.meter.importState(damaged));
    t.regex(e?.message ?? '', new RegExp(`^${ESME_EUI}: not a saved meter state`), damaged);
    t.deepEqual(rig.meter.snapshot(), before, damaged);
  }
});

test("a SMETS2+ meter's trust anchors are kept in its saved state; a state with anchors that are not keys is refused and changes nothing", (t) => {
  const rig = meter('esme', { paymentMode: 'prepayment' });
  const saved = rig.meter.exportState();
  const other = makeTestPki('someone else');
  const restored = new Smets2Meter({ eui: ESME_EUI, variant: 'esme', keys, trustAnchors: other.anchors, clock: new SimClock(rig.clock.now()) });
  restored.importState(saved);
  t.deepEqual(restored.snapshot().trustAnchors, rig.meter.snapshot().trustAnchors, 'the anchors it was saved with, not those it was made with');
  const before = restored.snapshot();
  const record = JSON.parse(saved) as { environment: { trustAnchors: { supplier: { ds: string } } } };
  record.environment.trustAnchors.supplier.ds = '04' + '00'.repeat(64);
  const e = t.throws(() => restored.importState(JSON.stringify(record)));
  t.regex(e?.message ?? '', new RegExp(`^${ESME_EUI}: not a saved meter state`));
  t.deepEqual(restored.snapshot(), before);
  // A state saved before the anchors were kept leaves the meter's own.
  const { environment: _dropped, ...old } = JSON.parse(saved) as Record<string, unknown>;
  const fresh = new Smets2Meter({ eui: ESME_EUI, variant: 'esme', keys, trustAnchors: other.anchors, clock: new SimClock(rig.clock.now()) });
  fresh.importState(JSON.stringify(old));
  t.deepEqual(fresh.snapshot().trustAnchors, other.anchors.toJSON());
});

test('a saved pending change is checked for what it will write: one that would put a string in the meter is refused before it is scheduled', (t) => {
  const rig = meter('esme', { paymentMode: 'credit' });
  const at = new Date(rig.clock.now() + 3_600_000);
  rig.meter.process(build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'at', at } } }, { device: ESME_EUI, counter: 10n }));
  const saved = JSON.parse(rig.meter.exportState()) as { pending: { op: { target: Record<string, unknown> } }[] };
  saved.pending[0]!.op.target = { mode: 'prepayment', suspendDebtDisabled: true, suspendDebtEmergency: false, disablementThreshold: '-1000' };
  const clock = new SimClock(rig.clock.now());
  const other = new Smets2Meter({ eui: ESME_EUI, variant: 'esme', keys, trustAnchors: pki.anchors, clock });
  t.throws(() => other.importState(JSON.stringify(saved)), { message: `${ESME_EUI}: not a saved meter state (pending.0.op.target.disablementThreshold: Invalid input: expected number, received string)` });
  t.is(clock.advance(2 * 3_600_000), 0, 'nothing was scheduled');
  t.is(other.snapshot().prepaymentSettings.disablementThreshold, 0);
});

test("a saved pending change whose alert could not be raised (an unknown use case, a sender that is not an EUI, a counter past 64 bits, alert targets of the wrong shape or kind) is refused, and nothing is scheduled", (t) => {
  type Saved = { pending: { ctx: Record<string, unknown>; alertInfo?: unknown }[] };
  for (const variant of ['esme', 'gsme'] as const) {
    const rig = meter(variant, { paymentMode: 'prepayment' });
    const execution = { kind: 'at' as const, at: new Date(rig.clock.now() + 3_600_000) };
    const change = { target: { mode: 'credit' as const }, execution };
    t.truthy(variant === 'esme' ? send(rig.meter, ECS02, { variant, change }, { counter: 10n }) : send(rig.meter, GCS02, { variant, change }, { counter: 10n }));
    const text = rig.meter.exportState();
    const damaged: [string, (s: Saved) => void, RegExp][] = [
      ['use case', (s) => (s.pending[0]!.ctx.useCase = 'NOPE'), /NOPE is not a GBCS use case/],
      ['sender', (s) => (s.pending[0]!.ctx.source = 'not-an-eui'), /pending\.0\.ctx\.source: 16 upper-case hex digits/],
      ['counter', (s) => (s.pending[0]!.ctx.counter = { $bigint: (1n << 64n).toString() }), /pending\.0\.ctx\.counter: from 0 to 2\^64 - 1/],
      ['alert shape', (s) => (s.pending[0]!.alertInfo = { attributes: 'x' }), /pending\.0\.alertInfo/],
      [
        'alert kind',
        (s) => (s.pending[0]!.alertInfo = variant === 'esme' ? { commands: [{ clusterId: 0x0705, frameControl: 1, commandId: 6 }] } : { attributes: [{ classId: 1, instance: '0000130A00FF', index: 2 }] }),
        variant === 'esme' ? /its alert names ZCL commands, which a ESME does not raise/ : /its alert names DLMS attributes, which a GSME does not raise/,
      ],
    ];
    for (const [what, damage, message] of damaged) {
      const saved = JSON.parse(text) as Saved;
      damage(saved);
      const clock = new SimClock(rig.clock.now());
      const other = new Smets2Meter({ eui: rig.meter.eui, variant, keys, trustAnchors: pki.anchors, clock });
      const error = t.throws(() => other.importState(JSON.stringify(saved)), undefined, `${variant}: ${what}`);
      t.regex(error?.message ?? '', message, `${variant}: ${what}`);
      t.is(clock.advance(2 * 3_600_000), 0, `${variant}: ${what}: nothing was scheduled`);
      t.is(other.paymentMode, 'credit', `${variant}: ${what}: the meter is as it was`);
    }
  }
});
