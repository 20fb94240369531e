/**
 * Group commit seen from outside the DCC: whoever hears of a request (its User through the HTTP answer, the
 * meter through a Command, the User's endpoint through a delivery) can rely on the DCC having committed it.
 * A second connection to the DCC's store file sees only what is committed, as a DCC restarted after a crash would.
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { formatRequestId, type RequestBody } from '../../protocol/duis/index.ts';
import { encodeReply } from '../../protocol/s1sp/frame.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import type { DevicePort } from '../../emulator/ports.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { until } from '../helpers/poll.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const SMETS1_ESME = parseEui('00DB0000000000C1');
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

/** A test DCC on `devices`, and a User endpoint that hands each delivery's body to `onDelivery`. */
async function dccWithEndpoint(t: ExecutionContext, devices: DevicePort, onDelivery: (body: string) => void) {
  const endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      onDelivery(Buffer.concat(chunks).toString('utf8'));
      res.end();
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const dcc = await startTestDcc(devices);
  t.teardown(async () => {
    await dcc.close();
    endpoint.close();
  });
  return { dcc, endpointUrl: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/` };
}

test('the HTTP answer, the Command to the meter and the delivery each come after the commit that records them', async (t) => {
  let stateDir = '';
  const committedRows = (requestId?: string) => {
    const reader = new Database(join(stateDir, 'dcc.sqlite'), { readonly: true });
    try {
      return reader.prepare('SELECT request_id, outcome FROM requests WHERE ? IS NULL OR request_id = ?').all(requestId ?? null, requestId ?? null) as { request_id: string; outcome: string | null }[];
    } finally {
      reader.close();
    }
  };
  const seenByMeter: { request_id: string; outcome: string | null }[][] = [];
  const devices: DevicePort = {
    ...unreachableDevices(),
    sendSmets1: async () => {
      seenByMeter.push(committedRows());
      return { kind: 'no-response', reason: 'this meter never answers' };
    },
  };
  // The User's endpoint looks at the store the moment a delivery arrives.
  const seenAtDelivery: { request_id: string; outcome: string | null }[][] = [];
  const { dcc, endpointUrl } = await dccWithEndpoint(t, devices, () => seenAtDelivery.push(committedRows()));
  stateDir = dcc.stateDir;
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: endpointUrl });
  await dcc.admin.device({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = dcc.agent(SUPPLIER, 'supplier', await dcc.admin.xmlSigner(SUPPLIER));

  const request = supplier.request({ target: SMETS1_ESME, srv: '1.6', cv: 1, body: credit });
  const requestId = formatRequestId(request.header.requestId);
  const answer = await supplier.post('serviceS', request);
  t.is(answer.response?.header.responseCode, 'I99', answer.text);
  t.is(committedRows(requestId).length, 1, 'accepted (I99): the request is already committed');

  await dcc.dcc.service.settled();
  t.is(seenByMeter.length, 1, 'one instruction reached the meter');
  t.deepEqual(seenByMeter[0], [{ request_id: requestId, outcome: null }], 'the meter was reached only once its request row was committed');
  t.is(seenAtDelivery.length, 1, 'one response (the E21 for the silent meter) was delivered');
  t.deepEqual(seenAtDelivery[0], [{ request_id: requestId, outcome: 'no-response' }], 'it arrived only once the outcome it reports was committed');
});

test('a response and an alert for a User with no endpoint are kept, and delivered once the User registers one', async (t) => {
  const devices: DevicePort = { ...unreachableDevices(), sendSmets1: async () => ({ kind: 'no-response', reason: 'this meter never answers' }) };
  const bodies: string[] = [];
  const { dcc, endpointUrl } = await dccWithEndpoint(t, devices, (body) => bodies.push(body));
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: null });
  await dcc.admin.device({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = dcc.agent(SUPPLIER, 'supplier', await dcc.admin.xmlSigner(SUPPLIER));
  const request = supplier.request({ target: SMETS1_ESME, srv: '1.6', cv: 1, body: credit });
  t.is((await supplier.post('serviceS', request)).response?.header.responseCode, 'I99');
  await dcc.dcc.service.settled();

  dcc.dcc.service.routeAlert(SMETS1_ESME, encodeReply({ type: 'alert', id: 9n, from: SMETS1_ESME, to: parseEui('90B3D51F30000005'), time: 1, code: 0x8f66 }));
  await dcc.dcc.service.settled();

  const kept = await dcc.admin.deliveries(SUPPLIER);
  t.deepEqual(kept.map((d) => d.kind), ['response', 'device-alert']);
  for (const d of kept) {
    t.like(d, { delivered: false, undeliverable: false });
    t.regex(d.lastError ?? '', /has no endpoint registered: kept until it has one/);
  }
  t.is(dcc.dcc.service.requests({ requestId: formatRequestId(request.header.requestId) })[0]?.outcome, 'no-response');

  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: endpointUrl });
  await dcc.dcc.service.settled();
  t.is(bodies.length, 2);
  t.true(bodies[0]!.includes(formatRequestId(request.header.requestId)) && bodies[0]!.includes('E21'), 'the E21 for the silent meter');
  t.true(bodies[1]!.includes('8F66'), 'then the alert');
  t.true((await dcc.admin.deliveries(SUPPLIER)).every((d) => d.delivered && d.lastError === null));
});

test("BR7: an alert already waiting for a supplier whose endpoint is down moves to the supplier's SRP once the supplier fails", async (t) => {
  const SRP = parseEui('90B3D51F30050001');
  const bodies: string[] = [];
  const { dcc, endpointUrl } = await dccWithEndpoint(t, unreachableDevices(), (body) => bodies.push(body));
  const a = dcc.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: endpointUrl });
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: 'http://127.0.0.1:9/down', srp: SRP });
  await a.device({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await a.certificate(SUPPLIER, 'xml-signing');
  dcc.dcc.service.routeAlert(SMETS1_ESME, encodeReply({ type: 'alert', id: 9n, from: SMETS1_ESME, to: parseEui('90B3D51F30000005'), time: 1, code: 0x8f66 }));
  const waited = await until(async () => (await a.deliveries(SUPPLIER))[0]?.attempts ?? 0);
  t.true(waited >= 1, 'the supplier, healthy, gets it first: its endpoint is down');

  const now = Date.parse((await a.now()).now);
  await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: new Date(now).toISOString() });
  t.true((await until(async () => bodies.length)) >= 1, 'the SRP got the alert');
  t.true(bodies[0]!.includes('8F66'));
  t.deepEqual(await a.deliveries(SUPPLIER), []);
  t.like((await a.deliveries(SRP))[0], { kind: 'device-alert', delivered: true });
});

test("a device's answer whose record SQLite loses (a full disk) is recorded again once the store takes writes: the User still gets the meter's response", async (t) => {
  let lose = true;
  let db: Database.Database | undefined;
  const devices: DevicePort = {
    ...unreachableDevices(),
    sendSmets1: async (_device, instruction) => {
      // Right after the DCC writes what the meter answered, and before that group commits, SQLite rolls it back.
      if (lose) {
        lose = false;
        setImmediate(() => db!.inTransaction && db!.exec('ROLLBACK'));
      }
      return { kind: 'response', frame: encodeReply({ type: 'response', id: instruction.counter, from: SMETS1_ESME, to: SUPPLIER, time: 1, status: 'executed' }) };
    },
  };
  const delivered: string[] = [];
  const { dcc, endpointUrl } = await dccWithEndpoint(t, devices, (body) => delivered.push(body));
  db = dcc.dcc.service.options.db;
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: endpointUrl });
  await dcc.admin.device({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = dcc.agent(SUPPLIER, 'supplier', await dcc.admin.xmlSigner(SUPPLIER));
  const request = supplier.request({ target: SMETS1_ESME, srv: '1.6', cv: 1, body: credit });
  t.is((await supplier.post('serviceS', request)).response?.header.responseCode, 'I99');
  for (let i = 0; i < 200 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.false(lose, 'the record of the answer was lost once');
  const [row] = dcc.dcc.service.requests({ requestId: formatRequestId(request.header.requestId) });
  t.like(row, { outcome: 'device-responded', responseCode: 'I0' });
  t.is(delivered.length, 1, 'the response reached the User');
  t.regex(delivered[0]!, /ResponseCode="I0"|<[^>]*ResponseCode>I0</);
});

test('an SRV 1.6 the S1SP cannot carry to a SMETS1 meter (a date past its clock) is refused at once (E11), not accepted and then failed as a communication failure', async (t) => {
  let reached = 0;
  const devices: DevicePort = { ...unreachableDevices(), sendSmets1: async () => (reached++, { kind: 'no-response', reason: 'not expected' }) };
  const { dcc, endpointUrl } = await dccWithEndpoint(t, devices, () => {});
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: endpointUrl });
  await dcc.admin.device({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = dcc.agent(SUPPLIER, 'supplier', await dcc.admin.xmlSigner(SUPPLIER));
  for (const at of ['2200-01-01T00:00:00Z', '1999-12-31T23:00:00Z']) {
    const request = supplier.request({ target: SMETS1_ESME, srv: '1.6', cv: 1, body: { ...credit, executionDateTime: at } });
    const answer = await supplier.post('serviceS', request);
    t.is(answer.response?.header.responseCode, 'E11', `${at}: ${answer.text}`);
  }
  await dcc.dcc.service.settled();
  t.is(reached, 0, 'nothing was sent to the S1SP');
});

test('a SMETS1 alert that fails its integrity check is logged as unreadable and reaches no supplier', async (t) => {
  const delivered: string[] = [];
  const { dcc, endpointUrl } = await dccWithEndpoint(t, unreachableDevices(), (body) => delivered.push(body));
  await dcc.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: endpointUrl });
  await dcc.admin.device({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await dcc.admin.certificate(SUPPLIER, 'xml-signing'); // a supplier without one counts as failed (BR7)
  const service = dcc.dcc.service;
  const alert = encodeReply({ type: 'alert', id: 9n, from: SMETS1_ESME, to: SUPPLIER, time: 1, code: 0x8f66, instructionId: 7n, operation: 'payment-mode' });
  const damaged = Buffer.from(alert);
  damaged[damaged.length - 1]! ^= 0x01;
  service.routeAlert(SMETS1_ESME, damaged);
  await service.settled();
  t.deepEqual(delivered, []);
  const rejections = service.db.prepare('SELECT reason FROM rejections').all() as { reason: string }[];
  t.deepEqual(rejections.map((r) => r.reason), [`unreadable alert: SMETS1 alert from ${SMETS1_ESME} fails its integrity check`]);
  service.routeAlert(SMETS1_ESME, alert);
  for (let i = 0; i < 200 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(delivered.length, 1, 'the intact alert is delivered');
});

test('a revocation whose commit SQLite loses is not in force in memory: the retry is taken, and it survives a restart', async (t) => {
  const stateDir = scratchDir(t, 'dcc-revocation');
  const w = await startTestDcc(unreachableDevices(), { stateDir });
  let closed = false;
  t.teardown(() => (closed ? undefined : w.close()));
  await w.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS'] });
  const cert = await w.admin.certificate(SUPPLIER, 'xml-signing');
  const { service, admin, smki } = w.dcc;
  const ref = { issuer: cert.issuer, serial: cert.serial };
  // One turn of the event loop: a party update opens the group, the revocation joins it, SQLite loses it.
  service.putParty({ eui: SUPPLIER, name: 'Supplier renamed' });
  admin.revoke(cert.serial, undefined, undefined, undefined);
  service.options.db.exec('ROLLBACK');
  await t.throwsAsync(service.durable());
  t.is(smki.status(ref, service.now()).state, 'valid', 'what the store lost is not in force');
  t.notThrows(() => admin.revoke(cert.serial, undefined, undefined, undefined), 'the retry is taken');
  await service.durable();
  t.is(smki.status(ref, service.now()).state, 'revoked');
  await w.close();
  closed = true;
  const again = await startTestDcc(unreachableDevices(), { stateDir });
  t.teardown(() => again.close());
  t.is(again.dcc.smki.status(ref, again.dcc.service.now()).state, 'revoked', 'the retried revocation was stored');
});

test("the admin's writes made after SQLite lost the open group (an instruction and its end, an ADT file, an officer, a device, a revocation) are refused and change nothing, as the failure the admin API reports says", async (t) => {
  const w = await startTestDcc(unreachableDevices());
  t.teardown(() => w.close());
  const SRP = parseEui('90B3D51F30050001');
  await w.admin.party({ eui: SRP, name: 'SRP', roles: ['SC'] });
  await w.admin.party({ eui: SUPPLIER, name: 'Failing', roles: ['IS', 'GS'] });
  await w.admin.officer(SRP, { id: 'sro', kind: 'SRO', name: 'SRO' });
  const cert = await w.admin.certificate(SUPPLIER, 'xml-signing');
  const earlier = await w.admin.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: new Date(Date.parse((await w.admin.now()).now) + 3_600_000).toISOString() });
  const { service, admin } = w.dcc;
  const db = service.options.db;
  const rows = () => ({
    events: db.prepare('SELECT id, ends_at FROM solr_events').all(),
    files: db.prepare('SELECT id FROM adt_files').all(),
    officers: db.prepare('SELECT id FROM officers').all(),
    devices: db.prepare('SELECT eui FROM devices').all(),
    revocations: db.prepare('SELECT serial FROM revocations').all(),
  });
  const before = rows();
  // One turn of the event loop: a party update opens the group, SQLite loses it (a full disk), the admin writes follow.
  service.putParty({ eui: SUPPLIER, name: 'Failing renamed' });
  db.exec('ROLLBACK');
  t.throws(() => admin.instructSolr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: service.now().toISOString() }), { message: /could not commit/ });
  t.throws(() => admin.submitAdt(service.registry.party(SRP)!, { submittedBy: 'sro', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 1, quarantine: 2, periodSeconds: 60 }] }), { message: /could not commit/ });
  t.throws(() => admin.addOfficer(SRP, { id: 'aro', kind: 'ARO', name: 'ARO' }), { message: /could not commit/ });
  t.throws(() => admin.endSolr(earlier.id, service.now()), { message: /could not commit/ });
  t.throws(() => admin.revoke(cert.serial, undefined, undefined, undefined), { message: /could not commit/ });
  await t.throwsAsync(admin.registerDevice({ eui: SMETS1_ESME, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER }), { message: /could not commit/ });
  await t.throwsAsync(service.durable());
  t.is(w.dcc.smki.status({ issuer: cert.issuer, serial: cert.serial }, service.now()).state, 'valid', 'the revocation is not in force');
  t.deepEqual(rows(), before, 'nothing of them is in the store');
  t.false(service.anomaly.covers(SRP, '1.6', SUPPLIER), 'nor in force');
});

test("a certificate whose issue SQLite loses is forgotten by SMKI too: not listed, not a device's trust anchor; the retry's is used", async (t) => {
  const w = await startTestDcc(unreachableDevices());
  t.teardown(() => w.close());
  const { service, admin } = w.dcc;
  const db = service.options.db;
  await w.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS'] });
  await service.durable();
  // The certificate's row joins a group that SQLite then loses (a full disk): the caller is told the issue failed.
  const mark = service.commitMark();
  const lost = await admin.issuePartyCertificate(SUPPLIER, 'organisation-ds');
  db.exec('ROLLBACK');
  await t.throwsAsync(service.durableSince(mark));
  t.false(admin.certificatesOf(SUPPLIER).some((c) => c.serial === lost.certificate.serial), 'SMKI does not list it');
  // A certificate refused at its write (SQLite refuses the statement while the group goes on) is forgotten at once.
  await w.dcc.service.durable();
  db.exec("CREATE TRIGGER full BEFORE INSERT ON certificates BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  await t.throwsAsync(admin.issuePartyCertificate(SUPPLIER, 'organisation-ds'), { any: true, message: /disk is full/ });
  db.exec('DROP TRIGGER full');
  t.deepEqual(admin.certificatesOf(SUPPLIER).filter((c) => c.product === 'organisation-ds'), [], 'nothing of either');
  const retried = await admin.issuePartyCertificate(SUPPLIER, 'organisation-ds');
  await service.durable();
  const anchors = admin.trustAnchors({ eui: SMETS1_ESME, supplier: SUPPLIER } as never);
  t.true(anchors.supplier.ds?.equals(retried.certificate.publicKey), "a new meter trusts the key its supplier holds");
});
