/**
 * kill -9 with everything in the air: complements test/emulator/dcc-restart.test.ts (a batch of switches killed
 * mid-flight) with a DCC whose outbox is full when it dies, holding outcomes of every kind.
 *
 * Before the kill, with the Users' endpoint refusing (503): SC switches to Credit (responses queued), an SC
 * request over its ADT quarantine threshold (quarantined, AD1 DCC alert queued), an SC switch to prepayment
 * (refused, E2), a CV 4 never followed by its CV 5 (transformed), a future-dated switch that falls due (8F66
 * device alert queued). Then a concurrent batch of switches, and kill -9 as soon as a few are acknowledged.
 *
 * After the restart: every request has exactly one terminal outcome per command variant, every message queued
 * before the kill is delivered (byte for byte), every dispatched request's outcome reaches the User as the audit
 * log records it, both alerts arrive, and no meter executed anything twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { formatDateTime, type RequestBody } from '../../protocol/duis/index.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { DccAdminClient, type DeliveryAudit } from '../../harness/admin-client.ts';
import { fetchDccResolver } from '../../harness/agents/dcc-verifier.ts';
import { byDccAlert, byDeviceAlert, UserEndpoint } from '../../harness/agents/endpoint.ts';
import { CounterSource, UserAgent } from '../../harness/agents/user-agent.ts';
import { type DccProcess, startDccProcess } from '../helpers/dcc-process.ts';

const FAILING = parseEui('90B3D51F30010091');
const HEALTHY = parseEui('90B3D51F30010092');
const SRP = parseEui('90B3D51F30050091');
const eui = (prefix: string, i: number) => parseEui(`00DB0000${prefix}${i.toString(16).toUpperCase().padStart(6, '0')}`);
const FAILING_METERS = Array.from({ length: 6 }, (_, i) => eui('F9', i));
const HEALTHY_METERS = Array.from({ length: 25 }, (_, i) => eui('E9', i));
const QUARANTINE = 3;

const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };
const prepay: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } };

type Delivery = DeliveryAudit & { body: string };

async function until<T>(what: string, probe: () => Promise<T | null>, maxMs = 90_000): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('kill -9 with a full outbox and outcomes of every kind: nothing accepted is lost, nothing runs twice', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'smets-hil-kill9-'));
  const endpoint = new UserEndpoint(() => null);
  const callback = await endpoint.listen();
  const serve = () => startDccProcess(['--state-dir', stateDir, '--callback', callback, '--device-timeout', '20000']);
  let dcc: DccProcess = await serve();
  t.teardown(async () => {
    await dcc.stop().catch(() => {});
    await endpoint.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  let admin = new DccAdminClient(dcc.url);
  endpoint.dccVerifier = await fetchDccResolver(dcc.url);
  // The Users' systems are down: everything the DCC sends them waits in its outbox.
  endpoint.behaviour = { kind: 'refuse', status: 503 };

  await admin.party({ eui: SRP, name: 'SRP (SoLR Contingency)', roles: ['SC'], endpoint: callback });
  await admin.party({ eui: FAILING, name: 'Failing Energy', roles: ['IS', 'GS'], endpoint: callback, srp: SRP });
  await admin.party({ eui: HEALTHY, name: 'Healthy Energy', roles: ['IS', 'GS'], endpoint: callback });
  const failingDs = await admin.gbcsSigner(FAILING);
  const healthyDs = await admin.gbcsSigner(HEALTHY);
  await admin.certificate(FAILING, 'organisation-ka');
  await admin.certificate(HEALTHY, 'organisation-ka');
  for (const m of FAILING_METERS) await admin.device({ eui: m, type: 'ESME', supplier: FAILING });
  for (const m of HEALTHY_METERS) await admin.device({ eui: m, type: 'ESME', supplier: HEALTHY });
  const now = Date.parse((await admin.now()).now);
  await admin.solr({ failedSupplier: FAILING, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString() });
  await admin.officer(SRP, { id: 'sro', kind: 'SRO', name: 'SRO' });
  await admin.adt(SRP, { submittedBy: 'sro', supplier: FAILING, thresholds: [{ srv: '1.6', warning: QUARANTINE - 1, quarantine: QUARANTINE, periodSeconds: 86_400 }] });
  const counters = new CounterSource();
  const agent = (url: string, who: Eui, xml: Awaited<ReturnType<DccAdminClient['xmlSigner']>>, key: import('node:crypto').KeyObject) =>
    new UserAgent({ eui: who, name: who, xml, gbcsSigner: key }, { dccUrl: url, counters, dccVerifier: endpoint.dccVerifier });
  const scXml = await admin.xmlSigner(SRP);
  const healthyXml = await admin.xmlSigner(HEALTHY);
  const sc = agent(dcc.url, SRP, scXml, failingDs.privateKey);
  const healthy = agent(dcc.url, HEALTHY, healthyXml, healthyDs.privateKey);

  // Outcomes of every kind, their messages queued.
  for (const m of FAILING_METERS.slice(0, QUARANTINE + 1)) await sc.critical({ target: m, srv: '1.6', body: credit });
  const refused = await sc.critical({ target: FAILING_METERS[QUARANTINE + 1]!, srv: '1.6', body: prepay });
  t.is(refused.send?.response?.header.responseCode, 'E2', 'an SC switch to prepayment is refused');
  const abandoned = await healthy.post('serviceT', healthy.request({ target: HEALTHY_METERS[1]!, srv: '1.6', cv: 4, body: credit }));
  t.is(abandoned.response?.header.responseCode, 'I0', 'a CV 4 whose CV 5 never comes');
  const dated = await healthy.critical({ target: HEALTHY_METERS[0]!, srv: '1.6', body: { ...credit, executionDateTime: formatDateTime(new Date(Date.parse((await admin.now()).now) + 60_000)) } });
  t.is(dated.send?.response?.header.responseCode, 'I99');
  await admin.clock({ advanceMs: 120_000 });
  const queued = await until('responses, an AD1 and an 8F66 alert queued', async () => {
    const d = (await admin.deliveries()) as Delivery[];
    const kinds = (k: string) => d.filter((x) => x.kind === k && !x.delivered).length;
    return kinds('response') >= QUARANTINE + 1 && kinds('dcc-alert') >= 1 && kinds('device-alert') >= 1 ? d.filter((x) => !x.delivered) : null;
  });

  // A batch in flight, and the kill.
  let acknowledged = 0;
  let killed = false;
  const batch = HEALTHY_METERS.slice(2).map(async (m) => {
    try {
      const r = await healthy.critical({ target: m, srv: '1.6', body: credit });
      if (r.send?.response?.header.responseCode === 'I99') acknowledged++;
    } catch {
      // The connection died with the DCC: that request may or may not have been accepted.
    }
    if (acknowledged >= 3 && !killed) {
      killed = true;
      await dcc.kill9();
    }
  });
  await Promise.all(batch);
  if (!killed) await dcc.kill9();

  dcc = await serve();
  admin = new DccAdminClient(dcc.url);
  endpoint.behaviour = { kind: 'accept' };
  const after = await until('the outbox to drain', async () => {
    const d = (await admin.deliveries()) as Delivery[];
    return d.every((x) => x.delivered || x.undeliverable) ? d : null;
  });

  // Nothing queued before the kill was lost: each is marked delivered and its exact bytes reached the User.
  const received = new Set(endpoint.deliveries.map((d) => d.xml));
  for (const q of queued) {
    t.true(after.find((d) => d.id === q.id)?.delivered, `queued message ${q.id} (${q.kind}) delivered after the restart`);
    t.true(received.has(q.body), `queued message ${q.id} (${q.kind}) reached the User byte for byte`);
  }
  t.false(after.some((d) => d.undeliverable), 'nothing undeliverable');
  await endpoint.waitFor(byDccAlert('AD1'), 1, 'the quarantine alert AD1');
  await endpoint.waitFor(byDeviceAlert('8F66'), 1, 'the future-dated execution alert 8F66');

  // One terminal outcome per request and command variant; each dispatched outcome delivered as recorded.
  const audit = await admin.requests();
  const keys = audit.map((r) => `${r.requestId}/${r.cv}`);
  t.is(new Set(keys).size, keys.length, 'one row per request and command variant');
  for (const r of audit) t.truthy(r.outcome, `${r.requestId} (CV ${r.cv}) has a terminal outcome`);
  const outcomes = new Map<string, number>();
  for (const r of audit) outcomes.set(`${r.outcome} ${r.responseCode ?? ''}`.trim(), (outcomes.get(`${r.outcome} ${r.responseCode ?? ''}`.trim()) ?? 0) + 1);
  for (const kind of ['refused E2', 'transformed I0', 'quarantined I99', 'device-responded I0']) t.true(outcomes.has(kind), `an outcome of kind ${kind}`);
  for (const r of audit.filter((x) => x.dispatched)) {
    const counter = BigInt(r.requestId.split(':')[2]!);
    const got = endpoint.deliveries.filter((d) => d.response?.header.requestId?.counter === counter && d.response.body.kind === 'ResponseMessage');
    t.true(got.length >= 1, `the outcome of ${r.requestId} was delivered`);
    t.true(got.every((d) => d.response!.header.responseCode === r.responseCode), `${r.requestId}: delivered ${got.map((d) => d.response!.header.responseCode)} = audit ${r.responseCode}`);
  }

  // No meter applied anything twice.
  for (const m of [...FAILING_METERS, ...HEALTHY_METERS]) {
    const state = (await admin.deviceState<{ eventLog: { event: string; counter?: string }[] }>(m)).state!;
    const runs = state.eventLog.filter((e) => e.event === 'executed').map((e) => e.counter);
    t.is(new Set(runs).size, runs.length, `${m}: no command executed twice`);
    t.true(runs.length <= 1, `${m}: at most the one command sent to it (${runs.length})`);
  }
  t.log(`queued before the kill: ${queued.length} (${[...new Set(queued.map((q) => q.kind))].join(', ')}); acknowledged in the batch: ${acknowledged}; outcomes after the restart: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}; deliveries after: ${after.length}, received ${endpoint.deliveries.length} (at least once)`);
});
