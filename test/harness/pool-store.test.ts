/**
 * Hosted meters kept in a meter store (`dcc serve --state-dir`): what a restart brings back, and what a store
 * that refuses a write does to a command.
 */
import test from 'ava';
import { fingerprint } from '../../devices/smets2/trust-anchors.ts';
import { DEVICE_LOG_LINES } from '../../harness/pools/emulated.ts';
import type { RequestBody } from '../../protocol/duis/index.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { hostedPool } from '../helpers/hosted-pool.ts';
import { scratchDir } from '../helpers/scratch.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const METER = parseEui('00DB0000000000C1');
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

test('a meter registered in a state of its own comes back in it after a restart, though it never handled a command', async (t) => {
  const dir = scratchDir(t, 'pool-store');
  const first = await hostedPool(t, dir);
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await first.dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER, initialState: { paymentMode: 'credit', meterBalance: 1234 } });
  await first.close();
  const again = await hostedPool(t, dir);
  t.like(await again.dcc.admin.deviceState<{ meterBalance: number }>(METER), { paymentMode: 'credit', state: { meterBalance: 1234 } });
});

test("after a restart the meters' clock starts from the DCC's restored clock, not from the host's", async (t) => {
  const dir = scratchDir(t, 'pool-store');
  const first = await hostedPool(t, dir, { start: new Date('2015-01-01T00:00:00Z'), freezeClock: true });
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await first.dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await first.close();
  const again = await hostedPool(t, dir, { freezeClock: true });
  const restored = Object.values(again.pool.logs()).flat().find((l) => l.includes('restored'));
  t.regex(restored ?? '', /^2015-01-01T00:00:00\.000Z restored SMETS1/);
});

test('a command whose new state the store refuses leaves the meter as it was and unanswered; once the store takes writes again, it executes', async (t) => {
  const dir = scratchDir(t, 'pool-store');
  const { dcc, pool, store } = await hostedPool(t, dir);
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: dcc.endpoint.url });
  await dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = dcc.agent(SUPPLIER, 'supplier', await dcc.admin.xmlSigner(SUPPLIER));
  const write = store.store.bind(store);
  let refuse = true;
  store.store = (eui, state) => {
    if (refuse) throw new Error('SQLITE_FULL: database or disk is full');
    write(eui, state);
  };
  await supplier.post('serviceS', supplier.request({ target: METER, srv: '1.6', cv: 1, body: credit }));
  await dcc.dcc.service.settled();
  t.is((pool.snapshot(METER) as { paymentMode: string }).paymentMode, 'prepayment', 'not executed: its state could not be kept');
  t.not((await dcc.admin.requests({ user: SUPPLIER })).at(-1)?.responseCode, 'I0', 'and not answered as done');
  refuse = false;
  await supplier.post('serviceS', supplier.request({ target: METER, srv: '1.6', cv: 1, body: credit }));
  await dcc.dcc.service.settled();
  t.is((pool.snapshot(METER) as { paymentMode: string }).paymentMode, 'credit');
  t.is(JSON.parse(store.load(METER)!).paymentMode, 'credit', 'and stored');
});

test('time passing with nothing falling due writes nothing to the meter store', async (t) => {
  const { dcc, pool, store } = await hostedPool(t, scratchDir(t, 'pool-store'));
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  let writes = 0;
  const write = store.store.bind(store);
  store.store = (eui, state) => {
    writes++;
    write(eui, state);
  };
  for (let i = 0; i < 10; i++) pool.advance(250);
  t.is(writes, 0);
});

test("a hosted meter's log keeps its latest lines only, however long the service runs", async (t) => {
  const { dcc, pool } = await hostedPool(t, scratchDir(t, 'pool-store'));
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: dcc.endpoint.url });
  // Each registration update is a line of the meter's log.
  for (let i = 0; i <= DEVICE_LOG_LINES; i++) await dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER, smiStatus: i % 2 ? 'suspended' : 'commissioned' });
  const lines = Object.values(pool.logs()).flat();
  t.is(lines.length, DEVICE_LOG_LINES);
  t.regex(lines.at(-1) ?? '', /registration updated: supplier 90B3D51F30010001, commissioned$/, 'the latest kept');
});

test("a revocation in SMKI does not reach into a meter: its supplier key stays through a status-only re-registration and a restart", async (t) => {
  const dir = scratchDir(t, 'pool-store');
  const first = await hostedPool(t, dir, { start: new Date('2026-01-01T00:00:00Z'), freezeClock: true });
  const { admin } = first.dcc.dcc;
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  const a = await admin.issuePartyCertificate(SUPPLIER, 'organisation-ds');
  await first.dcc.admin.clock({ set: '2026-01-02T00:00:00Z' });
  const b = await admin.issuePartyCertificate(SUPPLIER, 'organisation-ds');
  await first.dcc.admin.device({ eui: METER, type: 'ESME', supplier: SUPPLIER });
  const trusted = (pool: typeof first.pool) => (pool.port.state(METER) as { trustAnchors: { supplier: { ds: string } } }).trustAnchors.supplier.ds;
  const keyA = fingerprint(a.certificate.publicKey);
  t.is(trusted(first.pool), keyA, 'the oldest valid key when provisioned');
  admin.revoke(a.certificate.serial, undefined, undefined, undefined);
  await first.dcc.admin.device({ eui: METER, type: 'ESME', supplier: SUPPLIER, smiStatus: 'suspended' });
  t.is(trusted(first.pool), keyA, 'after a status-only update');
  await first.close();
  const again = await hostedPool(t, dir);
  t.is(trusted(again.pool), keyA, 'after a restart');
  t.not(keyA, fingerprint(b.certificate.publicKey));
});

test("a meter's anchors follow a change of supplier through a restart, and a meter registered before its supplier was certified gains the key on its next registration", async (t) => {
  const dir = scratchDir(t, 'pool-store');
  const first = await hostedPool(t, dir, { start: new Date('2026-01-01T00:00:00Z'), freezeClock: true });
  const { admin } = first.dcc.dcc;
  const other = parseEui('90B3D51F30010002');
  const later = parseEui('00DB0000000000C2');
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  await first.dcc.admin.party({ eui: other, name: 'Other supplier', roles: ['IS', 'GS'] });
  const a = await admin.issuePartyCertificate(SUPPLIER, 'organisation-ds');
  const b = await admin.issuePartyCertificate(other, 'organisation-ds');
  await first.dcc.admin.device({ eui: METER, type: 'ESME', supplier: SUPPLIER });
  await first.dcc.admin.device({ eui: METER, type: 'ESME', supplier: other });
  // A supplier with no Digital Signing certificate yet: its meter trusts no key of it until one is issued.
  const late = parseEui('90B3D51F30010003');
  await first.dcc.admin.party({ eui: late, name: 'Late supplier', roles: ['IS', 'GS'] });
  await first.dcc.admin.device({ eui: later, type: 'ESME', supplier: late });
  const trusted = (pool: typeof first.pool, eui: typeof METER) => (pool.port.state(eui) as { trustAnchors: { supplier: { eui: string; ds: string | null } } }).trustAnchors.supplier;
  t.is(trusted(first.pool, later).ds, null);
  const c = await admin.issuePartyCertificate(late, 'organisation-ds');
  await first.dcc.admin.device({ eui: later, type: 'ESME', supplier: late, smiStatus: 'suspended' });
  t.is(trusted(first.pool, later).ds, fingerprint(c.certificate.publicKey), 'the key it had none for');
  await first.close();
  const again = await hostedPool(t, dir);
  t.like(trusted(again.pool, METER), { eui: other, ds: fingerprint(b.certificate.publicKey) }, 'the new supplier, not the one before the restart');
  t.not(fingerprint(a.certificate.publicKey), fingerprint(b.certificate.publicKey));
  t.is(trusted(again.pool, later).ds, fingerprint(c.certificate.publicKey));
});

test('a meter kept from a registration the DCC store lost is not the one registered again: that starts as the new registration asks, also after a restart', async (t) => {
  const dir = scratchDir(t, 'pool-store');
  const first = await hostedPool(t, dir);
  const { service, admin } = first.dcc.dcc;
  await first.dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'] });
  // A write opens the group, the registration joins it, and SQLite rolls the group back (as on a full disk).
  service.putParty({ eui: SUPPLIER, name: 'Supplier renamed' });
  const lost = admin.registerDevice({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER, initialState: { paymentMode: 'credit', meterBalance: 111 } });
  service.options.db.exec('ROLLBACK');
  await Promise.allSettled([lost]);
  await t.throwsAsync(service.durable());
  t.is(service.registry.device(METER), undefined);

  await first.dcc.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER, initialState: { paymentMode: 'prepayment', meterBalance: 5 } });
  t.like(await first.dcc.admin.deviceState<{ meterBalance: number }>(METER), { paymentMode: 'prepayment', state: { meterBalance: 5 } });
  await first.close();
  const again = await hostedPool(t, dir);
  t.like(await again.dcc.admin.deviceState<{ meterBalance: number }>(METER), { paymentMode: 'prepayment', state: { meterBalance: 5 } });
});
