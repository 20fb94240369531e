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
