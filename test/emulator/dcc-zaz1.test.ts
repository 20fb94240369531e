/**
 * The mock DCC as a DCC Boxed drop-in (`dcc serve --zaz1`): requests signed by DCC Boxed's own Java signing tool
 * are accepted, the RTDS request gives the RTDS Pre-Command, the DCC's replies and asynchronous responses pass
 * the Java validator, and the RTDS meters switch to Credit.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { type DuisRequest, parseRequest, signRequest, xmlSignerFromEntry } from '../../protocol/duis/index.ts';
import { decodeGeneralSigning, encodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import { Keystore } from '../../protocol/smki/keystore.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { DccAdminClient } from '../../harness/admin-client.ts';
import { fetchDccResolver } from '../../harness/agents/dcc-verifier.ts';
import { byRequestCounter, UserEndpoint } from '../../harness/agents/endpoint.ts';
import { startDccProcess } from '../helpers/dcc-process.ts';
import { readFixture, rtdsFrame, zaz1KeystorePath } from '../helpers/fixtures.ts';
import { javaSign, javaValidate } from '../protocol/duis/support.ts';

const keystore = Keystore.fromZaz1(readFileSync(zaz1KeystorePath, 'utf8'));
const supplier = parseEui('90B3D51F30010000');

// In RequestID counter order: the DCC requires each User's counters to increase.
const CASES = [
  { name: 'GCS02_1.6_IMMEDIATE_SUCCESS', device: '00DB1234567890A1', mode: 'credit' },
  { name: 'GCS02_1.6_FUTURE_DATED_SUCCESS', device: '00DB1234567890A1', mode: null },
  { name: 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS', device: '00DB1234567890A0', mode: 'credit' },
  { name: 'GCS03_1.6_IMMEDIATE_SUCCESS', device: '00DB1234567890A1', mode: 'prepayment' },
  { name: 'ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS', device: '00DB1234567890A0', mode: 'prepayment' },
] as const;

test('dcc serve --zaz1 is a DCC Boxed drop-in: Java-signed RTDS requests give the RTDS Pre-Commands, replies validate with the Java tool, meters switch', async (t) => {
  const endpoint = new UserEndpoint(() => null);
  const callback = await endpoint.listen();
  const dcc = await startDccProcess(['--zaz1', zaz1KeystorePath, '--clock', '2015-01-01T00:00:00Z', '--frozen', '--callback', callback]);
  t.teardown(async () => {
    await dcc.stop();
    await endpoint.close();
  });
  const resolver = await fetchDccResolver(dcc.url);
  // Now that the DCC's certificate is known, deliveries can be verified.
  endpoint.dccVerifier = resolver;
  const admin = new DccAdminClient(dcc.url);
  t.is((await admin.deviceState('00DB1234567890A0')).paymentMode, 'prepayment');
  t.is((await admin.deviceState('00DB1234567890A1')).paymentMode, 'prepayment');

  for (const c of CASES) {
    const signed = await javaSign(readFixture('duis', `${c.name}_REQUEST_DUIS.XML`));
    const res = await fetch(`${dcc.url}/api/v1/serviceT`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: signed });
    const reply = await res.text();
    t.is(res.status, 200, `${c.name}: ${reply}`);
    t.is((await javaValidate(reply)).code, 0, `${c.name}: the DCC's reply validates with DCC Boxed's Java tool`);
    const preCommand = /<sr:GBCSPayload>([^<]+)<\/sr:GBCSPayload>/.exec(reply)?.[1];
    t.truthy(preCommand, `${c.name}: a Pre-Command`);
    t.is(Buffer.from(preCommand!, 'base64').toString('hex').toUpperCase(), rtdsFrame(`${c.name}_PRECOMMAND_GBCS.HEX`).toString('hex').toUpperCase(), `${c.name}: the RTDS Pre-Command`);

    // CV 5: the Pre-Command signed with the ZAZ1 supplier's GBCS key, sent back as the Signed Pre-Command.
    const d = decodeGeneralSigning(Buffer.from(preCommand!, 'base64'));
    if (!d.ok) return t.fail(d.error.toString());
    const cv4 = parseRequest(signed);
    if (!cv4.ok) return t.fail(cv4.error.toString());
    const cv5: DuisRequest = {
      ...cv4.value,
      header: { ...cv4.value.header, commandVariant: 5 },
      body: { kind: 'SignedPreCommand', gbcsPayload: encodeGeneralSigning(signApdu(d.value, keystore.signingKey(supplier, 'digitalSignature').privateKey!)) },
    };
    const xml = signRequest(cv5, xmlSignerFromEntry(keystore.xmlSigningKey(supplier)));
    const sent = await fetch(`${dcc.url}/api/v1/serviceS`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml });
    const ack = await sent.text();
    t.regex(ack, /<sr:ResponseCode>I99<\/sr:ResponseCode>/, `${c.name}: acknowledged`);
    const delivery = await endpoint.waitFor(byRequestCounter(cv4.value.header.requestId.counter), 20_000, `${c.name} response`);
    t.is(delivery.response?.header.responseCode, 'I0', `${c.name}: ${delivery.problem ?? ''}`);
    t.is((await javaValidate(delivery.xml)).code, 0, `${c.name}: the asynchronous response validates with the Java tool`);
    if (c.mode) t.is((await admin.deviceState(c.device)).paymentMode, c.mode, `${c.name}: the meter's payment mode`);
  }
});
