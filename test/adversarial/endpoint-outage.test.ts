/**
 * A User's endpoint down for a long time (CI: seconds with the outbox backoff short; nightly: minutes): its
 * responses and alerts wait in the DCC's durable outbox, retried with backoff, and are all delivered once it is
 * back, in order and exactly once; another User's deliveries go on meanwhile, unblocked.
 */
import test from 'ava';
import { formatDateTime, type RequestBody } from '../../protocol/duis/index.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { byDeviceAlert, byRequestCounter, UserEndpoint } from '../../harness/agents/endpoint.ts';
import type { UserAgent } from '../../harness/agents/user-agent.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { startTestDcc } from '../helpers/dcc.ts';
import { LEVEL, sized } from '../helpers/level.ts';

const OUTAGE_MS = sized('SMETS_HIL_OUTAGE_MS', 3_000, 180_000);
const REQUESTS = sized('SMETS_HIL_OUTAGE_REQUESTS', 6, 30);
const MAX_BACKOFF_MS = LEVEL === 'nightly' ? 20_000 : 300;

const A = parseEui('90B3D51F300100A1');
const B = parseEui('90B3D51F300100B1');
const meters = (prefix: string) => Array.from({ length: REQUESTS + 1 }, (_, i) => parseEui(`00DB0000${prefix}${i.toString(16).toUpperCase().padStart(6, '0')}`));
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

test(`endpoint down for ${OUTAGE_MS / 1000} s: every response and alert delivered once it is back, in order, once each; the other User is not held up`, async (t) => {
  const pool = new EmulatedPool();
  const dcc = await startTestDcc(pool.port, { provisioner: pool.provisioner, persistent: false, extra: { outbox: { initialBackoffMs: 50, maxBackoffMs: MAX_BACKOFF_MS, timeoutMs: 5_000 } } });
  const endpoints = { a: new UserEndpoint(dcc.endpoint.dccVerifier), b: new UserEndpoint(dcc.endpoint.dccVerifier) };
  t.teardown(async () => {
    await dcc.close();
    await pool.close();
    await endpoints.a.close();
    await endpoints.b.close();
  });
  const admin = dcc.admin;
  const agents: Record<'a' | 'b', UserAgent> = {} as never;
  const fleet = { a: meters('A0'), b: meters('B0') };
  for (const [k, eui] of [['a', A], ['b', B]] as const) {
    await admin.party({ eui, name: `Supplier ${k}`, roles: ['IS'], endpoint: await endpoints[k].listen() });
    const ds = await admin.gbcsSigner(eui);
    await admin.certificate(eui, 'organisation-ka');
    for (const m of fleet[k]) await admin.device({ eui: m, type: 'ESME', supplier: eui, initialState: { paymentMode: 'prepayment' } });
    agents[k] = dcc.agent(eui, `supplier ${k}`, await admin.xmlSigner(eui), ds.privateKey);
  }
  const portA = Number(new URL(endpoints.a.url).port);

  // A's endpoint goes away: connections to it are refused.
  await endpoints.a.close();
  const outageStarted = Date.now();
  const sent: Record<'a' | 'b', bigint[]> = { a: [], b: [] };
  const send = async (k: 'a' | 'b', target: Eui, body: RequestBody = credit) => {
    const r = await agents[k].critical({ target, srv: '1.6', body });
    t.is(r.send?.response?.header.responseCode, 'I99', `${k}: accepted for dispatch`);
    sent[k].push(r.requestId.counter);
  };
  // A future-dated switch, so an alert (8F66) is queued for A too when it falls due.
  await send('a', fleet.a[REQUESTS]!, { ...credit, executionDateTime: formatDateTime(new Date(dcc.dcc.clock.now().getTime() + 60_000)) });
  for (let i = 0; i < REQUESTS; i++) {
    await send('a', fleet.a[i]!);
    await send('b', fleet.b[i]!);
    // Spread the traffic over the outage.
    await new Promise((r) => setTimeout(r, OUTAGE_MS / (REQUESTS + 2)));
  }
  dcc.dcc.clock.advance(120_000);
  pool.advance(120_000);

  // B hears about every one of its requests while A is still down.
  for (const c of sent.b) await endpoints.b.waitFor(byRequestCounter(c), 60_000, `B's response ${c}`);
  const bDoneBeforeA = Date.now();
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStarted))));
  const waiting = (await admin.deliveries(A)).filter((d) => !d.delivered);
  t.is(waiting.length, sent.a.length + 1, "A's responses and its alert are all waiting in the outbox");
  // One queue per endpoint, in order: its head is retried with backoff, the rest wait behind it.
  t.true(waiting[0]!.attempts >= 2 && waiting[0]!.lastError !== null, `the head of A's queue was retried and failed (${waiting[0]!.attempts} attempts: ${waiting[0]!.lastError})`);
  t.is(endpoints.a.deliveries.length, 0);

  // A comes back on the same address.
  await endpoints.a.listen(portA);
  const back = Date.now();
  for (const c of sent.a) await endpoints.a.waitFor(byRequestCounter(c), MAX_BACKOFF_MS * 3 + 60_000, `A's response ${c}`);
  await endpoints.a.waitFor(byDeviceAlert('8F66'), MAX_BACKOFF_MS * 3 + 60_000, "A's 8F66 alert");
  await dcc.dcc.service.settled();

  t.true(bDoneBeforeA < back, "B's deliveries did not wait for A's endpoint");
  const all = await admin.deliveries();
  t.true(all.every((d) => d.delivered), 'nothing is left undelivered or undeliverable');
  t.is(all.filter((d) => d.recipient === A).length, sent.a.length + 1);
  // Exactly once each, in the order the DCC queued them.
  const got = endpoints.a.deliveries.map((d) => d.xml);
  const queued = all.filter((d) => d.recipient === A).map((d) => (d as unknown as { body: string }).body);
  t.deepEqual(got, queued, 'A received each queued message once, in queue order');
  const audit = await admin.requests();
  t.true(audit.every((r) => r.outcome !== null), 'every request has its terminal outcome');
  for (const c of sent.a) {
    const d = endpoints.a.deliveries.find(byRequestCounter(c))!;
    t.is(d.response?.header.responseCode, 'I0');
  }
  t.log(`outage ${Math.round((back - outageStarted) / 1000)} s; A: ${sent.a.length} responses + 1 alert held, the head retried ${waiting[0]!.attempts} times during the outage; B: ${sent.b.length} delivered during the outage`);
});
