/**
 * Times that are not times: a timer or a saved pending change without a usable time must be refused before it
 * reaches a clock that a whole fleet shares, where it would hold back every later timer.
 */
import test from 'ava';
import { SimClock } from '../../devices/clock.ts';
import { Smets1Meter } from '../../devices/smets1/meter.ts';
import { type MeterOperation } from '../../protocol/s1sp/operations.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair } from '../../protocol/smki/keys.ts';

const s1sp = { eui: parseEui('90B3D51F30060001'), publicKey: deriveKeyPair('clock time values', 's1sp').publicKey };
const ctx = { source: s1sp.eui, counter: 1n, useCase: 'payment-mode' };
const HOUR = 3_600_000;

function fleet() {
  const clock = new SimClock(Date.UTC(2030, 0, 1));
  const meter = (eui: string) => new Smets1Meter({ eui: parseEui(eui), variant: 'esme', clock, s1sp, initial: { paymentMode: 'prepayment' } });
  // A switch to credit an hour from now, as an S1SP instruction asks for it.
  const creditInAnHour = (m: Smets1Meter) => {
    const op: MeterOperation = { op: 'payment-mode', target: { mode: 'credit' }, execution: { kind: 'at', at: new Date(clock.now() + HOUR) } };
    (m as unknown as { perform(op: MeterOperation, c: typeof ctx): unknown }).perform(op, ctx);
  };
  return { clock, meter, creditInAnHour };
}

test('a timer needs a finite time', (t) => {
  const clock = new SimClock(0);
  for (const at of [NaN, Infinity, -Infinity]) t.throws(() => clock.schedule(at, () => undefined), { instanceOf: RangeError }, String(at));
  t.is(clock.pending, 0);
  clock.schedule(10, () => undefined);
  t.is(clock.advance(10), 1);
});

const UNTIMED = 'a pending change without a valid execution time';
const damages: [string, (p: { at?: unknown; op: { execution: { at?: unknown } } }) => void, string][] = [
  ['without its time', (p) => delete p.at, 'pending.0.at: Invalid input: expected number, received undefined'],
  ['with a time that is not a number', (p) => (p.at = String(p.at)), 'pending.0.at: Invalid input: expected number, received string'],
  ['with an execution time that is not a date', (p) => (p.op.execution.at = 'garbage'), UNTIMED],
  ['with an execution time other than its time', (p) => (p.op.execution.at = new Date((p.at as number) + HOUR).toISOString()), UNTIMED],
];

for (const [what, damage, problem] of damages) {
  test(`a saved pending change ${what} is refused, and the meters sharing the clock still execute their changes`, (t) => {
    const { clock, meter, creditInAnHour } = fleet();
    const a = meter('00DB0000000000A1');
    creditInAnHour(a);
    const saved = JSON.parse(a.exportState());
    damage(saved.pending[0]);
    const c = meter('00DB0000000000C1');
    const before = c.snapshot();
    t.throws(() => c.importState(JSON.stringify(saved)), { message: `00DB0000000000C1: not a saved meter state (${problem})` });
    t.deepEqual(c.snapshot(), before);

    const b = meter('00DB0000000000B1');
    creditInAnHour(b);
    clock.advance(2 * HOUR);
    t.is(a.snapshot().paymentMode, 'credit');
    t.is(b.snapshot().paymentMode, 'credit');
    t.is(c.snapshot().paymentMode, 'prepayment');
    // And later ones too.
    const d = meter('00DB0000000000D1');
    creditInAnHour(d);
    t.is(clock.advance(2 * HOUR), 1);
    t.like(d.snapshot(), { paymentMode: 'credit', pending: { paymentMode: null } });
  });
}

test('a saved state whose pending change would write what the meter cannot hold is refused, and holds back nothing on the shared clock', (t) => {
  const { clock, meter, creditInAnHour } = fleet();
  const a = meter('00DB0000000000A1');
  creditInAnHour(a);
  const saved = JSON.parse(a.exportState());
  delete saved.pending[0].op.target; // timed as it should be, but with nothing to write
  const c = meter('00DB0000000000C1');
  t.throws(() => c.importState(JSON.stringify(saved)), { message: /not a saved meter state/ });
  const d = meter('00DB0000000000D1');
  creditInAnHour(d);
  t.is(clock.advance(2 * HOUR), 2, "A's change and D's: C's cancelled timer does not fire");
  t.is(c.snapshot().paymentMode, 'prepayment');
  t.is(d.snapshot().paymentMode, 'credit');
});

test('a saved pending change already due is restored and executes at the next advance, even one that moves the clock by nothing', (t) => {
  const { clock, meter, creditInAnHour } = fleet();
  const a = meter('00DB0000000000A1');
  creditInAnHour(a);
  const later = new SimClock(clock.now() + 2 * HOUR);
  const restored = new Smets1Meter({ eui: a.eui, variant: 'esme', clock: later, s1sp, initial: { paymentMode: 'prepayment' } });
  restored.importState(a.exportState());
  t.is(restored.snapshot().paymentMode, 'prepayment');
  t.is(later.advance(0), 1);
  t.like(restored.snapshot(), { paymentMode: 'credit', pending: { paymentMode: null } });
});
