/** The DCC's clock when it hosts meters: their clocks follow it forward only, so it is not set back under them. */
import test from 'ava';
import { AdminError } from '../../harness/admin-client.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { hostedPool } from '../helpers/hosted-pool.ts';
import { scratchDir } from '../helpers/scratch.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const METER = parseEui('00DB0000000000E1');

test('a DCC hosting meters refuses to set its clock back (400, nothing moves); forward, and to its own time, it still goes', async (t) => {
  const { dcc, pool } = await hostedPool(t, scratchDir(t, 'hosted-clock'), { start: new Date('2026-03-01T00:00:00Z'), freezeClock: true });
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await dcc.admin.device({ eui: METER, type: 'ESME', supplier: SUPPLIER });
  await dcc.admin.clock({ set: '2026-03-02T00:00:00Z' });
  await dcc.admin.clock({ set: '2026-03-02T00:00:00Z' });
  const meterClock = () => (pool.port.state(METER) as { clock: string }).clock;
  const meterBefore = meterClock();

  const back = await t.throwsAsync(dcc.admin.clock({ set: '2026-03-01T12:00:00Z' }), { instanceOf: AdminError });
  t.is(back?.status, 400);
  t.regex(back?.message ?? '', /set: this DCC hosts devices, whose clocks never go back, and 2026-03-01T12:00:00.000Z is before its time \(2026-03-02T00:00:00.000Z\)/);
  t.is((await dcc.admin.now()).now, '2026-03-02T00:00:00.000Z', "the DCC's clock did not move");
  t.is(meterClock(), meterBefore, 'nor the meter');
});

test('a DCC hosting meters does not start on its store with a clock before the time it reached; at that time, or with a fresh store, it does', async (t) => {
  const dir = scratchDir(t, 'hosted-clock-restart');
  const first = await hostedPool(t, dir, { start: new Date('2026-03-01T00:00:00Z'), freezeClock: true });
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await first.dcc.admin.device({ eui: METER, type: 'ESME', supplier: SUPPLIER });
  await first.dcc.admin.clock({ set: '2026-03-02T00:00:00Z' });
  await first.close();

  const back = await t.throwsAsync(hostedPool(t, dir, { start: new Date('2026-03-01T00:00:00Z'), freezeClock: true }));
  t.regex(back?.message ?? '', /its devices' clocks never go back, and the start time 2026-03-01T00:00:00.000Z is before the time this store's DCC has reached \(2026-03-02T00:00:00.000Z\)/);

  const again = await hostedPool(t, dir, { start: new Date('2026-03-02T00:00:00Z'), freezeClock: true });
  t.is((await again.dcc.admin.now()).now, '2026-03-02T00:00:00.000Z');
  t.is((again.pool.port.state(METER) as { paymentMode: string }).paymentMode, 'prepayment', 'the meter is back, as it was');
  await again.close();

  const fresh = await hostedPool(t, scratchDir(t, 'hosted-clock-fresh'), { start: new Date('2015-01-01T00:00:00Z'), freezeClock: true });
  t.is((await fresh.dcc.admin.now()).now, '2015-01-01T00:00:00.000Z', 'a store with no devices may begin in the past');
});

test('a clock change the store refuses (a full disk) answers an error and moves nothing: not the DCC, not its meters, not after a restart', async (t) => {
  const dir = scratchDir(t, 'hosted-clock-refused');
  const first = await hostedPool(t, dir, { start: new Date('2026-03-01T00:00:00Z'), freezeClock: true });
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await first.dcc.admin.device({ eui: METER, type: 'ESME', supplier: SUPPLIER });
  first.dcc.dcc.db.exec("CREATE TRIGGER full BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  const refused = await t.throwsAsync(first.dcc.admin.clock({ advanceMs: 86_400_000 }), { instanceOf: AdminError });
  t.is(refused?.status, 500);
  t.is((await first.dcc.admin.now()).now, '2026-03-01T00:00:00.000Z');
  first.pool.follow(first.dcc.dcc.clock.now()); // what `dcc serve` does every 250 ms
  t.is((first.pool.port.state(METER) as { clock: string }).clock, '2026-03-01T00:00:00.000Z');
  first.dcc.dcc.db.exec('DROP TRIGGER full');
  await first.close();
  const again = await hostedPool(t, dir, { freezeClock: true });
  t.is((await again.dcc.admin.now()).now, '2026-03-01T00:00:00.000Z');
});
