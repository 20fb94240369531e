/**
 * MP134B BR7 for alerts already waiting when their supplier fails: they go where a new alert would (its SRP, or
 * the contingency party the Authority names), wait there for an endpoint if need be, and are never handed to
 * the failed supplier nor given up while a route may yet appear.
 */
import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DccConfig } from '../../emulator/bootstrap.ts';
import { encodeReply } from '../../protocol/s1sp/frame.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { startTestDcc, type TestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { until } from '../helpers/poll.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const SRP = parseEui('90B3D51F30050001');
const METER = parseEui('00DB0000000000C1');

/** An endpoint that records the alert codes POSTed to it. */
async function endpoint(t: ExecutionContext): Promise<{ url: string; got: string[] }> {
  const got: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push(/8F66/.test(Buffer.concat(chunks).toString()) ? '8F66' : 'other');
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got };
}

async function dcc(t: ExecutionContext, extra: Partial<DccConfig> = {}): Promise<TestDcc> {
  const d = await startTestDcc(unreachableDevices(), { extra });
  t.teardown(() => d.close());
  return d;
}

function alert(d: TestDcc, id: bigint, meter = METER): void {
  d.dcc.service.routeAlert(meter, encodeReply({ type: 'alert', id, from: meter, to: parseEui('90B3D51F30000005'), time: 1, code: 0x8f66 }));
}

async function fail(d: TestDcc, contingency = SRP): Promise<void> {
  const now = Date.parse((await d.admin.now()).now);
  await d.admin.solr({ failedSupplier: SUPPLIER, contingencyParty: contingency, startsAt: new Date(now).toISOString() });
}

/** A supplier with no endpoint yet, whose SRP has one, and an alert of its meter kept for it. */
async function alertKeptForSupplier(t: ExecutionContext, extra: Parameters<typeof dcc>[1] = {}) {
  const srp = await endpoint(t);
  const d = await dcc(t, extra);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: srp.url });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: null, srp: SRP });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const xml = await a.certificate(SUPPLIER, 'xml-signing');
  alert(d, 9n);
  await d.dcc.service.settled();
  return { srp, d, a, xml };
}

test('BR7: an alert kept for a supplier with no endpoint moves to its SRP once the supplier fails', async (t) => {
  const { srp, d, a } = await alertKeptForSupplier(t);
  t.like((await a.deliveries(SUPPLIER))[0], { kind: 'device-alert', endpoint: '', delivered: false });

  await fail(d);
  t.is(await until(() => srp.got.length), 1, 'the SRP got the alert that waited');
  t.deepEqual(await a.deliveries(SUPPLIER), []);
});

test('BR7: an alert waiting at a failed supplier whose SRP has no endpoint yet waits for the SRP, not for the supplier: it never reaches the failed supplier', async (t) => {
  const supplier = await endpoint(t);
  const srp = await endpoint(t);
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: null });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: 'http://127.0.0.1:9/down', srp: SRP });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  alert(d, 9n);
  t.true((await until(async () => (await a.deliveries(SUPPLIER))[0]?.attempts ?? 0)) >= 1, 'tried at the supplier, healthy then');

  await fail(d);
  const waiting = await until(async () => (await a.deliveries(SRP))[0]);
  t.like(waiting, { kind: 'device-alert', endpoint: '', delivered: false }, 'kept for the SRP');
  await a.party({ eui: SUPPLIER, endpoint: supplier.url } as never); // the failed supplier's systems come back
  await a.party({ eui: SRP, endpoint: srp.url } as never);
  await d.dcc.service.settled();
  t.deepEqual(srp.got, ['8F66']);
  t.deepEqual(supplier.got, []);
});

test("BR7: a failed supplier that names no SRP has its alerts routed to the Authority instruction's contingency party", async (t) => {
  const srp = await endpoint(t);
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: srp.url });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: srp.url });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  await fail(d);
  alert(d, 9n);
  await d.dcc.service.settled();
  t.deepEqual(await a.deliveries(SUPPLIER), []);
  t.like((await a.deliveries(SRP))[0], { kind: 'device-alert', delivered: true });
  t.deepEqual(srp.got, ['8F66']);
});

test('BR7: an alert for a failed supplier with no route yet is kept, not given up, and reaches the SRP once the supplier names one', async (t) => {
  const srp = await endpoint(t);
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: srp.url });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: srp.url, status: 'failed' });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  alert(d, 9n);
  await d.dcc.service.settled();
  const kept = (await a.deliveries(SUPPLIER))[0];
  t.like(kept, { kind: 'device-alert', endpoint: '', delivered: false, undeliverable: false });
  t.regex(kept?.lastError ?? '', /names no SRP, and no Authority instruction covering the device names a contingency party: kept until one does/);

  await a.party({ eui: SUPPLIER, srp: SRP } as never);
  await d.dcc.service.settled();
  t.deepEqual(srp.got, ['8F66']);
  t.like((await a.deliveries(SRP))[0], { kind: 'device-alert', delivered: true });
});

test("BR7: an alert kept for a supplier with no endpoint moves to its SRP as soon as the supplier's XML Signing certificate is revoked, not at the outbox's next look", async (t) => {
  // Waiting messages are looked at again every maxBackoffMs: a minute here, longer than the test waits.
  const { srp, a, xml } = await alertKeptForSupplier(t, { outbox: { initialBackoffMs: 20, maxBackoffMs: 60_000 } });
  await a.revoke((xml as { serial: string }).serial);
  t.is(await until(() => srp.got.length), 1, 'the SRP got it');
  t.deepEqual(await a.deliveries(SUPPLIER), []);
});

test("BR7: with no SRP, a meter's alerts go to the contingency party of an instruction covering that meter, and wait while none does", async (t) => {
  const OTHER_METER = parseEui('00DB0000000000C2');
  const SECOND = parseEui('90B3D51F30050002');
  const [first, second] = [await endpoint(t), await endpoint(t)];
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'First contingency party', roles: ['SC'], endpoint: first.url });
  await a.party({ eui: SECOND, name: 'Second contingency party', roles: ['SC'], endpoint: second.url });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: null });
  for (const eui of [METER, OTHER_METER]) await a.device({ eui, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  const now = new Date(Date.parse((await a.now()).now)).toISOString();
  // The Authority names the second party for the other meter only: the first meter's alert has no route yet.
  await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SECOND, devices: [OTHER_METER], startsAt: now });
  alert(d, 9n);
  alert(d, 10n, OTHER_METER);
  await d.dcc.service.settled();
  t.is(second.got.length, 1, "the other meter's alert reached the party instructed for it");
  t.like((await a.deliveries(SUPPLIER))[0], { kind: 'device-alert', endpoint: '', delivered: false });
  t.deepEqual(first.got, []);

  // An instruction naming the first party for the first meter: the alert that waited goes there, and only there.
  await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, devices: [METER], startsAt: now });
  t.is(await until(() => first.got.length), 1);
  alert(d, 11n);
  await d.dcc.service.settled();
  t.is(first.got.length, 2, "a new alert of the first meter goes to the party instructed for it, not to the latest instruction's");
  t.is(second.got.length, 1);
  t.deepEqual(await a.deliveries(SUPPLIER), []);
});

test('BR7: an alert kept for want of an endpoint says why it waits once its supplier fails with no route: not for an endpoint any more', async (t) => {
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: null });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  alert(d, 9n);
  await d.dcc.service.settled();
  t.regex((await a.deliveries(SUPPLIER))[0]?.lastError ?? '', /has no endpoint registered: kept until it has one/);

  await a.party({ eui: SUPPLIER, status: 'failed' } as never);
  const kept = (await a.deliveries(SUPPLIER))[0];
  t.like(kept, { kind: 'device-alert', endpoint: '', delivered: false });
  t.regex(kept?.lastError ?? '', /names no SRP, and no Authority instruction covering the device names a contingency party: kept until one does/);
});

test("a delivery records the DCC's time, as the audit log does, not the machine's", async (t) => {
  const srp = await endpoint(t);
  const at = '2026-01-05T09:00:00.000Z';
  const d = await dcc(t, { start: new Date(at), freezeClock: true });
  await d.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: srp.url });
  await d.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await d.admin.certificate(SUPPLIER, 'xml-signing');
  alert(d, 11n);
  await d.dcc.service.settled();
  t.deepEqual(srp.got, ['8F66']);
  t.like((await d.admin.deliveries(SUPPLIER))[0], { kind: 'device-alert', delivered: true, createdAt: at });
  t.deepEqual(d.dcc.service.options.db.prepare('SELECT created_at, delivered_at FROM outbox').all(), [{ created_at: at, delivered_at: at }]);
});

test('BR7: with no SRP, alerts go to the contingency party of the instruction in force, not to one the Authority has ended since', async (t) => {
  const [first, second] = [await endpoint(t), await endpoint(t)];
  const C2 = parseEui('90B3D51F30050002');
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'C1', roles: ['SC'], endpoint: first.url });
  await a.party({ eui: C2, name: 'C2', roles: ['SC'], endpoint: second.url });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: null });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  await fail(d, SRP);
  const later = Date.parse((await a.now()).now) + 1;
  const withdrawn = await a.solr({ failedSupplier: SUPPLIER, contingencyParty: C2, startsAt: new Date(later).toISOString() });
  await until(async () => Date.parse((await a.now()).now) > later);
  await a.endSolr(withdrawn.id);
  alert(d, 9n);
  await d.dcc.service.settled();
  t.deepEqual(first.got, ['8F66'], 'the party of the instruction in force has it');
  t.deepEqual(second.got, [], 'not the party whose instruction was ended');
});

test('BR7: an alert queued behind a response at a supplier\'s dead endpoint moves to its SRP when the supplier fails, though the response ahead of it still waits there', async (t) => {
  const srp = await endpoint(t);
  const d = await dcc(t);
  const a = d.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: srp.url });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: 'http://127.0.0.1:9/down', srp: SRP });
  await a.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = d.agent(SUPPLIER, 'supplier', await a.xmlSigner(SUPPLIER));
  // While healthy, the supplier sends a request: its response (E20: no device here) waits at its dead endpoint...
  const answer = await supplier.post('serviceS', supplier.request({ target: METER, srv: '1.6', cv: 1, body: { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } } }));
  t.is(answer.response?.header.responseCode, 'I99', answer.text);
  await until(async () => (await a.deliveries(SUPPLIER)).some((m) => m.kind === 'response' && m.attempts > 0));
  // ...and its meter's alert is queued behind it.
  alert(d, 9n);
  await until(async () => (await a.deliveries(SUPPLIER)).some((m) => m.kind === 'device-alert'));
  await fail(d);
  await until(() => srp.got.length > 0);
  t.deepEqual(srp.got, ['8F66']);
  const left = await a.deliveries(SUPPLIER);
  t.deepEqual(left.map((m) => [m.kind, m.delivered]), [['response', false]], "the response stays the supplier's, undelivered");
});
