/**
 * The admin API's answer to bad input: 400 with the field that is wrong (404 for what a path or a reference names
 * that does not exist), and nothing changed. Filters given empty, twice or misspelt are refused too: read as "no
 * filter" they would list everything, and a repeated one reached SQLite as a list (HTTP 500).
 */
import test from 'ava';
import { Registry } from '../../emulator/registry.ts';
import { openStore } from '../../emulator/store.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { startTestDcc, type TestDcc, unreachableDevices } from '../helpers/dcc.ts';

let w: TestDcc;
test.before(async () => {
  w = await startTestDcc(unreachableDevices(), { persistent: false, extra: { start: new Date('2026-01-01T00:00:00Z'), freezeClock: true } });
});
test.after.always(async () => w?.close());

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; error: string }> {
  const r = await fetch(`${w.url}/admin/v1${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const json = (await r.json()) as { error?: string };
  return { status: r.status, error: json.error ?? '' };
}

/** What GET answers (200 only). */
async function get<T = Record<string, unknown>>(path: string): Promise<T> {
  const r = await fetch(`${w.url}/admin/v1${path}`);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** A listing's JSON, to compare before and after. */
const list = (path: string) => get<unknown[]>(path);

test.serial('bad bodies get 400 naming the field, and change nothing', async (t) => {
  const before = { parties: await list('/parties'), devices: await list('/devices'), clock: await w.admin.now() };
  const cases: [string, unknown, RegExp][] = [
    ['/parties', { eui: '0011223344556677', name: 'x', roles: ['XX'] }, /^roles\.0: /],
    ['/parties', { eui: 'zz', name: 'x', roles: ['IS'] }, /^eui: not an EUI-64/],
    ['/parties', [1], /^body: /],
    ['/parties', null, /^body: Invalid input: expected object, received null$/],
    ['/devices', { eui: '0011223344556677', type: 'ESME' }, /supplier: /],
    ['/parties', { eui: '0011223344556677', name: 'x', roles: ['IS', 'IS'] }, /^roles: a role is listed more than once$/],
    ['/parties', { eui: '0011223344556677', name: 'x', roles: 5 }, /^roles: /],
    ['/parties', { eui: '0011223344556677', name: 'x', roles: ['IS'], endpoint: 'ftp://x' }, /^endpoint: an http:\/\/ or https:\/\/ URL$/],
    ['/parties', { eui: '0011223344556677', name: 'x', roles: ['IS'], srp: '0011223344556677' }, /^srp: a party is not its own Shared Resource Provider$/],
    ['/clock', { advanceMs: -5 }, /^advanceMs: /],
    ['/clock', { set: 'garbage' }, /^set: /],
    ['/clock', { advanceMs: Number.MAX_SAFE_INTEGER }, /^advanceMs: the DCC's clock stays from 2000-01-01 .* no valid date$/],
    ['/clock', { advanceMs: 8.64e15 }, /^advanceMs: the DCC's clock stays/],
    ['/clock', { set: '0000-01-01T00:00:00Z' }, /^set: the DCC's clock stays/],
    ['/clock', { set: '2100-01-01T00:00:00Z' }, /^set: the DCC's clock stays .* 2100-01-01T00:00:00.000Z$/],
    ['/clock', { set: '2026-02-01T00:00:00Z', advanceMs: 5 }, /^body: give one of set \(an ISO date-time\) and advanceMs$/],
    // A misspelt key must not be dropped: this one would have revoked at once instead of at the PMA's date.
    ['/revocations', { serial: '1', effectiveat: '2027-01-01T00:00:00Z' }, /^body: Unrecognized key: "effectiveat"$/],
    ['/solr-events', { failedSupplier: '00000000000000A1', contingencyParty: '00000000000000A2', startsAt: '2026-01-01T00:00:00Z', endAt: '2026-01-02T00:00:00Z' }, /^body: Unrecognized key: "endAt"$/],
  ];
  for (const [path, body, message] of cases) {
    const r = await call('POST', path, body);
    t.is(r.status, 400, `${path} ${JSON.stringify(body)}`);
    t.regex(r.error, message, path);
  }
  t.deepEqual(await list('/parties'), before.parties);
  t.deepEqual(await list('/devices'), before.devices);
  t.deepEqual(await w.admin.now(), before.clock);
});

test.serial('a body that is not JSON gets 415 and changes nothing', async (t) => {
  const before = await list('/parties');
  for (const [type, body] of [['application/xml', '<a/>'], ['text/plain', 'eui=0011223344556677']] as const) {
    const r = await fetch(`${w.url}/admin/v1/parties`, { method: 'POST', headers: { 'content-type': type }, body });
    t.is(r.status, 415, type);
    t.deepEqual(await r.json(), { error: `the admin API takes application/json, not ${type}` });
  }
  t.deepEqual(await list('/parties'), before);
});

test.serial("a device's kind is whole and stays, and its supplier and network operator are registered in roles that fit its fuel", async (t) => {
  await call('POST', '/parties', { eui: '00000000000000A1', name: 'Supplier', roles: ['IS', 'GS'] });
  await call('POST', '/parties', { eui: '00000000000000A3', name: 'Electricity only', roles: ['IS'] });
  const device = (eui: string, kind: object) => ({ eui, supplier: '00000000000000A1', ...kind });
  const refused: [unknown, RegExp][] = [
    [device('00000000000000D1', { type: 'GSME', fuel: 'electricity' }), /^fuel: a GSME is gas$/],
    [device('00000000000000D1', { type: 'ESME', fuel: 'gas' }), /^fuel: an ESME is electricity$/],
    [device('00000000000000D1', { type: 'SMETS1', twin: true }), /^twin: only an ESME has a second element$/],
    [device('00000000000000D1', { type: 'ESME', smi_status: 'suspended' }), /^body: Unrecognized key: "smi_status"$/],
    [{ ...device('00000000000000D1', { type: 'ESME' }), supplier: '00000000000000A9' }, /^supplier: no party 00000000000000A9 is registered$/],
    [{ ...device('00000000000000D1', { type: 'GSME' }), supplier: '00000000000000A3' }, /^supplier: 00000000000000A3 acts as IS, not as a gas supplier \(GS\)$/],
    [device('00000000000000D1', { type: 'ESME', networkOperator: '00000000000000A3' }), /^networkOperator: 00000000000000A3 acts as IS, not as an electricity distributor \(ED\)$/],
  ];
  for (const [body, message] of refused) {
    const r = await call('POST', '/devices', body);
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(r.error, message);
  }
  t.is((await call('GET', '/devices/00000000000000D1')).status, 404, 'nothing was registered');

  t.is((await call('POST', '/devices', device('00000000000000D2', { type: 'GSME' }))).status, 201);
  t.like(await get('/devices/00000000000000D2'), { type: 'GSME', fuel: 'gas', twin: false, smiStatus: 'commissioned' });
  const asEsme = await call('POST', '/devices', device('00000000000000D2', { type: 'ESME' }));
  t.is(asEsme.status, 400);
  t.is(asEsme.error, "type: 00000000000000D2 is registered as a GSME, not an ESME: a device's kind does not change (a new meter has its own EUI)");
  t.like(await get('/devices/00000000000000D2'), { type: 'GSME', fuel: 'gas' });
  t.is((await call('POST', '/devices', device('00000000000000D2', { type: 'GSME', smiStatus: 'suspended' }))).status, 201, 'its status may change');
  t.like(await get('/devices/00000000000000D2'), { type: 'GSME', smiStatus: 'suspended' });
});

test.serial('an Authority instruction must name a registered supplier and a registered SC party', async (t) => {
  await call('POST', '/parties', { eui: '00000000000000A1', name: 'Supplier', roles: ['IS', 'GS'] });
  await call('POST', '/parties', { eui: '00000000000000A2', name: 'SRP', roles: ['SC'] });
  const solrEvents = await list('/solr-events');
  const instruction = (failedSupplier: string, contingencyParty: string) => ({ failedSupplier, contingencyParty, startsAt: '2026-01-01T00:00:00Z' });
  const instructions: [unknown, RegExp][] = [
    [instruction('00000000000000A9', '00000000000000A2'), /^failedSupplier: no party 00000000000000A9 is registered$/],
    [instruction('00000000000000A1', '00000000000000A1'), /^contingencyParty: 00000000000000A1 acts as IS, GS, not as SC/],
    [instruction('00000000000000A2', '00000000000000A2'), /^failedSupplier: 00000000000000A2 acts as SC, not as a supplier/],
    [{ ...instruction('00000000000000A1', '00000000000000A2'), endsAt: '2025-01-01T00:00:00Z' }, /^endsAt: /],
  ];
  for (const [body, message] of instructions) {
    const r = await call('POST', '/solr-events', body);
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(r.error, message);
  }
  t.deepEqual(await list('/solr-events'), solrEvents, 'no instruction was recorded');
  t.is((await fetch(`${w.url}/admin/v1/solr-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(instruction('00000000000000A1', '00000000000000A2')) })).status, 201);
  t.is((await list('/solr-events')).length, solrEvents.length + 1, 'the good instruction was recorded');
});

test.serial('an instruction ends now, or at a later time that brings its end forward; a bad id, body or time changes nothing', async (t) => {
  await call('POST', '/parties', { eui: '00000000000000A1', name: 'Supplier', roles: ['IS', 'GS'] });
  await call('POST', '/parties', { eui: '00000000000000A2', name: 'SRP', roles: ['SC'] });
  const made = await fetch(`${w.url}/admin/v1/solr-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ failedSupplier: '00000000000000A1', contingencyParty: '00000000000000A2', startsAt: '2026-01-01T00:00:00Z' }),
  });
  const { id } = (await made.json()) as { id: number };
  const endsAt = async () => (await list('/solr-events')).find((e) => (e as { id: number }).id === id) as { endsAt: string | null };
  for (const [path, body, status, message] of [
    ['0x1', {}, 400, /^id: "0x1" is not an event id/],
    [`${id}.0`, {}, 400, /^id: /],
    ['99999', {}, 404, /^no SoLR event 99999$/],
    [`${id}`, { endAt: '2026-01-02T00:00:00Z' }, 400, /^body: Unrecognized key: "endAt"$/],
    [`${id}`, { endsAt: '2025-12-31T00:00:00Z' }, 400, /^endsAt: 2025-12-31T00:00:00.000Z has passed/],
  ] as const) {
    const r = await call('POST', `/solr-events/${path}/end`, body);
    t.is(r.status, status, `${path} ${JSON.stringify(body)}`);
    t.regex(r.error, message);
  }
  t.is((await endsAt()).endsAt, null, 'nothing ended it');
  t.is((await call('POST', `/solr-events/${id}/end`, { endsAt: '2026-01-02T00:00:00Z' })).status, 200);
  t.is((await endsAt()).endsAt, '2026-01-02T00:00:00.000Z', 'ends when asked, not now');
  const later = await call('POST', `/solr-events/${id}/end`, { endsAt: '2026-01-03T00:00:00Z' });
  t.is(later.status, 400);
  t.regex(later.error, /already ends at 2026-01-02T00:00:00.000Z; an end can only be brought forward/);
  t.is((await call('POST', `/solr-events/${id}/end`)).status, 200);
  t.is((await endsAt()).endsAt, '2026-01-01T00:00:00.000Z', 'no body: ends now');
});

test.serial('an instruction withdrawn before it starts never takes effect: its supplier is not declared failed when the start passes', async (t) => {
  await call('POST', '/parties', { eui: '00000000000000B1', name: 'Supplier, not failing after all', roles: ['IS', 'GS'] });
  await call('POST', '/parties', { eui: '00000000000000B2', name: 'SRP', roles: ['SC'] });
  const { id } = await w.admin.solr({ failedSupplier: '00000000000000B1', contingencyParty: '00000000000000B2', startsAt: '2026-01-05T00:00:00Z' });
  t.is(((await w.admin.endSolr(id)) as { endsAt: string }).endsAt, '2026-01-05T00:00:00.000Z', 'it ends as it would have started');
  const solr = w.dcc.service.solr;
  t.false(solr.hasFailed('00000000000000B1' as never, new Date('2026-01-10T00:00:00Z')));
  t.deepEqual(solr.activeFor('00000000000000B2' as never, new Date('2026-01-10T00:00:00Z')), []);
});

test.serial('what an ADT file, an instruction or a role change names must exist and fit: else 400, and nothing changes', async (t) => {
  await call('POST', '/parties', { eui: '00000000000000A1', name: 'Supplier', roles: ['IS', 'GS'] });
  await call('POST', '/parties', { eui: '00000000000000A2', name: 'SRP', roles: ['SC'] });
  await call('POST', '/parties', { eui: '00000000000000A3', name: 'Networks', roles: ['ED', 'GT'] });
  await call('POST', '/parties', { eui: '00000000000000A4', name: 'Other Supplier', roles: ['IS', 'GS'] });
  await call('POST', '/devices', { eui: '000000000000AD01', type: 'GSME', supplier: '00000000000000A1' });
  await call('POST', '/devices', { eui: '000000000000AD02', type: 'ESME', supplier: '00000000000000A4' });
  await call('POST', '/parties', { eui: '00000000000000A5', name: 'Supplier and Distributor', roles: ['IS', 'ED'] });
  await call('POST', '/devices', { eui: '000000000000AD03', type: 'ESME', supplier: '00000000000000A5', networkOperator: '00000000000000A5' });
  await call('POST', '/parties/00000000000000A2/officers', { id: 'sro', kind: 'SRO', name: 'SRO' });
  const before = { parties: await list('/parties'), events: await list('/solr-events') };
  const adt = (supplier: string, srv = '1.6') => ({ submittedBy: 'sro', supplier, thresholds: [{ srv, warning: 1, quarantine: 2, periodSeconds: 60 }] });
  const instruction = (devices: string[]) => ({ failedSupplier: '00000000000000A1', contingencyParty: '00000000000000A2', startsAt: '2026-01-01T00:00:00Z', devices });
  for (const [path, body, message] of [
    ['/parties/00000000000000A2/adt', adt('00000000000000EE'), /^supplier: no party 00000000000000EE is registered$/],
    ['/parties/00000000000000A2/adt', adt('00000000000000A3'), /^supplier: 00000000000000A3 acts as ED, GT, not as a supplier/],
    ['/parties/00000000000000A2/adt', adt('00000000000000A1', '9.9.9'), /^thresholds\.0\.srv: 9\.9\.9 is not a Service Reference Variant this DCC knows$/],
    ['/parties/00000000000000A2/adt', { submittedBy: 'sro', thresholds: [{ srv: '1.6', warning: 1, quarantine: 2, periodSeconds: 60 }] }, /^supplier: an ADT file of a SoLR Contingency party names the supplier/],
    ['/solr-events', instruction(['00000000000000FF']), /^devices\.0: no device 00000000000000FF is registered$/],
    ['/solr-events', instruction(['000000000000AD02']), /^devices\.0: device 000000000000AD02 is registered to 00000000000000A4, not to the failed supplier$/],
    ['/solr-events', instruction(['000000000000AD01', '000000000000AD01']), /^devices\.1: device 000000000000AD01 is listed twice$/],
    ['/parties', { eui: '00000000000000A1', roles: ['IS'] }, /^roles: 00000000000000A1 acts as IS, not as a gas supplier \(GS\), which device [0-9A-F]{16} needs \(its supplier\)$/],
    ['/parties', { eui: '00000000000000A5', roles: ['IS'] }, /^roles: 00000000000000A5 acts as IS, not as an electricity distributor \(ED\), which device 000000000000AD03 needs \(its network operator\)$/],
  ] as const) {
    const r = await call('POST', path, body);
    t.is(r.status, 400, `${path} ${JSON.stringify(body)}`);
    t.regex(r.error, message);
  }
  t.deepEqual(await list('/parties'), before.parties);
  t.deepEqual(await list('/solr-events'), before.events);
  t.is((await call('POST', '/parties/00000000000000A2/adt', adt('00000000000000A1'))).status, 201, 'a good file is taken');
});

test.serial('a party or certificate that does not exist gets 404; a certificate SMKI cannot issue as asked, 400', async (t) => {
  await call('POST', '/parties', { eui: '00000000000000A1', name: 'Supplier', roles: ['IS', 'GS'] });
  const parties = await list('/parties');
  const unknown: [string, unknown, number, RegExp][] = [
    ['/parties/0011223344556699/certificates', { product: 'xml-signing' }, 404, /^no party 0011223344556699/],
    ['/revocations', { serial: '12345' }, 404, /^no certificate 12345/],
    // A party holds Organisation and XML Signing certificates; Device ones come with provisioning.
    ['/parties/00000000000000A1/certificates', { product: 'device-ds' }, 400, /^product: .*organisation-ds.*organisation-ka.*xml-signing/],
    ['/parties/00000000000000A1/certificates', { product: 'device-ka' }, 400, /^product: .*organisation-ds.*organisation-ka.*xml-signing/],
  ];
  for (const [path, body, status, message] of unknown) {
    const r = await call('POST', path, body);
    t.is(r.status, status, `${path} ${JSON.stringify(body)}`);
    t.regex(r.error, message, path);
  }
  t.deepEqual(await list('/parties'), parties);
});

test.serial("the DCC's own EUI (its ACB's too) is not a party's: registering it gets 400 and changes nothing", async (t) => {
  const parties = await list('/parties');
  const dcc = (await w.admin.identity()).eui;
  const r = await call('POST', '/parties', { eui: dcc, name: 'Impostor', roles: ['IS'] });
  t.is(r.status, 400);
  t.regex(r.error, /is the DCC's own EUI/);
  t.deepEqual(await list('/parties'), parties);
  t.is((await call('POST', `/parties/${dcc}/certificates`, { product: 'organisation-ds' })).status, 404);
});

test('a pending revocation brought forward to now is not delayed; one ordered for later is', async (t) => {
  const own = await startTestDcc(unreachableDevices(), { persistent: false, extra: { start: new Date('2026-01-01T00:00:00Z'), freezeClock: true } });
  t.teardown(() => own.close());
  const eui = '00000000000000C2';
  await own.admin.party({ eui, name: 'Delayed then now', roles: ['IS'] });
  const cert = await own.admin.certificate(eui, 'xml-signing');
  const later = await own.admin.revoke(cert.serial, { effectiveAt: '2026-01-10T00:00:00Z', orderedBy: 'PMA' });
  t.true(later.delayed);
  await own.admin.clock({ set: '2026-01-02T00:00:00Z' });
  const now = await own.admin.revoke(cert.serial);
  t.is(now.effectiveAt, '2026-01-02T00:00:00.000Z');
  t.false(now.delayed);
});

test.serial('audit and outbox filters: empty, repeated, misspelt or malformed ones get 400; good ones filter', async (t) => {
  const refused: [string, string][] = [
    ['/requests?requestId=a&requestId=b', 'requestId: given more than once'],
    ['/requests?requestId=', 'requestId: empty'],
    ['/requests?user=', 'user: empty'],
    ['/requests?user=zz', 'user: not an EUI-64'],
    ['/requests?reqestId=x', 'query: Unrecognized key: "reqestId"'],
    ['/requests?requestId=none-such', 'requestId: RequestID "none-such" is not HH-..-HH:HH-..-HH:counter'],
    ['/deliveries?recipient=0011223344556677&recipient=x', 'recipient: given more than once'],
    ['/deliveries?recipient=%00', 'recipient: not an EUI-64'],
    ['/requests?limit=0', 'limit: from 1 to 10000'],
    ['/requests?limit=20000', 'limit: from 1 to 10000'],
    ['/deliveries?limit=ten', 'limit: a number of rows'],
    ['/requests?afterId=-1', 'afterId: a row id'],
  ];
  for (const [path, message] of refused) {
    const r = await call('GET', path);
    t.is(r.status, 400, path);
    t.true(r.error.startsWith(message), `${path}: ${r.error}`);
  }
  t.deepEqual(await w.admin.requests({ requestId: '00-11-22-33-44-55-66-77:00-11-22-33-44-55-66-78:1', user: '00-11-22-33-44-55-66-77' }), []);
  // The audit keeps RequestIDs with upper-case EUIs; one written in lower case finds its request all the same.
  const id = '90-B3-D5-1F-30-01-00-0A:00-DB-00-00-00-00-00-AA:7';
  w.dcc.service.options.db
    .prepare('INSERT INTO requests (request_id, user, srv, cv, target, url, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(id, '90B3D51F3001000A', '1.6', 1, '00DB0000000000AA', 'serviceS', '2026-01-01T00:00:00.000Z');
  t.deepEqual((await w.admin.requests({ requestId: id.toLowerCase() })).map((r) => r.requestId), [id]);
  t.deepEqual(await w.admin.deliveries('0011223344556677'), []);

  // A long audit log is read in pages: the rows after the last id seen, at most `limit` at a time.
  const insert = w.dcc.service.options.db.prepare('INSERT INTO requests (request_id, user, srv, cv, target, url, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (let c = 8; c < 13; c++) insert.run(id.replace(/:7$/, `:${c}`), '90B3D51F3001000A', '1.6', 1, '00DB0000000000AA', 'serviceS', '2026-01-01T00:00:00.000Z');
  const pages: string[][] = [];
  for (let after: number | undefined; ; ) {
    const page = await list(`/requests?user=90B3D51F3001000A&limit=2${after === undefined ? '' : `&afterId=${after}`}`) as { id: number; requestId: string }[];
    if (page.length === 0) break;
    pages.push(page.map((r) => r.requestId.replace(/.*:/, '')));
    after = page.at(-1)!.id;
  }
  t.deepEqual(pages, [['7', '8'], ['9', '10'], ['11', '12']]);
  t.deepEqual(await list('/deliveries?limit=1&afterId=999999'), []);
});

test('a store written before kinds were checked (a GSME held as electricity) reads and re-registers as gas', (t) => {
  const db = openStore(null);
  db.prepare("INSERT INTO devices (eui, type, variant, supplier, smi_status) VALUES ('00000000000000D9', 'GSME', ?, '00000000000000A1', 'commissioned')").run(
    JSON.stringify({ twin: false, fuel: 'electricity' }),
  );
  const registry = new Registry(db);
  t.is(registry.device('00000000000000D9' as Eui)?.fuel, 'gas');
  t.notThrows(() => registry.putDevice({ eui: '00000000000000D9', type: 'GSME', supplier: '00000000000000A1', smiStatus: 'suspended' }));
  t.like(db.prepare("SELECT variant, smi_status FROM devices WHERE eui = '00000000000000D9'").get(), { variant: '{"twin":false,"fuel":"gas"}', smi_status: 'suspended' });
  t.throws(() => registry.putDevice({ eui: '00000000000000D9', type: 'SMETS1', fuel: 'gas', supplier: '00000000000000A1' }), { message: /registered as a GSME, not a SMETS1 gas meter/ });
  db.close();
});

test.serial('a registered party POSTed again changes only what the body names: a failed supplier keeps its status and SRP', async (t) => {
  const failing = '00000000000000B1';
  t.is((await call('POST', '/parties', { eui: '00000000000000B2', name: 'SRP', roles: ['SC'] })).status, 201);
  t.is((await call('POST', '/parties', { eui: failing, name: 'Failing', roles: ['IS'], endpoint: 'http://a.invalid/duis', srp: '00000000000000B2', status: 'failed' })).status, 201);
  t.is((await call('POST', '/parties', { eui: failing, endpoint: 'http://b.invalid/duis' })).status, 201);
  t.like(await get(`/parties/${failing}`), { eui: failing, name: 'Failing', roles: ['IS'], endpoint: 'http://b.invalid/duis', srp: '00000000000000B2', status: 'failed' });
  t.is((await call('POST', '/parties', { eui: failing, srp: null })).status, 201);
  t.like(await get(`/parties/${failing}`), { srp: null, status: 'failed', endpoint: 'http://b.invalid/duis' }, 'null clears the SRP alone');

  const before = await list('/parties');
  const refused: [unknown, RegExp][] = [
    [{ eui: '00000000000000B9', endpoint: 'http://c.invalid/duis' }, /^name: /], // a new party needs its name and roles
    [{ eui: failing, roles: [] }, /^roles: /],
    [{ eui: failing, statsu: 'active' }, /^body: Unrecognized key: "statsu"$/],
    // A mistyped SRP: its alerts would find no route once the supplier fails (BR7).
    [{ eui: failing, srp: '00000000000000B3' }, /^srp: no party 00000000000000B3 is registered \(register the Shared Resource Provider first\)$/],
    [{ eui: '00000000000000B8', name: 'New', roles: ['IS'], srp: '00000000000000B3' }, /^srp: no party 00000000000000B3 is registered/],
  ];
  for (const [body, message] of refused) {
    const r = await call('POST', '/parties', body);
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(r.error, message);
  }
  t.deepEqual(await list('/parties'), before, 'nothing changed');
});

test('re-posting a hosted device updates its registration and keeps its meter (state, counters and all); initialState only applies to a new one', async (t) => {
  const { EmulatedPool } = await import('../../harness/pools/emulated.ts');
  const { AdminError } = await import('../../harness/admin-client.ts');
  const pool = new EmulatedPool({ defaultInitial: { paymentMode: 'prepayment' } });
  const d = await startTestDcc(pool.port, { provisioner: pool.provisioner, persistent: false });
  t.teardown(async () => {
    await d.close();
    await pool.close();
  });
  const supplier = '90B3D51F30010001' as Eui;
  const esme = '00DB0000000000A1' as Eui;
  const other = '00DB0000000000A2' as Eui;
  await d.admin.party({ eui: supplier, name: 'Supplier', roles: ['IS', 'GS'] });
  await d.admin.device({ eui: esme, type: 'ESME', supplier, initialState: { paymentMode: 'prepayment', meterBalance: 1234 } });
  await d.admin.device({ eui: other, type: 'ESME', supplier });
  t.like(pool.port.state(esme), { paymentMode: 'prepayment', meterBalance: 1234 });
  t.like(pool.port.state(other), { paymentMode: 'prepayment' }, "without initialState the host's default applies");
  await d.admin.device({ eui: esme, type: 'ESME', supplier, smiStatus: 'suspended' });
  t.like(pool.port.state(esme), { paymentMode: 'prepayment', meterBalance: 1234 });
  const e = await t.throwsAsync(d.admin.device({ eui: esme, type: 'ESME', supplier, initialState: { paymentMode: 'credit' } }), { instanceOf: AdminError });
  t.is(e?.status, 400);
  t.regex(e?.message ?? '', /initialState: .* already registered/);
  t.like(pool.port.state(esme), { paymentMode: 'prepayment', meterBalance: 1234 });
  const devices = (await (await fetch(`${d.url}/admin/v1/devices`)).json()) as { eui: string; smiStatus: string }[];
  t.is(devices.find((x) => x.eui === esme)?.smiStatus, 'suspended', 'the refused re-registration changed nothing');
});

test.serial('a revocation of a certificate already revoked, or dated in the past, gets 400 saying so, not 500', async (t) => {
  const eui = '00000000000000C1';
  t.is((await call('POST', '/parties', { eui, name: 'Revoked twice', roles: ['IS'] })).status, 201);
  const cert = await w.admin.certificate(eui, 'xml-signing');
  t.is((await call('POST', '/revocations', { serial: cert.serial })).status, 201);
  const again = await call('POST', '/revocations', { serial: cert.serial });
  t.is(again.status, 400);
  t.regex(again.error, /already revoked/);
  const other = await w.admin.certificate(eui, 'xml-signing');
  const past = await call('POST', '/revocations', { serial: other.serial, effectiveAt: '2025-01-01T00:00:00Z' });
  t.is(past.status, 400);
  t.regex(past.error, /cannot backdate a revocation/);
});

test('a meter provisioned after its supplier replaced a revoked Digital Signing certificate trusts the replacement, not the revoked key', async (t) => {
  const { createDcc } = await import('../../emulator/bootstrap.ts');
  const given: { supplier: { ds: import('node:crypto').KeyObject | null } }[] = [];
  const dcc = await createDcc({ stateDir: null, devices: unreachableDevices(), start: new Date('2026-01-01T00:00:00Z'), freezeClock: true, provisioner: { provision: async (_r, anchors) => (given.push(anchors), null) } });
  t.teardown(() => dcc.close());
  const supplier = '90B3D51F300100C1' as Eui;
  dcc.service.putParty({ eui: supplier, name: 'Supplier', roles: ['IS'] });
  const first = await dcc.admin.issuePartyCertificate(supplier, 'organisation-ds');
  dcc.clock.set(new Date('2026-02-01T00:00:00Z'));
  dcc.admin.revoke(first.certificate.serial, undefined, undefined, undefined);
  const replacement = await dcc.admin.issuePartyCertificate(supplier, 'organisation-ds');
  await dcc.admin.registerDevice({ eui: '00DB0000000000C1', type: 'ESME', supplier });
  t.true(given[0]?.supplier.ds?.equals(replacement.certificate.publicKey), 'the valid key, not the revoked one');
  // When every key of the supplier is revoked (it failed), its meters still trust its newest: the SC role's
  // Pre-Commands are signed with it.
  dcc.admin.revoke(replacement.certificate.serial, undefined, undefined, undefined);
  await dcc.admin.registerDevice({ eui: '00DB0000000000C2', type: 'ESME', supplier });
  t.true(given[1]?.supplier.ds?.equals(replacement.certificate.publicKey));
});

test('an immediate revocation on a running clock is never reported delayed, however the clock ticks while it is made', async (t) => {
  const { createDcc } = await import('../../emulator/bootstrap.ts');
  const dcc = await createDcc({ stateDir: null, devices: unreachableDevices() });
  t.teardown(() => dcc.close());
  const eui = '90B3D51F300100C3' as Eui;
  dcc.service.putParty({ eui, name: 'Supplier', roles: ['IS'] });
  const issued = await dcc.admin.issuePartyCertificate(eui, 'xml-signing');
  // Every reading of the time moves it on a millisecond, as a busy machine may between two readings.
  const realNow = Date.now;
  let tick = realNow();
  Date.now = () => ++tick;
  try {
    const r = dcc.admin.revoke(issued.certificate.serial, undefined, undefined, undefined);
    t.false(r.delayed);
    t.deepEqual(r.effectiveAt, r.requestedAt);
  } finally {
    Date.now = realNow;
  }
});

test('SMKI issues from the earliest time the clock may be set to, certificates its own chain accepts; before its CAs are valid it issues none', async (t) => {
  const { createDcc } = await import('../../emulator/bootstrap.ts');
  const dcc = await createDcc({ stateDir: null, devices: unreachableDevices(), start: new Date('2000-01-01T00:00:00Z'), freezeClock: true });
  t.teardown(() => dcc.close());
  const party = '90B3D51F300100C9' as Eui;
  dcc.service.putParty({ eui: party, name: 'Early', roles: ['IS'] });
  const xml = await dcc.admin.issuePartyCertificate(party, 'xml-signing');
  t.like(dcc.smki.verify(xml.certificate, dcc.clock.now()), { ok: true });
  // A hierarchy made later than the clock (an older store's, or another's) issues nothing then, and says why.
  const { createSmkiHierarchy } = await import('../../protocol/smki/hierarchy.ts');
  const { SmkiService } = await import('../../protocol/smki/smki-service.ts');
  const smki = await SmkiService.create({ clock: () => new Date('2010-06-01T00:00:00Z'), hierarchy: await createSmkiHierarchy({ at: new Date('2015-01-01T00:00:00Z'), seed: 'early' }) });
  await t.throwsAsync(smki.issue({ requester: { eui: party, role: 'IS' }, product: 'xml-signing' }), { message: /^SMKI issues nothing at 2010-06-01T00:00:00.000Z: its organisation CA is valid from 2015-01-01T00:00:00.000Z to / });
});

test.serial('devices read in pages in EUI order: at most `limit` after the EUI given, however it is written', async (t) => {
  const own = await startTestDcc(unreachableDevices(), { persistent: false });
  t.teardown(() => own.close());
  const supplier = '00000000000000D1' as Eui;
  await own.admin.party({ eui: supplier, name: 'Supplier', roles: ['IS'] });
  const euis = ['00DB0000000000D3', '00DB0000000000D1', '00DB0000000000D2'] as Eui[];
  for (const eui of euis) await own.admin.device({ eui, type: 'ESME', supplier });
  const page = async (query: string) => ((await (await fetch(`${own.url}/admin/v1/devices${query}`)).json()) as { eui: string }[]).map((d) => d.eui);
  t.deepEqual(await page(''), ['00DB0000000000D1', '00DB0000000000D2', '00DB0000000000D3']);
  t.deepEqual(await page('?limit=2'), ['00DB0000000000D1', '00DB0000000000D2']);
  t.deepEqual(await page('?after=00-db-00-00-00-00-00-d2&limit=2'), ['00DB0000000000D3']);
  t.deepEqual(await page('?after=00DB0000000000D3'), []);
  for (const [query, message] of [['?limit=0', 'limit: from 1 to 10000'], ['?after=', 'after: empty'], ['?after=zz', 'after: not an EUI-64'], ['?afterId=1', 'query: Unrecognized key: "afterId"']]) {
    const r = await fetch(`${own.url}/admin/v1/devices${query}`);
    t.is(r.status, 400, query);
    t.true(((await r.json()) as { error: string }).error.startsWith(message!), query);
  }
});

test.serial('a registration whose write SQLite lost while its meter was being provisioned gets 500, not 201, and is not there', async (t) => {
  // The provisioner stands in for a hosted meter that takes a while to set up; SQLite loses the open group
  // meanwhile (a full disk), after the registration's write joined it.
  let lose = (): void => {};
  const provisioner = {
    provision: async () => {
      lose();
      await new Promise((r) => setTimeout(r, 20));
      return null;
    },
  };
  const own = await startTestDcc(unreachableDevices(), { persistent: false, provisioner });
  t.teardown(() => own.close());
  const { service } = own.dcc;
  const supplier = '00000000000000F1' as Eui;
  await own.admin.party({ eui: supplier, name: 'Supplier', roles: ['GS'] });
  // Another write in the same turn (a User's request, say) has the group open when the registration writes.
  const putDevice = service.registry.putParsedDevice.bind(service.registry);
  service.registry.putParsedDevice = (d) => (service.putParty({ eui: '00000000000000F2', name: 'Other', roles: ['IS'] }), putDevice(d));
  lose = () => service.options.db.exec('ROLLBACK'); // what SQLite does on its own after a full disk or an I/O error
  const r = await fetch(`${own.url}/admin/v1/devices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ eui: '00DB0000000000F1', type: 'SMETS1', fuel: 'gas', supplier }),
  });
  const body = (await r.json()) as { error?: string };
  t.is(r.status, 500, JSON.stringify(body));
  t.regex(body.error ?? '', /could not commit/);
  t.is(service.registry.device('00DB0000000000F1' as Eui), undefined, 'the registration answered as failed is not there');
});

test('an instruction naming 20,000 devices is taken (the admin API has a limit of its own, not the DUIS one); beyond its limit the 413 names it', async (t) => {
  const w = await startTestDcc(unreachableDevices(), { persistent: false, extra: { start: new Date('2026-01-01T00:00:00Z'), freezeClock: true, http: { adminBodyLimit: 1024 * 1024 } } });
  t.teardown(() => w.close());
  const supplier = '90B3D51F30010001';
  const sc = '90B3D51F30010002';
  await w.admin.party({ eui: supplier, name: 'Failing', roles: ['IS'] });
  await w.admin.party({ eui: sc, name: 'Contingency', roles: ['SC'] });
  const devices = Array.from({ length: 20_000 }, (_, i) => `00DB${i.toString(16).toUpperCase().padStart(12, '0')}`);
  w.dcc.service.write(() => {
    for (const eui of devices) w.dcc.service.registry.putDevice({ eui: eui as Eui, type: 'ESME', supplier: supplier as Eui });
  });
  await w.dcc.service.durable();
  const post = (body: string) => fetch(`${w.url}/admin/v1/solr-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const taken = await post(JSON.stringify({ failedSupplier: supplier, contingencyParty: sc, devices, startsAt: '2026-01-01T00:00:00Z' }));
  t.is(taken.status, 201, await taken.text());
  const tooLarge = await post(JSON.stringify({ failedSupplier: supplier, contingencyParty: sc, devices: [...devices, ...devices, ...devices], startsAt: '2026-01-01T00:00:00Z' }));
  t.is(tooLarge.status, 413);
  t.deepEqual(await tooLarge.json(), { error: 'the request body is larger than this DCC takes on the admin API (1048576 octets)' });
});
