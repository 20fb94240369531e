/**
 * The DCC's side of a device call: whatever the port does (never answers, or answers while the store refuses
 * writes), each dispatched request gets its one terminal outcome and the User its response, in the schema
 * version the request was in, and the DCC can stop.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatRequestId, type RequestBody } from '../../protocol/duis/index.ts';
import { encodeReply } from '../../protocol/s1sp/frame.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import type { DevicePort, DeviceReply } from '../../emulator/ports.ts';
import { startTestDcc, type TestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { scratchDir } from '../helpers/scratch.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const METER = parseEui('00DB0000000000C1');
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

/** Registers the supplier and its SMETS1 meter on `d`; a Credit switch the supplier builds as it asks (CV 1), and its agent. */
async function supplierOf(d: TestDcc) {
  await d.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: d.endpoint.url });
  await d.admin.device({ eui: METER, type: 'SMETS1', fuel: 'electricity', supplier: SUPPLIER });
  const supplier = d.agent(SUPPLIER, 'supplier', await d.admin.xmlSigner(SUPPLIER));
  return { supplier, request: supplier.request({ target: METER, srv: '1.6', cv: 1, body: credit }) };
}

test('a device port that never settles: the DCC answers the request E21 itself, after its own deadline, and stops', async (t) => {
  t.timeout(60_000);
  const d = await startTestDcc({ ...unreachableDevices(), sendSmets1: () => new Promise<DeviceReply>(() => {}) }, { extra: { deviceTimeoutMs: 200 } });
  const { supplier, request } = await supplierOf(d);
  t.is((await supplier.post('serviceS', request)).response?.header.responseCode, 'I99');
  await d.dcc.service.settled();
  const [row] = d.dcc.service.requests({ requestId: formatRequestId(request.header.requestId) });
  t.like(row, { outcome: 'no-response', responseCode: 'E21' });
  t.regex(row?.reason ?? '', /the device port gave no answer within 1200 ms/);
  t.deepEqual(d.endpoint.deliveries.map((x) => x.response?.header.responseCode), ['E21']);
  await d.close();
});

test("a device's answer whose record SQLite refuses at the statement (a full disk rolling the transaction back) is recorded once the store takes writes again, and the DCC carries on", async (t) => {
  let db: { exec(sql: string): unknown } | undefined;
  const devices: DevicePort = {
    ...unreachableDevices(),
    sendSmets1: async (_device, op) => {
      // From now until the disk frees up, recording the answer fails at its UPDATE and SQLite rolls back.
      db!.exec("CREATE TRIGGER full BEFORE UPDATE ON requests BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END");
      setTimeout(() => db!.exec('DROP TRIGGER full'), 50);
      return { kind: 'response', frame: encodeReply({ type: 'response', id: op.counter, from: METER, to: SUPPLIER, time: 1, status: 'executed' }) };
    },
  };
  const d = await startTestDcc(devices);
  t.teardown(() => d.close());
  db = d.dcc.db;
  const { supplier, request } = await supplierOf(d);
  t.is((await supplier.post('serviceS', request)).response?.header.responseCode, 'I99');
  await d.dcc.service.settled();
  t.like(d.dcc.service.requests({ requestId: formatRequestId(request.header.requestId) })[0], { outcome: 'device-responded', responseCode: 'I0' });
  t.deepEqual(d.endpoint.deliveries.map((x) => x.response?.header.responseCode), ['I0'], "the meter's response reached the User");
});

test('the E21 a restarted DCC sends for a Command whose answer was lost is in the schema version of the request it answers', async (t) => {
  const stateDir = scratchDir(t, 'dcc-schema-version');
  let answer!: (r: DeviceReply) => void;
  let sent!: () => void;
  const dispatched = new Promise<void>((resolve) => (sent = resolve));
  const first = await startTestDcc(
    {
      ...unreachableDevices(),
      sendSmets1: () => {
        sent();
        return new Promise<DeviceReply>((resolve) => (answer = resolve));
      },
    },
    { stateDir },
  );
  t.teardown(() => first.close());
  t.teardown(() => answer({ kind: 'no-response', reason: 'test over' }));
  const { supplier, request } = await supplierOf(first);
  request.schemaVersion = '5.3';
  const accepted = await supplier.post('serviceS', request);
  t.is(accepted.response?.schemaVersion, '5.3');
  await dispatched;

  // The first DCC "dies" with the Command out: a second one takes its store over and settles what was open.
  rmSync(join(stateDir, 'dcc.lock'));
  const second = await startTestDcc(unreachableDevices(), { stateDir });
  t.teardown(() => second.close());
  await second.dcc.service.settled();
  t.deepEqual(
    first.endpoint.deliveries.map((x) => [x.response?.header.responseCode, x.response?.schemaVersion]),
    [['E21', '5.3']],
  );
});
