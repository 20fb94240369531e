/**
 * Durability: `dcc serve --state-dir` killed with SIGKILL in the middle of a batch of switches, then restarted.
 * Every request the DCC accepted has exactly one terminal outcome afterwards, every queued response is
 * delivered, and no meter applied a command twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseEui } from '../../protocol/smki/eui.ts';
import { DccAdminClient } from '../../harness/admin-client.ts';
import { fetchDccResolver } from '../../harness/agents/dcc-verifier.ts';
import { UserEndpoint } from '../../harness/agents/endpoint.ts';
import { CounterSource, UserAgent } from '../../harness/agents/user-agent.ts';
import { startDccProcess } from '../helpers/dcc-process.ts';

const SUPPLIER = parseEui('90B3D51F30010077');
const METERS = Array.from({ length: 12 }, (_, i) => parseEui(`00DB00000000${(0x7700 + i).toString(16).toUpperCase()}`));

interface MeterState {
  paymentMode: string;
  counters: Record<string, string>;
  eventLog: { event: string; counter?: string }[];
}

test('kill -9 mid-batch then restart: one terminal outcome per accepted request, every response delivered, no command applied twice', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'smets-hil-restart-'));
  const endpoint = new UserEndpoint(() => null);
  const callback = await endpoint.listen();
  let dcc = await startDccProcess(['--state-dir', stateDir, '--callback', callback]);
  t.teardown(async () => {
    await dcc.stop().catch(() => {});
    await endpoint.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  const admin = new DccAdminClient(dcc.url);
  endpoint.dccVerifier = await fetchDccResolver(dcc.url);
  await admin.party({ eui: SUPPLIER, name: 'Restart Energy', roles: ['IS'], endpoint: callback });
  const xml = await admin.xmlSigner(SUPPLIER);
  const ds = await admin.gbcsSigner(SUPPLIER);
  await admin.certificate(SUPPLIER, 'organisation-ka');
  for (const eui of METERS) await admin.device({ eui, type: 'ESME', supplier: SUPPLIER, initialState: { paymentMode: 'prepayment' } });
  const agent = new UserAgent({ eui: SUPPLIER, name: 'supplier', xml, gbcsSigner: ds.privateKey }, { dccUrl: dcc.url, counters: new CounterSource(), dccVerifier: endpoint.dccVerifier });

  // Fire the whole batch; kill the DCC as soon as a few switches have been acknowledged.
  let acknowledged = 0;
  let killed = false;
  const sends = METERS.map(async (eui) => {
    try {
      const r = await agent.critical({ target: eui, srv: '1.6', body: { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } } });
      if (r.send?.response?.header.responseCode === 'I99') acknowledged++;
    } catch {
      // The connection died with the DCC: that request may or may not have been accepted.
    }
    if (acknowledged >= 3 && !killed) {
      killed = true;
      await dcc.kill9();
    }
  });
  await Promise.all(sends);
  if (!killed) await dcc.kill9();
  t.true(acknowledged >= 3, `some switches were acknowledged before the kill (${acknowledged})`);

  dcc = await startDccProcess(['--state-dir', stateDir, '--callback', callback]);
  const after = new DccAdminClient(dcc.url);
  // Let the restarted DCC settle lost dispatches and drain its outbox.
  let pending = Infinity;
  for (let i = 0; i < 100 && pending > 0; i++) {
    pending = (await after.deliveries()).filter((d) => !d.delivered && !d.undeliverable).length;
    if (pending > 0) await new Promise((r) => setTimeout(r, 200));
  }
  t.is(pending, 0, 'every queued response was delivered');

  const audit = await after.requests({ user: SUPPLIER });
  const accepted = audit.filter((r) => r.cv === 5);
  t.true(accepted.length >= acknowledged, 'every acknowledged Signed Pre-Command is in the audit log');
  for (const r of audit) t.truthy(r.outcome, `request ${r.requestId} (CV ${r.cv}) has a terminal outcome`);
  t.log(`acknowledged before the kill: ${acknowledged}; CV 5 outcomes after restart: ${JSON.stringify(Object.fromEntries(['I0', 'E21', 'E20', 'E12', null].map((c) => [String(c), accepted.filter((r) => r.responseCode === c).length])))}`);
  const ids = accepted.map((r) => r.requestId);
  t.is(new Set(ids).size, ids.length, 'one CV 5 row (one terminal outcome) per RequestID');

  // Every dispatched request's outcome reached the User exactly as the audit says.
  for (const r of accepted.filter((x) => x.dispatched)) {
    const counter = BigInt(r.requestId.split(':')[2]!);
    const delivered = endpoint.deliveries.filter((d) => d.response?.header.requestId?.counter === counter && d.response.body.kind === 'ResponseMessage');
    t.true(delivered.length >= 1, `the outcome of ${r.requestId} was delivered`);
    t.true(delivered.every((d) => d.response!.header.responseCode === r.responseCode), `${r.requestId}: delivered ${delivered.map((d) => d.response!.header.responseCode)} = audit ${r.responseCode}`);
  }

  // No meter applied anything twice, and every meter the DCC says switched is in credit.
  for (const eui of METERS) {
    const state = (await after.deviceState(eui)).state as unknown as MeterState;
    const executed = state.eventLog.filter((e) => e.event === 'executed');
    t.true(executed.length <= 1, `${eui} executed ${executed.length} commands`);
    const row = accepted.find((r) => r.target === eui);
    if (row?.responseCode === 'I0') t.is(state.paymentMode, 'credit', `${eui}: the DCC reported success`);
    if (executed.length === 1) t.is(state.paymentMode, 'credit');
    if (!row) t.is(state.paymentMode, 'prepayment', `${eui}: never accepted, never switched`);
  }
});
