import test from 'ava';
import { ECS02 } from '../../protocol/gbcs/usecases/catalogue.ts';
import { ECS04a } from '../../protocol/gbcs/usecases/meter-balance.ts';
import { expectedChanges, operationOf } from '../../devices/expected-changes.ts';
import { canonical, diffSnapshots, pathWithin, stableStringify, unexpectedChanges } from '../../devices/snapshot.ts';
import { build, meter, pki, send } from './support.ts';

test('snapshots are deterministic JSON: sorted keys, counters as decimal strings, no key material', (t) => {
  const a = meter('esme');
  const b = meter('esme');
  for (const r of [a, b]) send(r.meter, ECS04a, { amount: 7 }, { counter: 12345678901234567890n });
  const sa = a.meter.snapshot();
  t.is(stableStringify(sa), stableStringify(b.meter.snapshot()));
  t.is(JSON.stringify(sa), stableStringify(sa), 'already in canonical key order');
  t.deepEqual(JSON.parse(JSON.stringify(sa)), sa, 'plain JSON');
  t.is(sa.counters[pki.supplier.eui], '12345678901234567890');
  const text = JSON.stringify(sa);
  t.false(/PRIVATE|BEGIN|"d":|privateKey/.test(text));
  t.regex((sa.trustAnchors as { supplier: { ds: string } }).supplier.ds, /^[0-9A-F]{16}$/, 'public keys appear as fingerprints');
});

test('the diff names each changed leaf with before and after', (t) => {
  const before = { a: 1, b: { c: 'x', d: [1, 2] }, e: null };
  const after = { a: 1, b: { c: 'y', d: [1, 2, 3] }, f: true };
  t.deepEqual(diffSnapshots(before, after), [
    { path: 'b.c', before: 'x', after: 'y' },
    { path: 'b.d[2]', after: 3 },
    { path: 'e', before: null },
    { path: 'f', after: true },
  ]);
  t.deepEqual(canonical({ b: 1, a: { d: 1, c: 2 } }), { a: { c: 2, d: 1 }, b: 1 });
  t.true(pathWithin('eventLog[2].at', 'eventLog'));
  t.false(pathWithin('eventLogs', 'eventLog'));
  t.deepEqual(unexpectedChanges(diffSnapshots(before, after), ['b', 'e']).map((c) => c.path), ['f']);
});

test('a switch to Credit touches exactly paymentMode, the pending change, the sender counter and the event log', (t) => {
  const { meter: m } = meter('esme', { paymentMode: 'prepayment', suspendDebtDisabled: true, disablementThreshold: 99 });
  const before = m.snapshot();
  m.process(build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: m.eui, counter: 1n }));
  const paths = diffSnapshots(before, m.snapshot()).map((c) => c.path);
  t.deepEqual(paths, [`counters.${pki.supplier.eui}`, 'eventLog[0]', 'paymentMode']);
  t.deepEqual(expectedChanges('ECS02', { source: pki.supplier.eui }), [`counters.${pki.supplier.eui}`, 'eventLog', 'paymentMode', 'pending.paymentMode']);
  t.deepEqual(expectedChanges('GCS02', { source: 'S', phase: 'execution' }), ['alertCounter', 'clock', 'eventLog', 'paymentMode', 'pending.paymentMode']);
  t.true(expectedChanges('ECS03', { source: 'S' }).includes('prepaymentSettings'), 'only a switch to Prepayment writes the prepayment settings');
  t.deepEqual(expectedChanges('ECS17b', { source: 'S' }), ['counters.S']);
  t.is(operationOf('GCS40b'), 'set-balance');
  t.throws(() => expectedChanges('ECS99', { source: 'S' }), { message: 'unknown use case ECS99' });
  t.throws(() => expectedChanges('ECS04a', { source: 'S', phase: 'execution' }), { message: 'ECS04a is never future-dated' });
});
