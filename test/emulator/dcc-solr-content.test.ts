/**
 * The SoLR content check at its edges (MP134B BR2, BR3, BR5, BR6): it follows the role a Pre-Command was issued
 * to, bounds how far ahead a switch to Credit may be dated, checks SRVs added to the SC list by their own use
 * cases, and a Digital Signing certificate keeps a party out of the SC role whatever the DCC's clock says.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { decodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import type { RequestBody } from '../../protocol/duis/index.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { AdminError } from '../../harness/admin-client.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';

const FAILED = parseEui('90B3D51F30010001');
const SRP = parseEui('90B3D51F30050001');
const BOTH = parseEui('90B3D51F300500A1');
const ESME = parseEui('00DB0000000000A1');
const SMETS1 = parseEui('00DB0000000000C1');
const DAY = 86_400_000;

const credit = (at?: number): RequestBody => ({ kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' }, ...(at === undefined ? {} : { executionDateTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') }) });
const prepay: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } };
const code = (r: { response: { header: { responseCode: string } } | null; status: number; text: string } | null) => r?.response?.header.responseCode ?? `HTTP ${r?.status}: ${r?.text.trim()}`;

/**
 * A DCC that dispatches (every device's Key Agreement key is known), a failed supplier with an ESME and a SMETS1
 * meter, and `sc` instructed to act for it with an ADT file for `srvs`.
 */
async function world(o: { sc: { eui: typeof SRP; roles: ('SC' | 'IS')[] }; srvs?: string[]; scAllowedSrvs?: string[] }) {
  const ka = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const srvs = o.srvs ?? ['1.6'];
  const t = await startTestDcc(unreachableDevices(srvs), { extra: { deviceKeyDirectory: () => ka, ...(o.scAllowedSrvs ? { scAllowedSrvs: o.scAllowedSrvs } : {}) } });
  const a = t.admin;
  await a.party({ eui: o.sc.eui, name: 'SRP', roles: o.sc.roles, endpoint: t.endpoint.url });
  await a.party({ eui: FAILED, name: 'Failing Energy', roles: ['IS', 'GS'], endpoint: t.endpoint.url, srp: o.sc.eui });
  await a.device({ eui: ESME, type: 'ESME', supplier: FAILED });
  await a.device({ eui: SMETS1, type: 'SMETS1', fuel: 'electricity', supplier: FAILED });
  const failedDs = await a.gbcsSigner(FAILED);
  const now = Date.parse((await a.now()).now);
  await a.solr({ failedSupplier: FAILED, contingencyParty: o.sc.eui, startsAt: new Date(now - 1000).toISOString() });
  await a.officer(o.sc.eui, { id: 'sro', kind: 'SRO', name: 'SRO' });
  await a.adt(o.sc.eui, { submittedBy: 'sro', supplier: FAILED, thresholds: srvs.map((srv) => ({ srv, warning: 100, quarantine: 200, periodSeconds: 86400 })) });
  const sc = t.agent(o.sc.eui, 'sc', await a.xmlSigner(o.sc.eui), failedDs.privateKey);
  return { t, a, sc, now };
}

test('BR5: a Pre-Command issued to the SC role is refused (E12) when a change of supplier lets its CV 5 be authorised in another role: the content check follows the role it was issued to', async (t) => {
  const { t: dcc, a, sc } = await world({ sc: { eui: BOTH, roles: ['IS', 'SC'] } });
  t.teardown(() => dcc.close());
  const cv4 = sc.request({ target: ESME, srv: '1.6', cv: 4, body: prepay });
  const transformed = await sc.post('serviceT', cv4);
  t.is(code(transformed), 'I0', 'issued as SC: the failed supplier is its originator');
  const content = transformed.response!.body.kind === 'ResponseMessage' ? transformed.response!.body.content : undefined;
  if (content?.kind !== 'PreCommand') return t.fail('no Pre-Command');
  const issued = decodeGeneralSigning(content.gbcsPayload);
  t.is(issued.ok ? issued.value.originator : null, FAILED);

  await a.device({ eui: ESME, type: 'ESME', supplier: BOTH }); // change of supplier: BOTH may now act on it as IS
  const cv5 = { ...cv4, header: { ...cv4.header, commandVariant: 5 as const }, body: { kind: 'SignedPreCommand' as const, gbcsPayload: sc.signPreCommand(content.gbcsPayload) } };
  t.is(code(await sc.post('serviceS', cv5)), 'E12');
  const rows = (await a.requests({ user: BOTH })).map((r) => [r.cv, r.role, r.outcome, r.check, r.dispatched]);
  t.deepEqual(rows, [
    [4, 'SC', 'transformed', null, false],
    [5, 'IS', 'refused', 'correlation', false],
  ]);
  t.regex((await a.requests({ user: BOTH }))[1]!.reason ?? '', /issued to the SC role, and this request is authorised as IS/);
});

test('BR5/BR6: a switch to Credit dated beyond the SC horizon (decades ahead, under an open-ended instruction) is refused (E2) as a cancellation is, on SMETS2+ and SMETS1; one dated tomorrow or at the next month start goes through', async (t) => {
  const { t: dcc, a, sc, now } = await world({ sc: { eui: SRP, roles: ['SC'] } });
  t.teardown(() => dcc.close());
  const far = now + 36_500 * DAY;
  const esme = await sc.critical({ target: ESME, srv: '1.6', body: credit(far) });
  t.is(code(esme.transform), 'I0');
  t.is(code(esme.send), 'E2');
  t.is(code(await sc.post('serviceS', sc.request({ target: SMETS1, srv: '1.6', cv: 1, body: credit(far) }))), 'E2');
  const refused = (await a.requests({ user: SRP })).filter((r) => r.outcome === 'refused');
  t.deepEqual(refused.map((r) => r.check), ['solr-content', 'solr-content']);
  for (const r of refused) t.regex(r.reason ?? '', /more than 32 days ahead/);

  t.is(code((await sc.critical({ target: ESME, srv: '1.6', body: credit(now + DAY) })).send), 'I99');
  // The start of next month in UK time (a billing boundary): up to 31 days and an hour ahead, when the clocks
  // go back in between (1 October 00:30 BST to 1 November 00:00 GMT).
  t.is(code(await sc.post('serviceS', sc.request({ target: SMETS1, srv: '1.6', cv: 1, body: credit(now + 31 * DAY + 3_600_000) }))), 'I99');
});

test('BR3: with SRV 7.2 added to the SC list, the SC role sends it (CV 4, CV 5) past the content check, which checks it against 7.2, not against the credit-only rule of 1.6', async (t) => {
  const { t: dcc, a, sc } = await world({ sc: { eui: SRP, roles: ['SC'] }, srvs: ['1.6', '7.2'], scAllowedSrvs: ['1.6', '7.2'] });
  t.teardown(() => dcc.close());
  const disable = await sc.critical({ target: ESME, srv: '7.2', body: { kind: 'opaque', name: 'DisableSupply', element: { uri: 'http://www.dccinterface.co.uk/ServiceUserGateway', prefix: 'sr', local: 'DisableSupply', attributes: [], namespaces: [], children: [], parent: null } } as never });
  t.is(code(disable.transform), 'I0');
  t.is(code(disable.send), 'I99');
  const cv5 = (await a.requests({ user: SRP })).filter((r) => r.cv === 5);
  t.deepEqual(cv5.map((r) => [r.srv, r.dispatched]), [['7.2', true]]);
  // 1.6 keeps its rule.
  t.is(code((await sc.critical({ target: ESME, srv: '1.6', body: prepay })).send), 'E2');
});

test('BR2: a Digital Signing certificate not yet valid (the DCC clock set back) still keeps its holder out of the SC role', async (t) => {
  const dcc = await startTestDcc(unreachableDevices());
  t.teardown(() => dcc.close());
  const a = dcc.admin;
  const P = parseEui('90B3D51F30010009');
  await a.party({ eui: P, name: 'Supplier turning SRP', roles: ['IS'] });
  const now = Date.parse((await a.now()).now);
  await a.certificate(P, 'organisation-ds');
  await a.clock({ set: new Date(now - 3_600_000).toISOString() } as never);
  const refused = await a.party({ eui: P, roles: ['IS', 'SC'] } as never).catch((e: unknown) => e);
  t.true(refused instanceof AdminError, 'refused');
  t.regex((refused as Error).message, /a party in the SC role holds no GBCS Organisation certificate \(MP134B BR2\)/);
  t.deepEqual(dcc.dcc.service.registry.party(P)?.roles, ['IS']);
});
