/**
 * A future-dated change that fell due while `dcc serve --state-dir` was down executes when the service is back,
 * also when its clock is frozen (`--frozen --clock`), and the store keeps the executed state.
 */
import test from 'ava';
import { parseEui } from '../../protocol/smki/eui.ts';
import { hostedPool } from '../helpers/hosted-pool.ts';
import { scratchDir } from '../helpers/scratch.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const METER = parseEui('00DB0000000000C1');

test('a change already due when a frozen DCC restarts executes at its first follow tick, and is stored executed', async (t) => {
  const dir = scratchDir(t, 'pool-restart-due');
  const first = await hostedPool(t, dir, { start: new Date('2030-01-01T00:00:00Z'), freezeClock: true });
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: first.dcc.endpoint.url });
  await first.dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = first.dcc.agent(SUPPLIER, 'supplier', await first.dcc.admin.xmlSigner(SUPPLIER));
  const r = await supplier.post('serviceS', supplier.request({ target: METER, srv: '1.6', cv: 1, body: { kind: 'UpdatePaymentMode', executionDateTime: '2030-01-01T01:00:00Z', paymentMode: { mode: 'Credit' } } }));
  t.is(r.status, 200);
  await first.dcc.dcc.service.settled();
  t.like(first.pool.snapshot(METER), { paymentMode: 'prepayment', pending: { paymentMode: { executeAt: '2030-01-01T01:00:00.000Z' } } });
  await first.close();

  // Back an hour after the change fell due, with the clock frozen there.
  const again = await hostedPool(t, dir, { start: new Date('2030-01-01T02:00:00Z'), freezeClock: true });
  again.pool.follow(again.dcc.dcc.clock.now()); // what dcc serve's tick does
  t.like(again.pool.snapshot(METER), { clock: '2030-01-01T02:00:00.000Z', paymentMode: 'credit', pending: { paymentMode: null } });
  await again.close();

  // The store has it executed: a further restart finds nothing pending.
  const third = await hostedPool(t, dir, { start: new Date('2030-01-01T02:00:00Z'), freezeClock: true });
  t.like(await third.dcc.admin.deviceState(METER), { paymentMode: 'credit' });
  t.like(third.pool.snapshot(METER), { paymentMode: 'credit', pending: { paymentMode: null } });
});
