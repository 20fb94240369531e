import test from 'ava';
import fc from 'fast-check';
import {
  buildResponse,
  canonicalizeDocument,
  describeResponseCode,
  type DuisResponse,
  parseResponse,
  RESPONSE_CODES,
  responseCodeKind,
  SERVICE_REFERENCE_VARIANTS,
  serviceReferenceOf,
  signRequest,
  signResponse,
  verifyMessage,
  verifyResponse,
  xmlSignerFromEntry,
} from '../../../protocol/duis/index.ts';
import { canonicalResponseText, responseTree } from '../../../protocol/duis/response.ts';
import { DCC_EUI } from '../../../protocol/smki/eui.ts';
import { rtdsFrame } from '../../helpers/fixtures.ts';
import { ESME, GSME, keystore, SUPPLIER } from './support.ts';

const requestId = { user: SUPPLIER, target: ESME, counter: 1002n };
const at = '2026-01-15T09:00:00.00Z';

const responses: Record<string, DuisResponse> = {
  'I99 acknowledgement without content': {
    schemaVersion: '5.4',
    header: { requestId, responseCode: 'I99', responseDateTime: at },
    body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6' },
  },
  'Transform response carrying the Pre-Command': {
    schemaVersion: '5.4',
    header: { requestId, responseCode: 'I0', responseDateTime: at },
    body: {
      kind: 'ResponseMessage',
      serviceReference: '1.6',
      serviceReferenceVariant: '1.6',
      content: { kind: 'PreCommand', gbcsVersion: '4.0', gbcsPayload: rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX') },
    },
  },
  'device response carrying its GBCS payload': {
    schemaVersion: '5.4',
    header: { requestId, responseId: { originator: ESME, target: SUPPLIER, counter: 1002n }, responseCode: 'I0', responseDateTime: at },
    body: {
      kind: 'ResponseMessage',
      serviceReference: '1.6',
      serviceReferenceVariant: '1.6',
      content: { kind: 'GBCSPayload', gbcsPayload: rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_RESPONSE_GBCS.HEX') },
    },
  },
  '8F66 device alert (future-dated payment mode change executed)': {
    schemaVersion: '5.4',
    header: { responseId: { originator: GSME, target: SUPPLIER, counter: 7n }, responseCode: 'I0', responseDateTime: at },
    body: {
      kind: 'DeviceAlertMessage',
      alertCode: '8F66',
      gbcsPayload: rtdsFrame('GCS02_1.6_8F66_FUTURE_DATED_SUCCESS_ALERT_CHANGE_PAYMENT_MODE_GBCS.HEX'),
    },
  },
  'AD1 DCC alert: a request quarantined by anomaly detection': {
    schemaVersion: '5.4',
    header: { responseId: { originator: DCC_EUI, target: SUPPLIER, counter: 12n }, responseCode: 'I0', responseDateTime: at },
    body: {
      kind: 'DCCAlertMessage',
      dccAlertCode: 'AD1',
      throttledAlertSequenceId: 3,
      throttledAlertCount: 9,
      alert: { kind: 'QuarantinedRequest', breach: 'ADUserThresholdBreach', requestId, quarantineEventRef: 12345678901234567890n },
    },
  },
};

for (const [name, response] of Object.entries(responses)) {
  test(`${name}: builds and reads back unchanged`, (t) => {
    const xml = buildResponse(response);
    t.false(/>\s+</.test(xml));
    const back = parseResponse(xml);
    if (!back.ok) return t.fail(back.error.toString());
    t.deepEqual(back.value, response);
  });
}

test('element names and order follow the DUIS schema', (t) => {
  const pre = buildResponse(responses['Transform response carrying the Pre-Command']!);
  t.regex(pre, /<sr:Header><sr:RequestID>[^<]+<\/sr:RequestID><sr:ResponseCode>I0<\/sr:ResponseCode><sr:ResponseDateTime>[^<]+<\/sr:ResponseDateTime><\/sr:Header>/);
  t.regex(pre, /<sr:ResponseMessage><sr:ServiceReference>1.6<\/sr:ServiceReference><sr:ServiceReferenceVariant>1.6<\/sr:ServiceReferenceVariant><sr:PreCommand><sr:GBCSVersion>4.0<\/sr:GBCSVersion><sr:GBCSPayload>/);
  const ad1 = buildResponse(responses['AD1 DCC alert: a request quarantined by anomaly detection']!);
  t.true(
    ad1.includes(
      '<sr:DCCAlertMessage><sr:DCCAlertCode>AD1</sr:DCCAlertCode><sr:ThrottledAlertSequenceId>3</sr:ThrottledAlertSequenceId><sr:ThrottledAlertCount>9</sr:ThrottledAlertCount>' +
        '<sr:DCCAlert><sr:QuarantinedRequest><sr:ADUserThresholdBreach><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1002</sr:RequestID>' +
        '<sr:QuarantineEventRef>12345678901234567890</sr:QuarantineEventRef></sr:ADUserThresholdBreach></sr:QuarantinedRequest></sr:DCCAlert></sr:DCCAlertMessage>',
    ),
  );
});

test('the DCC signs responses with its XML Signing key; they verify as coming from the DCC', (t) => {
  const dcc = keystore.xmlSigningKey(DCC_EUI);
  t.is(dcc.role, 137);
  const signed = signResponse(responses['device response carrying its GBCS payload']!, xmlSignerFromEntry(dcc));
  const v = verifyResponse(signed, keystore, { signerEui: DCC_EUI });
  if (!v.ok) return t.fail(v.error.toString());
  t.deepEqual(v.value.response, responses['device response carrying its GBCS payload']);
  t.is(v.value.signerEui, DCC_EUI);
  const impostor = signResponse(responses['device response carrying its GBCS payload']!, xmlSignerFromEntry(keystore.xmlSigningKey(SUPPLIER)));
  const refused = verifyResponse(impostor, keystore, { signerEui: DCC_EUI });
  t.is(refused.ok ? 'accepted' : refused.error.code, 'signer-refused');
});

test("with a keystore, only the DCC's XML Signing key (role 137) signs a Response and only a User's (135) a Request, whoever is expected", (t) => {
  const response = responses['device response carrying its GBCS payload']!;
  const byUser = signResponse(response, xmlSignerFromEntry(keystore.xmlSigningKey(SUPPLIER)));
  for (const r of [verifyResponse(byUser, keystore), verifyMessage(byUser, keystore)]) {
    t.is(r.ok ? 'accepted' : r.error.code, 'signer-refused');
    t.regex(r.ok ? '' : r.error.message, /has role 135: a Response must be signed by the DCC's XML Signing key \(role 137\)/);
  }
  const byDcc = signRequest({ schemaVersion: '5.4', header: { requestId: { user: DCC_EUI, target: ESME, counter: 1n }, commandVariant: 1, serviceReference: '1.6', serviceReferenceVariant: '1.6' }, body: { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } } }, xmlSignerFromEntry(keystore.xmlSigningKey(DCC_EUI)));
  const request = verifyMessage(byDcc, keystore);
  t.regex(request.ok ? 'accepted' : request.error.toString(), /^signer-refused: .*has role 137: a Request must be signed by a User's XML Signing key \(role 135\)/);
});

test('response structure is checked: header order, codes, and alert contents', (t) => {
  const xml = buildResponse(responses['device response carrying its GBCS payload']!);
  const cases: [string, string, string][] = [
    ['ResponseCode before RequestID', xml.replace(/(<sr:RequestID>[^<]*<\/sr:RequestID>)(<sr:ResponseID>[^<]*<\/sr:ResponseID>)(<sr:ResponseCode>I0<\/sr:ResponseCode>)/, '$3$1$2'), 'structure'],
    ['an unknown ResponseCode', xml.replace('>I0<', '>E999<'), 'value'],
    ['a ResponseDateTime that is not a date', xml.replace(at, 'yesterday'), 'value'],
    ['a second payload', xml.replace('</sr:GBCSPayload>', '</sr:GBCSPayload><sr:GBCSPayload>AA==</sr:GBCSPayload>'), 'structure'],
    ['a payload that is not base64', xml.replace(/<sr:GBCSPayload>[^<]*/, '<sr:GBCSPayload>not base64!'), 'value'],
  ];
  for (const [name, bad, code] of cases) {
    const r = parseResponse(bad);
    t.is(r.ok ? 'accepted' : r.error.code, code, name);
  }
  const alert = buildResponse(responses['8F66 device alert (future-dated payment mode change executed)']!);
  const noPayload = parseResponse(alert.replace(/<sr:GBCSPayload>[^<]*<\/sr:GBCSPayload>/, ''));
  t.is(noPayload.ok ? 'accepted' : noPayload.error.code, 'structure');
});

test('response codes: every DUIS code is typed; the ones the project uses have meanings', (t) => {
  t.true(RESPONSE_CODES.includes('I0') && RESPONSE_CODES.includes('E21') && RESPONSE_CODES.includes('W050201'));
  t.is(responseCodeKind('I99'), 'info');
  t.is(responseCodeKind('E12'), 'error');
  t.is(responseCodeKind('W050201'), 'warning');
  t.is(describeResponseCode('E2'), 'User Role not permitted for this Service Reference Variant');
  t.regex(describeResponseCode('E1000'), /E1000/);
  fc.assert(
    fc.property(fc.constantFrom(...RESPONSE_CODES), (code) => {
      const r: DuisResponse = { ...responses['I99 acknowledgement without content']!, header: { requestId, responseCode: code, responseDateTime: at } };
      const back = parseResponse(buildResponse(r));
      return back.ok && back.value.header.responseCode === code;
    }),
  );
});

test("the DCC's everyday answers written from their template are exactly the canonical tree, and verify", (t) => {
  const dccSigner = xmlSignerFromEntry(keystore.xmlSigningKey(DCC_EUI));
  const id = fc.record({ user: fc.constantFrom(SUPPLIER, DCC_EUI), target: fc.constantFrom(ESME, GSME, DCC_EUI), counter: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) });
  const payload = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b));
  const content = fc.oneof(
    fc.constant(undefined),
    fc.record({ kind: fc.constant('PreCommand' as const), gbcsVersion: fc.constantFrom('4.0', '3.2', 'x<&>\r"y'), gbcsPayload: payload }),
    fc.record({ kind: fc.constant('GBCSPayload' as const), gbcsPayload: payload }),
  );
  const model = fc.record({
    schemaVersion: fc.constantFrom('5.4', '5.1', '6'),
    header: fc.record({
      requestId: id,
      responseCode: fc.constantFrom(...RESPONSE_CODES),
      responseDateTime: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    }),
    body: fc
      .record({ kind: fc.constant('ResponseMessage' as const), serviceReferenceVariant: fc.constantFrom(...SERVICE_REFERENCE_VARIANTS), content })
      .map((b) => ({ ...b, serviceReference: serviceReferenceOf(b.serviceReferenceVariant) })),
  });
  fc.assert(
    fc.property(model, (m) => {
      const response = (m.body.content === undefined ? { ...m, body: { ...m.body, content: undefined } } : m) as DuisResponse;
      if (m.body.content === undefined) delete (response.body as { content?: unknown }).content;
      const text = canonicalResponseText(response);
      t.is(text, canonicalizeDocument(responseTree(response), { dropWhitespaceBetweenElements: true }));
      const v = verifyResponse(signResponse(response, dccSigner), keystore, { signerEui: DCC_EUI });
      if (!v.ok) return t.fail(v.error.toString());
      t.deepEqual(v.value.response, response);
    }),
    { numRuns: 300 },
  );
  // Anything else takes the tree, and bad values are refused the same way on both paths.
  t.is(canonicalResponseText(responses['device response carrying its GBCS payload']!), undefined, 'a ResponseID: the tree');
  t.is(canonicalResponseText(responses['8F66 device alert (future-dated payment mode change executed)']!), undefined);
  const bad = { ...responses['I99 acknowledgement without content']!, header: { requestId, responseCode: 'I98', responseDateTime: at } } as unknown as DuisResponse;
  t.throws(() => signResponse(bad, dccSigner), { message: /ResponseCode I98 is not one DUIS defines/ });
  const badTime = { ...responses['I99 acknowledgement without content']!, header: { requestId, responseCode: 'I99', responseDateTime: 'yesterday' } } as DuisResponse;
  t.throws(() => signResponse(badTime, dccSigner), { message: /not an xs:dateTime/ });
});
