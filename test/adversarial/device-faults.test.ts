/**
 * Device faults under the mock DCC, on the memory link to emulated meters: a meter that answers late (after the
 * DCC's device timeout), answers twice, receives the command twice, answers garbage, answers with a damaged
 * frame, or whose link goes down as the command goes out or as the answer comes back.
 *
 * For each: a clear outcome (E21 when no answer came in time, E20 when the link failed), never a double
 * execution, exactly one terminal outcome per request in the audit log, and that outcome delivered to the User.
 * A late or second answer is ignored, not turned into a second outcome. (Serial-line noise is the serial link's
 * own test; this is the DCC side of the same faults.)
 */
import test, { type ExecutionContext } from 'ava';
import type { RequestBody } from '../../protocol/duis/index.ts';
import { decodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { verifyApdu } from '../../protocol/gbcs/security.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { byRequestCounter } from '../../harness/agents/endpoint.ts';
import type { UserAgent } from '../../harness/agents/user-agent.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { startTestDcc, type TestDcc } from '../helpers/dcc.ts';
import { garbage, linkOf } from '../helpers/link-faults.ts';

const SUPPLIER = parseEui('90B3D51F30010031');
const METERS = Array.from({ length: 4 }, (_, i) => parseEui(`00DB0000000E00${(i + 1).toString(16).toUpperCase().padStart(2, '0')}`));
const DEVICE_TIMEOUT_MS = 3_000;
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

interface World {
  t: TestDcc;
  pool: EmulatedPool;
  agent: UserAgent;
  link: ReturnType<typeof linkOf>;
}

async function world(t: ExecutionContext): Promise<World> {
  const pool = new EmulatedPool();
  const dcc = await startTestDcc(pool.port, { provisioner: pool.provisioner, persistent: false, extra: { deviceTimeoutMs: DEVICE_TIMEOUT_MS } });
  t.teardown(async () => {
    await dcc.close();
    await pool.close();
  });
  const a = dcc.admin;
  await a.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: dcc.endpoint.url });
  const ds = await a.gbcsSigner(SUPPLIER);
  await a.certificate(SUPPLIER, 'organisation-ka');
  for (const eui of METERS) await a.device({ eui, type: 'ESME', supplier: SUPPLIER, initialState: { paymentMode: 'prepayment' } });
  return { t: dcc, pool, agent: dcc.agent(SUPPLIER, 'supplier', await a.xmlSigner(SUPPLIER), ds.privateKey), link: linkOf(pool) };
}

/** A switch to Credit, acknowledged (I99), and its asynchronous outcome as delivered to the User. */
async function switchToCredit(t: ExecutionContext, w: World, eui: Eui): Promise<{ counter: bigint; delivered: string }> {
  const r = await w.agent.critical({ target: eui, srv: '1.6', body: credit });
  t.is(r.send?.response?.header.responseCode, 'I99', 'the DCC accepted the Command for dispatch');
  const d = await w.t.endpoint.waitFor(byRequestCounter(r.requestId.counter), 60_000, 'the outcome');
  return { counter: r.requestId.counter, delivered: d.response?.header.responseCode ?? `unverified: ${d.problem}` };
}

const executed = (w: World, eui: Eui) => (w.pool.snapshot(eui) as { eventLog: { event: string }[] }).eventLog.filter((e) => e.event === 'executed').length;
const securityCodes = (w: World, eui: Eui) => (w.pool.snapshot(eui) as { securityLog: { code: string }[] }).securityLog.map((e) => e.code);

/** Every request has one row per command variant, each with a terminal outcome, each outcome delivered once. */
async function accounted(t: ExecutionContext, w: World): Promise<void> {
  await w.t.dcc.service.settled();
  const audit = await w.t.admin.requests({ user: SUPPLIER });
  const keys = audit.map((r) => `${r.requestId}/${r.cv}`);
  t.is(new Set(keys).size, keys.length, 'one row per request and command variant');
  for (const r of audit) {
    t.truthy(r.outcome, `${r.requestId} (CV ${r.cv}) has a terminal outcome`);
    if (!r.dispatched) continue;
    const counter = BigInt(r.requestId.split(':')[2]!);
    const got = w.t.endpoint.deliveries.filter((d) => d.response?.header.requestId?.counter === counter && d.response.body.kind === 'ResponseMessage');
    t.is(got.length, 1, `${r.requestId}: its outcome delivered exactly once`);
    t.is(String(got[0]?.response?.header.responseCode), String(r.responseCode), `${r.requestId}: delivered as the audit records it`);
  }
}

/** Waits (bounded) until the transport has seen a frame it could not use: the late or extra one. */
async function transportSaw(w: World, what: 'ignored' | 'unrecognised', atLeast: number): Promise<number> {
  for (let i = 0; i < 200 && w.link.transport.stats[what] < atLeast; i++) await new Promise((r) => setTimeout(r, 50));
  return w.link.transport.stats[what];
}

test('a meter that answers after the device timeout: E21, executed once, the late answer ignored, no second outcome', async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'delay', direction: 'to-dcc', times: 1, delayMs: DEVICE_TIMEOUT_MS + 1_500 });
  const r = await switchToCredit(t, w, METERS[0]!);
  t.is(r.delivered, 'E21', 'no answer in time');
  t.true((await transportSaw(w, 'ignored', 1)) >= 1, 'the late answer arrived and was ignored');
  t.is(executed(w, METERS[0]!), 1, 'the meter executed it once (E21 means the outcome is unknown, not that nothing happened)');
  // The link is fine afterwards: the next command is answered.
  t.is((await switchToCredit(t, w, METERS[1]!)).delivered, 'I0');
  await accounted(t, w);
});

test('a meter that answers twice: I0 once, the duplicate ignored', async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'duplicate', direction: 'to-dcc', times: 1 });
  t.is((await switchToCredit(t, w, METERS[0]!)).delivered, 'I0');
  t.true((await transportSaw(w, 'ignored', 1)) >= 1, 'the second answer was ignored');
  t.is(executed(w, METERS[0]!), 1);
  await accounted(t, w);
});

test('a Command delivered twice to the meter: executed once, the copy refused as a replay (8F60), one outcome', async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'duplicate', direction: 'to-device', times: 1 });
  t.is((await switchToCredit(t, w, METERS[0]!)).delivered, 'I0');
  t.true((await transportSaw(w, 'ignored', 1)) >= 1, "the meter's refusal of the copy was ignored");
  t.is(executed(w, METERS[0]!), 1, 'executed once');
  t.true(securityCodes(w, METERS[0]!).includes('8F60'), 'the copy is in the Security Log as a replay');
  await accounted(t, w);
});

test('a meter that answers garbage: E21, nothing executed twice, the garbage counted as unrecognised', async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'corrupt', direction: 'to-dcc', times: 1, corrupt: garbage });
  t.is((await switchToCredit(t, w, METERS[0]!)).delivered, 'E21');
  t.true(w.link.transport.stats.unrecognised >= 1, 'the garbage was not taken for an answer');
  t.is(executed(w, METERS[0]!), 1);
  t.is((await switchToCredit(t, w, METERS[1]!)).delivered, 'I0', 'the next command is answered');
  await accounted(t, w);
});

test("a meter's answer damaged in its signature: passed on (I0) as GBCS end-to-end security has it, and the User's check of the meter's signature fails", async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'corrupt', direction: 'to-dcc', times: 1, corrupt: (f) => Uint8Array.from(f, (b, i) => (i === f.length - 1 ? b ^ 0x01 : b)) });
  const r = await w.agent.critical({ target: METERS[0]!, srv: '1.6', body: credit });
  const d = await w.t.endpoint.waitFor(byRequestCounter(r.requestId.counter), 60_000);
  t.is(d.response?.header.responseCode, 'I0');
  const body = d.response?.body;
  const payload = body?.kind === 'ResponseMessage' && body.content?.kind === 'GBCSPayload' ? body.content.gbcsPayload : null;
  const apdu = payload ? decodeGeneralSigning(payload) : null;
  if (!apdu?.ok) return t.fail('the damaged answer no longer decodes');
  const key = w.t.dcc.smki.find({ eui: METERS[0]!, usage: 'digitalSignature' }).find((e) => e.certificate.kind === 'device')?.certificate.publicKey;
  if (!key) return t.fail('no device certificate');
  t.false(verifyApdu(apdu.value, key), "the User sees the meter's signature fail");
  t.is(executed(w, METERS[0]!), 1);
  await accounted(t, w);
});

test('the link goes down as the Command goes out: E20, nothing executed; later Commands get E20 at once, each with one outcome', async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'disconnect', direction: 'to-device', times: 1 });
  t.is((await switchToCredit(t, w, METERS[0]!)).delivered, 'E20');
  t.is(executed(w, METERS[0]!), 0, 'the meter never got it');
  t.is((await switchToCredit(t, w, METERS[1]!)).delivered, 'E20', 'the link stays down: E20, not a hang');
  t.is(executed(w, METERS[1]!), 0);
  await accounted(t, w);
});

test('the link goes down as the answer comes back: E20, executed once', async (t) => {
  const w = await world(t);
  w.link.faults.add({ action: 'disconnect', direction: 'to-dcc', times: 1 });
  t.is((await switchToCredit(t, w, METERS[0]!)).delivered, 'E20');
  t.is(executed(w, METERS[0]!), 1, 'the meter executed it; the answer was lost with the link');
  await accounted(t, w);
});
