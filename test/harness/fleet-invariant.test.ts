/**
 * The fleet's invariant on one meter: a prepayment meter of the failed supplier must end in credit with nothing
 * left pending that could undo its switch.
 */
import test from 'ava';
import { SimClock } from '../../devices/clock.ts';
import type { PendingChange } from '../../devices/meter.ts';
import { Smets1Meter } from '../../devices/smets1/meter.ts';
import { checkInvariant } from '../../harness/fleet/invariant.ts';
import type { MeterSpec } from '../../harness/fleet/plan.ts';
import { EMULATED_S1SP } from '../../harness/pools/emulated.ts';
import type { MeterOperation } from '../../protocol/s1sp/operations.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../protocol/smki/keys.ts';

const spec: MeterSpec = { index: 0, eui: parseEui('00DB000000000001'), type: 'SMETS1', twin: false, fuel: 'electricity', prepay: true, failedSupplier: true };
const s1sp = { eui: EMULATED_S1SP, publicKey: generateKeyPair().publicKey };

/** A meter of the failed supplier, in prepayment, given these operations as its S1SP would (counters from 1). */
function meterAfter(...ops: MeterOperation[]) {
  const clock = new SimClock(new Date('2026-01-05T09:00:00Z'));
  const make = () => new Smets1Meter({ eui: spec.eui, variant: 'esme', clock, initial: { paymentMode: 'prepayment' }, s1sp });
  const meter = make();
  const perform = (meter as unknown as { perform(op: MeterOperation, ctx: PendingChange['ctx']): unknown }).perform.bind(meter);
  ops.forEach((op, i) => perform(op, { source: EMULATED_S1SP, counter: BigInt(i + 1), useCase: op.op }));
  return checkInvariant({ size: 1, spec: () => spec, meterAt: () => meter, addressed: Uint8Array.of(1), pristine: make, source: () => EMULATED_S1SP });
}

const credit: MeterOperation = { op: 'payment-mode', target: { mode: 'credit' }, execution: { kind: 'now' } };
const prepaymentTomorrow: MeterOperation = {
  op: 'payment-mode',
  target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 },
  execution: { kind: 'at', at: new Date('2026-01-06T09:00:00Z') },
};

test('a meter switched to Credit is no violation', (t) => {
  t.like(meterAfter(credit), { compared: 1, violations: 0, applied: 1 });
});

test('a meter switched to Credit with a switch back to prepayment left pending is a violation', (t) => {
  const r = meterAfter(credit, prepaymentTomorrow);
  t.is(r.violations, 1);
  t.regex(r.examples[0]!, /in credit, with a payment-mode change still pending: .*"mode":"prepayment"/);
});
