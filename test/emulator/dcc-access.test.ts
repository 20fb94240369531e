/**
 * The mock DCC over HTTP, before any device is involved: the gateway (signatures, replays), the access checks
 * with their DUIS codes, the SMKI issuing policy (BR2), SRV eligibility of the SC role (BR1, BR3), the Authority
 * instruction (BR6), device scope and ADT files (BR4), and the SC transform (Pre-Command originator).
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dccResolver } from '../../harness/agents/dcc-verifier.ts';
import { decodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { buildRequest, type RequestBody, serviceReferenceOf, type ServiceReferenceVariant, signXml } from '../../protocol/duis/index.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { AdminError } from '../../harness/admin-client.ts';
import { SRV_BODY_ELEMENT } from '../../harness/agents/srv-bodies.ts';
import { UserAgent } from '../../harness/agents/user-agent.ts';
import { startTestDcc, type TestDcc, unreachableDevices } from '../helpers/dcc.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const OTHER_SUPPLIER = parseEui('90B3D51F30010002');
const SRP = parseEui('90B3D51F30050001');
const ESME = parseEui('00DB0000000000A1');
const OTHER_ESME = parseEui('00DB0000000000B1');

const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };
const prepay: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } };

interface World {
  t: TestDcc;
  supplier: UserAgent;
  sc: UserAgent;
}

/** `dispatching`: the DCC knows every device's Key Agreement key, so Signed Pre-Commands get as far as dispatch. */
async function world(o: { supported?: readonly string[]; dispatching?: boolean } = {}): Promise<World> {
  const ka = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const t = await startTestDcc(unreachableDevices(o.supported), o.dispatching ? { extra: { deviceKeyDirectory: () => ka } } : {});
  const a = t.admin;
  await a.party({ eui: SRP, name: 'SRP Ltd (SoLR Contingency)', roles: ['SC'], endpoint: t.endpoint.url });
  await a.party({ eui: SUPPLIER, name: 'Failing Energy', roles: ['IS', 'GS'], endpoint: t.endpoint.url, srp: SRP });
  await a.party({ eui: OTHER_SUPPLIER, name: 'Other Energy', roles: ['IS'], endpoint: t.endpoint.url });
  await a.device({ eui: ESME, type: 'ESME', supplier: SUPPLIER });
  await a.device({ eui: OTHER_ESME, type: 'ESME', supplier: OTHER_SUPPLIER });
  const supplierDs = await a.gbcsSigner(SUPPLIER);
  const supplier = t.agent(SUPPLIER, 'supplier', await a.xmlSigner(SUPPLIER), supplierDs.privateKey);
  const sc = t.agent(SRP, 'sc', await a.xmlSigner(SRP), supplierDs.privateKey);
  return { t, supplier, sc };
}

async function instructSolr(w: World, options: { adt?: boolean } = {}) {
  const a = w.t.admin;
  const now = Date.parse((await a.now()).now);
  await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString() });
  if (options.adt !== false) {
    await a.officer(SRP, { id: 'sro-1', kind: 'SRO', name: 'Senior Officer' });
    await a.adt(SRP, { submittedBy: 'sro-1', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 1000, quarantine: 2000, periodSeconds: 86400 }] });
  }
}

const code = (r: { response: { header: { responseCode: string } } | null; status: number; text: string }) => r.response?.header.responseCode ?? `HTTP ${r.status}: ${r.text.trim()}`;

test('BR2: SMKI issues the SC party XML Signing certificates and refuses it Digital Signing certificates', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const err = await t.throwsAsync(w.t.admin.certificate(SRP, 'organisation-ds'), { instanceOf: AdminError });
  t.is(err?.status, 403);
  t.regex(err?.message ?? '', /Digital Signing/);
  t.is((err?.body as { requirement?: string }).requirement, 'MP134B BR2');
  const xml = await w.t.admin.certificate(SRP, 'xml-signing');
  t.regex(xml.certificate, /BEGIN CERTIFICATE/);
  const notItsRole = await t.throwsAsync(w.t.admin.certificate(SRP, 'xml-signing', 'IS'), { instanceOf: AdminError });
  t.is(notItsRole?.status, 400, 'a role the party does not have is a bad request, not a policy refusal');
  t.regex(notItsRole?.message ?? '', /role: .* acts as SC, not as IS/);

  // Not round the policy by another role of the same party: asked as IS, or before SC is added to its roles.
  const both = '90B3D51F300500A1';
  await w.t.admin.party({ eui: both, name: 'Supplier and SRP', roles: ['IS', 'SC'] });
  const asSupplier = await t.throwsAsync(w.t.admin.certificate(both, 'organisation-ds', 'IS'), { instanceOf: AdminError });
  t.is((asSupplier?.body as { requirement?: string }).requirement, 'MP134B BR2');
  await t.throwsAsync(w.t.admin.certificate(both, 'organisation-ds'), { instanceOf: AdminError, message: /HTTP 403/ });
  const later = '90B3D51F300500A2';
  await w.t.admin.party({ eui: later, name: 'Supplier first', roles: ['IS'] });
  const ds = await w.t.admin.certificate(later, 'organisation-ds');
  const becomeSc = await t.throwsAsync(w.t.admin.party({ eui: later, name: 'Supplier first', roles: ['IS', 'SC'] }), { instanceOf: AdminError });
  t.is(becomeSc?.status, 400);
  t.regex(becomeSc?.message ?? '', new RegExp(`roles: a party in the SC role holds no GBCS Organisation certificate \\(MP134B BR2\\), and ${later} holds organisation-ds ${ds.serial}: revoke them first`));
  t.deepEqual(w.t.dcc.service.registry.party(parseEui(later))?.roles, ['IS'], 'nothing changed');
  // However the EUI is spelled: the registry reads these as the same party.
  for (const spelling of [later.toLowerCase(), later.match(/../g)!.join('-')]) {
    const again = await t.throwsAsync(w.t.admin.party({ eui: spelling, name: 'Supplier first', roles: ['IS', 'SC'] }), { instanceOf: AdminError });
    t.is(again?.status, 400, spelling);
  }
  t.deepEqual(w.t.dcc.service.registry.party(parseEui(later))?.roles, ['IS'], 'nothing changed');
  await w.t.admin.revoke(ds.serial);
  await w.t.admin.party({ eui: later, name: 'Supplier first', roles: ['IS', 'SC'] });

  // Nor by adding SC while a Digital Signing certificate is being issued: one of the two is refused.
  for (let i = 0xb0; i < 0xb5; i++) {
    const racing = `90B3D51F300500${i.toString(16).toUpperCase()}`;
    await w.t.admin.party({ eui: racing, name: 'Racing supplier', roles: ['IS'] });
    const [issued, sc] = await Promise.allSettled([w.t.admin.certificate(racing, 'organisation-ds'), w.t.admin.party({ eui: racing, name: 'Racing supplier', roles: ['IS', 'SC'] })]);
    t.false(issued.status === 'fulfilled' && sc.status === 'fulfilled', `${racing}: an SC party holding a valid Digital Signing certificate`);
  }
});

test('gateway: unsigned, tampered, wrongly signed and replayed requests are refused before any check', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const req = w.supplier.request({ target: ESME, srv: '1.6', cv: 4, body: credit });
  const signed = w.supplier.sign(req);
  const malformed = await w.supplier.post('serviceT', '<not xml');
  t.is(malformed.status, 400);
  const altered = signed.replace('<sr:Credit></sr:Credit>', '<sr:Prepayment><sr:SuspendDebtDisabled>false</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>false</sr:SuspendDebtEmergency><sr:DisablementThreshold>0</sr:DisablementThreshold></sr:Prepayment>');
  t.not(altered, signed);
  const tampered = await w.supplier.post('serviceT', altered);
  t.is(tampered.status, 401, tampered.text);
  const impostor = await w.sc.post('serviceT', w.sc.sign(req)); // SC signs a request naming the supplier as User
  t.is(impostor.status, 401, impostor.text);
  t.regex(impostor.text, /RequestID names User/);
  const first = await w.supplier.post('serviceT', signed);
  t.is(code(first), 'I0');
  const replay = await w.supplier.post('serviceT', signed);
  t.is(replay.status, 409);
  t.regex(replay.text, /replay/);
  const audit = await w.t.admin.requests({ user: SUPPLIER });
  t.is(audit.length, 1, 'only the accepted request is in the audit log');
});

test('a revoked XML Signing certificate no longer authenticates; a PMA-delayed revocation still does until it takes effect', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const a = w.t.admin;
  const cert = await a.certificate(OTHER_SUPPLIER, 'xml-signing');
  const other = w.t.agent(OTHER_SUPPLIER, 'other', await a.xmlSigner(OTHER_SUPPLIER));
  const signerOf = (await import('node:crypto')).createPrivateKey(cert.privateKey!);
  const signer = { privateKey: signerOf, issuer: (await import('../../protocol/smki/certificate.ts')).readCertificate(cert.certificate).issuer, serial: cert.serial };
  const now = Date.parse((await a.now()).now);
  const delayed = await a.revoke(cert.serial, { effectiveAt: new Date(now + 3_600_000).toISOString(), orderedBy: 'PMA' });
  t.true(delayed.delayed);
  const during = await other.post('serviceT', other.sign(other.request({ target: OTHER_ESME, srv: '1.6', cv: 4, body: credit }), signer));
  t.is(code(during), 'I0', 'revocation delayed by the PMA: still valid');
  await a.clock({ advanceMs: 3_600_001 });
  const after = await other.post('serviceT', other.sign(other.request({ target: OTHER_ESME, srv: '1.6', cv: 4, body: credit }), signer));
  t.is(after.status, 401);
  t.regex(after.text, /revoked/);
});

test('BR1/BR3: the SC role may send SRV 1.6 only: every other SRV of the eligibility table gets E2', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  await instructSolr(w);
  const others = Object.keys(SRV_BODY_ELEMENT).filter((s) => s !== '1.6');
  t.is(others.length, 128);
  const codes = new Map<string, string>();
  for (const srv of others) {
    const body: RequestBody = { kind: 'opaque', name: SRV_BODY_ELEMENT[srv] as never, element: { uri: 'http://www.dccinterface.co.uk/ServiceUserGateway', prefix: 'sr', local: SRV_BODY_ELEMENT[srv]!, attributes: [], namespaces: [], children: [] } as never };
    const r = await w.sc.post('serviceS', w.sc.request({ target: ESME, srv: srv as ServiceReferenceVariant, cv: 1, body }));
    codes.set(srv, code(r));
  }
  t.deepEqual([...new Set(codes.values())], ['E2'], JSON.stringify(Object.fromEntries([...codes].filter(([, c]) => c !== 'E2'))));
  const ok = await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }));
  t.is(code(ok), 'I0');
});

test('BR6: the SC role is refused (E3) before the Authority instruction and after it ends', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const before = await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }));
  t.is(code(before), 'E3');
  const a = w.t.admin;
  const now = Date.parse((await a.now()).now);
  const event = await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: new Date(now + 60_000).toISOString(), endsAt: new Date(now + 120_000).toISOString() });
  await a.officer(SRP, { id: 'aro-1', kind: 'ARO', name: 'Officer' });
  await a.adt(SRP, { submittedBy: 'aro-1', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 10, quarantine: 20, periodSeconds: 3600 }] });
  t.is(code(await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }))), 'E3', 'instructed but not yet started');
  await a.clock({ advanceMs: 61_000 });
  t.is(code(await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }))), 'I0', 'during the event');
  await a.clock({ advanceMs: 60_000 });
  t.is(code(await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }))), 'E3', 'after the event');
  t.truthy(event.id);
  const audit = await a.requests({ user: SRP });
  t.deepEqual(audit.map((r) => r.check), ['user-status', 'user-status', null, 'user-status']);
});

test('BR4: without an ADT file naming the failed supplier, and for devices of other suppliers, the SC role gets E4', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  await instructSolr(w, { adt: false });
  const noAdt = await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }));
  t.is(code(noAdt), 'E4');
  await t.throwsAsync(w.t.admin.adt(SRP, { submittedBy: 'nobody', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 1, quarantine: 2, periodSeconds: 60 }] }), { message: /not a registered ARO or SRO/ });
  await w.t.admin.officer(SRP, { id: 'sro-1', kind: 'SRO', name: 'Officer' });
  await w.t.admin.adt(SRP, { submittedBy: 'sro-1', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 10, quarantine: 20, periodSeconds: 3600 }] });
  t.is(code(await w.sc.post('serviceT', w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit }))), 'I0');
  t.is(code(await w.sc.post('serviceT', w.sc.request({ target: OTHER_ESME, srv: '1.6', cv: 4, body: credit }))), 'E4', "another supplier's meter");
  t.is(code(await w.sc.post('serviceT', w.sc.request({ target: parseEui('00DB0000000000FF'), srv: '1.6', cv: 4, body: credit }))), 'E19');
});

test('the SC Pre-Command names the failed supplier as originator (the key the meter trusts) and the SC RequestID counter', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  await instructSolr(w);
  const req = w.sc.request({ target: ESME, srv: '1.6', cv: 4, body: credit });
  const r = await w.sc.post('serviceT', req);
  t.is(code(r), 'I0');
  const content = r.response!.body.kind === 'ResponseMessage' ? r.response!.body.content : undefined;
  if (content?.kind !== 'PreCommand') return t.fail('no Pre-Command');
  const pre = decodeGeneralSigning(content.gbcsPayload);
  if (!pre.ok) return t.fail(pre.error.toString());
  t.is<string, string>(pre.value.originator, SUPPLIER);
  t.is<string, string>(pre.value.recipient, ESME);
  t.is(pre.value.counter, req.header.requestId.counter);
  t.is(pre.value.messageCode, 0x001a);
});

test('CV and URL consistency: E12 for the wrong Command Variant, E13 for the wrong URL, E17 for local delivery', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  t.is(code(await w.supplier.post('serviceS', w.supplier.request({ target: ESME, srv: '1.6', cv: 1, body: credit }))), 'E12');
  t.is(code(await w.supplier.post('serviceS', w.supplier.request({ target: ESME, srv: '1.6', cv: 4, body: credit }))), 'E13');
  t.is(code(await w.supplier.post('serviceT', w.supplier.request({ target: ESME, srv: '1.6', cv: 2, body: credit }))), 'E17');
});

test('CV on SMETS1: the SC role switching a SMETS1 meter as a critical request (CV 4 to serviceT, CV 5 to serviceS) is refused E12; CV 1 gets through', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const meter = parseEui('00DB0000000000C9');
  await w.t.admin.device({ eui: meter, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  await instructSolr(w);
  // SMETS1 Service Requests are checked by the DCC and handed to the S1SP: no Pre-Command, so no CV 4 or 5.
  const transform = await w.sc.post('serviceT', w.sc.request({ target: meter, srv: '1.6', cv: 4, body: credit }));
  t.is(code(transform), 'E12');
  const signed = await w.sc.post('serviceS', w.sc.request({ target: meter, srv: '1.6', cv: 5, body: { kind: 'SignedPreCommand', gbcsPayload: Buffer.from('df', 'hex') } }));
  t.is(code(signed), 'E12');
  t.not(code(await w.sc.post('serviceS', w.sc.request({ target: meter, srv: '1.6', cv: 1, body: credit }))), 'E12');
  const audit = await w.t.admin.requests({ user: SRP });
  t.deepEqual(
    audit.filter((r) => r.cv !== 1).map((r) => [r.cv, r.check]),
    [
      [4, 'command-variant'],
      [5, 'command-variant'],
    ],
  );
  t.false(audit.some((r) => r.cv !== 1 && r.dispatched), 'nothing reached the S1SP');
});

test('BR5 (SMETS2+): a Signed Pre-Command that differs from the issued one is refused; an SC prepayment Pre-Command fails the content check', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  await instructSolr(w);
  const altered = await w.sc.critical({ target: ESME, srv: '1.6', body: credit }, { tamper: (a) => ({ ...a, counter: 2n ** 64n - 1n }) });
  t.is(code(altered.transform), 'I0');
  t.is(code(altered.send!), 'E12');
  const prepayment = await w.sc.critical({ target: ESME, srv: '1.6', body: prepay });
  t.is(code(prepayment.transform), 'I0', 'the transform does not judge content: BR5 puts the check on the Signed Pre-Command');
  t.is(code(prepayment.send!), 'E2');
  const audit = await w.t.admin.requests({ user: SRP });
  t.deepEqual(
    audit.filter((r) => r.cv === 5).map((r) => r.check),
    ['correlation', 'solr-content'],
  );
  t.false(audit.some((r) => r.dispatched), 'nothing reached a device');
});

test('BR3: the SC list is configurable - with 7.2 added, the SC role gets past eligibility for 7.2 (but still not for 7.1)', async (t) => {
  const tdcc = await startTestDcc(unreachableDevices(['1.6', '7.1', '7.2']), { extra: { scAllowedSrvs: ['1.6', '7.2'] } });
  t.teardown(() => tdcc.close());
  const a = tdcc.admin;
  await a.party({ eui: SRP, name: 'SRP', roles: ['SC'], endpoint: tdcc.endpoint.url });
  await a.party({ eui: SUPPLIER, name: 'Failing Energy', roles: ['IS', 'GS'], endpoint: tdcc.endpoint.url, srp: SRP });
  await a.device({ eui: ESME, type: 'ESME', supplier: SUPPLIER });
  const sc = tdcc.agent(SRP, 'sc', await a.xmlSigner(SRP));
  const now = Date.parse((await a.now()).now);
  await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString() });
  await a.officer(SRP, { id: 'sro', kind: 'SRO', name: 'SRO' });
  await a.adt(SRP, { submittedBy: 'sro', supplier: SUPPLIER, thresholds: [{ srv: '7.2', warning: 5, quarantine: 10, periodSeconds: 60 }, { srv: '1.6', warning: 5, quarantine: 10, periodSeconds: 60 }] });
  const disable = await sc.post('serviceT', sc.request({ target: ESME, srv: '7.2', cv: 4, body: { kind: 'opaque', name: 'DisableSupply', element: { uri: 'http://www.dccinterface.co.uk/ServiceUserGateway', prefix: 'sr', local: 'DisableSupply', attributes: [], namespaces: [], children: [], parent: null } } as never }));
  t.is(code(disable), 'I0', 'eligible now: the DCC transforms it');
  const enable = await sc.post('serviceT', sc.request({ target: ESME, srv: '7.1', cv: 4, body: { kind: 'opaque', name: 'EnableSupply', element: { uri: 'http://www.dccinterface.co.uk/ServiceUserGateway', prefix: 'sr', local: 'EnableSupply', attributes: [], namespaces: [], children: [], parent: null } } as never }));
  t.is(code(enable), 'E2');
});

test('anomaly detection: a quarantined Signed Pre-Command is spent - posted again once the ADT period is over, it is refused (E12), not executed', async (t) => {
  const w = await world({ dispatching: true });
  t.teardown(() => w.t.close());
  const a = w.t.admin;
  await instructSolr(w, { adt: false });
  await a.officer(SRP, { id: 'sro-1', kind: 'SRO', name: 'Officer' });
  await a.adt(SRP, { submittedBy: 'sro-1', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 0, quarantine: 1, periodSeconds: 60 }] });
  t.is(code((await w.sc.critical({ target: ESME, srv: '1.6', body: credit })).send!), 'I99');
  const second = await w.sc.critical({ target: ESME, srv: '1.6', body: credit });
  t.is(code(second.send!), 'I99', 'quarantined requests are acknowledged');
  const id = second.requestId;
  const quarantined = (await a.requests({ user: SRP })).filter((r) => r.cv === 5 && r.outcome === 'quarantined');
  t.is(quarantined.length, 1);
  await a.clock({ advanceMs: 61_000 });
  const again = await w.sc.post('serviceS', second.signedXml!);
  t.is(code(again), 'E12');
  const rows = (await a.requests({ user: SRP })).filter((r) => r.cv === 5 && r.requestId === quarantined[0]!.requestId);
  t.deepEqual(rows.map((r) => [r.outcome, r.dispatched]), [['quarantined', false], ['refused', false]]);
  t.regex(rows[1]!.reason ?? '', /already been used/);
  t.truthy(id);
});

test('correlation: a Signed Pre-Command sent under another SRV than the one it was transformed for is refused (E12)', async (t) => {
  const w = await world({ supported: ['1.6', '1.5'], dispatching: true });
  t.teardown(() => w.t.close());
  const cv4 = w.supplier.request({ target: ESME, srv: '1.6', cv: 4, body: prepay });
  const transformed = await w.supplier.post('serviceT', cv4);
  t.is(code(transformed), 'I0');
  const content = transformed.response!.body.kind === 'ResponseMessage' ? transformed.response!.body.content : undefined;
  if (content?.kind !== 'PreCommand') return t.fail('no Pre-Command');
  const header = { ...cv4.header, commandVariant: 5 as const, serviceReference: serviceReferenceOf('1.5'), serviceReferenceVariant: '1.5' as ServiceReferenceVariant };
  const relabelled = await w.supplier.post('serviceS', { ...cv4, header, body: { kind: 'SignedPreCommand', gbcsPayload: w.supplier.signPreCommand(content.gbcsPayload) } });
  t.is(code(relabelled), 'E12');
  const audit = (await w.t.admin.requests({ user: SUPPLIER })).filter((r) => r.cv === 5);
  t.deepEqual(audit.map((r) => [r.srv, r.check, r.dispatched]), [['1.5', 'correlation', false]]);
  t.regex(audit[0]!.reason ?? '', /issued for SRV 1\.6, not 1\.5/);
});

test("anomaly detection counts per ADT file: requests to one failed supplier's meters do not count against another supplier's file", async (t) => {
  const w = await world({ dispatching: true });
  t.teardown(() => w.t.close());
  const a = w.t.admin;
  const SECOND = parseEui('90B3D51F30010003');
  const SECOND_ESME = parseEui('00DB0000000000C1');
  await a.party({ eui: SECOND, name: 'Second Failing Energy', roles: ['IS'], endpoint: w.t.endpoint.url, srp: SRP });
  await a.device({ eui: SECOND_ESME, type: 'ESME', supplier: SECOND });
  const now = Date.parse((await a.now()).now);
  for (const failed of [SUPPLIER, SECOND]) await a.solr({ failedSupplier: failed, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString() });
  await a.officer(SRP, { id: 'sro-1', kind: 'SRO', name: 'Officer' });
  await a.adt(SRP, { submittedBy: 'sro-1', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 50, quarantine: 100, periodSeconds: 86400 }] });
  await a.adt(SRP, { submittedBy: 'sro-1', supplier: SECOND, thresholds: [{ srv: '1.6', warning: 1, quarantine: 2, periodSeconds: 86400 }] });
  for (let i = 0; i < 3; i++) t.is(code((await w.sc.critical({ target: ESME, srv: '1.6', body: credit })).send!), 'I99');
  const secondDs = (await a.gbcsSigner(SECOND)).privateKey;
  for (let i = 0; i < 3; i++) t.is(code((await w.sc.critical({ target: SECOND_ESME, srv: '1.6', body: credit }, { signWith: secondDs })).send!), 'I99');
  const outcomes = (await a.requests({ user: SRP })).filter((r) => r.cv === 5).map((r) => [r.target, r.outcome === 'quarantined']);
  t.deepEqual(outcomes, [
    [ESME, false],
    [ESME, false],
    [ESME, false],
    [SECOND_ESME, false],
    [SECOND_ESME, false],
    [SECOND_ESME, true],
  ]);
});

test("anomaly detection: a file scoped to a supplier lifts no limit it does not name: the party's unscoped file still limits SRV 1.6 after a scoped file for SRV 7.2 only", async (t) => {
  const w = await world({ dispatching: true, supported: ['1.6', '7.2'] });
  t.teardown(() => w.t.close());
  const a = w.t.admin;
  await a.officer(SUPPLIER, { id: 'sro', kind: 'SRO', name: 'Officer' });
  await a.adt(SUPPLIER, { submittedBy: 'sro', thresholds: [{ srv: '1.6', warning: 0, quarantine: 1, periodSeconds: 86400 }] });
  await a.adt(SUPPLIER, { submittedBy: 'sro', supplier: SUPPLIER, thresholds: [{ srv: '7.2', warning: 0, quarantine: 1, periodSeconds: 86400 }] });
  for (let i = 0; i < 3; i++) t.is(code((await w.supplier.critical({ target: ESME, srv: '1.6', body: credit })).send!), 'I99');
  const quarantined = (await a.requests({ user: SUPPLIER })).filter((r) => r.cv === 5).map((r) => r.outcome === 'quarantined');
  t.deepEqual(quarantined, [false, true, true], 'one a day, as the unscoped file says');
});

test('a request whose schemaVersion is spelt "+5.4" or "5." is answered (in canonical form), refusals included, never a 500', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const signer = await w.t.admin.xmlSigner(SUPPLIER);
  for (const [spelt, target, want] of [
    ['+5.4', ESME, 'I0'],
    ['5.', parseEui('00DB0000000000FF'), 'E19'],
  ] as const) {
    const xml = buildRequest(w.supplier.request({ target, srv: '1.6', cv: 4, body: credit })).replace('schemaVersion="5.4"', `schemaVersion="${spelt}"`);
    const signed = signXml(xml, signer);
    if (!signed.ok) return t.fail(signed.error.toString());
    const r = await w.supplier.post('serviceT', signed.value);
    t.is(code(r), want, spelt);
    t.regex(r.text, new RegExp(`schemaVersion="${spelt === '+5.4' ? '5\\.4' : '5'}"`));
  }
});

test("the User agent refuses a genuine DCC-signed reply to another request (a replayed answer), and signs no Pre-Command from it", async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const genuine = await w.supplier.post('serviceT', w.supplier.request({ target: ESME, srv: '1.6', cv: 4, body: credit }));
  t.is(code(genuine), 'I0');
  // A stand-in DCC that answers every request with that reply.
  const posts: string[] = [];
  const replaying = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push(body);
      res.setHeader('content-type', 'application/xml');
      res.end(genuine.text);
    });
  });
  await new Promise<void>((resolve) => replaying.listen(0, '127.0.0.1', resolve));
  t.teardown(() => replaying.close());
  const identity = await w.t.admin.identity();
  const agent = new UserAgent(
    { eui: SUPPLIER, name: 'supplier', xml: await w.t.admin.xmlSigner(SUPPLIER), gbcsSigner: (await w.t.admin.gbcsSigner(SUPPLIER)).privateKey },
    { dccUrl: `http://127.0.0.1:${(replaying.address() as AddressInfo).port}`, counters: w.t.counters, dccVerifier: dccResolver([identity.xmlSigningCertificate!]) },
  );
  const r = await agent.critical({ target: ESME, srv: '1.6', body: prepay });
  t.is(r.transform.response, null);
  t.regex(r.transform.problem ?? '', /^DCC reply rejected: it answers RequestID \S+, not \S+$/);
  t.is(r.send, null, 'no Signed Pre-Command went out');
  t.is(posts.length, 1);
});

test('BR6: with two Authority instructions in force (a contingency extended by a new one), a switch may be dated up to the later end', async (t) => {
  const w = await world();
  t.teardown(() => w.t.close());
  const a = w.t.admin;
  const meter = parseEui('00DB0000000000C7');
  await a.device({ eui: meter, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const now = Date.parse((await a.now()).now);
  const day = 86_400_000;
  for (const ends of [day, 20 * day]) await a.solr({ failedSupplier: SUPPLIER, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString(), endsAt: new Date(now + ends).toISOString() });
  await a.officer(SRP, { id: 'sro-1', kind: 'SRO', name: 'Senior Officer' });
  await a.adt(SRP, { submittedBy: 'sro-1', supplier: SUPPLIER, thresholds: [{ srv: '1.6', warning: 1000, quarantine: 2000, periodSeconds: 86400 }] });
  const switchAt = (offset: number) => w.sc.post('serviceS', w.sc.request({ target: meter, srv: '1.6', cv: 1, body: { ...credit, executionDateTime: new Date(now + offset).toISOString() } }));
  t.is(code(await switchAt(10 * day)), 'I99', 'within the later instruction');
  // Within the 32 days any SC switch may be dated ahead, so only the instructions' end refuses it.
  t.is(code(await switchAt(25 * day)), 'E2', 'after both end');
});
