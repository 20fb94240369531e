import test from 'ava';
import fc from 'fast-check';
import {
  buildRequest,
  CANCEL_EXECUTION_DATE_TIME,
  canonicalizeDocument,
  DuisFailure,
  type DuisRequest,
  executionOf,
  formatRequestId,
  parseRequest,
  parseRequestId,
  type RequestBody,
} from '../../../protocol/duis/index.ts';
import type { DuisErrorCode } from '../../../protocol/duis/errors.ts';
import { rtdsFrame } from '../../helpers/fixtures.ts';
import { collapse } from '../../../protocol/duis/simple-types.ts';
import { requestArbitrary } from './generators.ts';
import { creditRequest, ESME, GSME, SUPPLIER, template, templateNames } from './support.ts';

function parsed(xml: string): DuisRequest {
  const r = parseRequest(xml);
  if (!r.ok) throw new Error(r.error.toString());
  return r.value;
}

const expectedSrv16: Record<string, { counter: bigint; target: typeof ESME; body: RequestBody }> = {
  'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML': {
    counter: 1002n,
    target: ESME,
    body: { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } },
  },
  'ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML': {
    counter: 1010n,
    target: ESME,
    body: {
      kind: 'UpdatePaymentMode',
      paymentMode: { mode: 'Prepayment', suspendDebtDisabled: true, suspendDebtEmergency: true, disablementThreshold: 556677 },
    },
  },
  'GCS02_1.6_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML': {
    counter: 1001n,
    target: GSME,
    body: { kind: 'UpdatePaymentMode', executionDateTime: '2030-01-15T09:00:00.00Z', paymentMode: { mode: 'Credit' } },
  },
};

test('schemaVersion reads as its canonical decimal, the form a response built from it writes', (t) => {
  const credit = template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML');
  const zeros = '0'.repeat(5000);
  for (const [spelt, canonical] of [['+5.4', '5.4'], ['05.40', '5.4'], ['5.', '5'], ['.5', '0.5'], ['5.000', '5'], ['5.0400', '5.04'], [`5.${zeros}1${zeros}`, `5.${zeros}1`]] as const) {
    t.is(parsed(credit.replace(' schemaVersion="5.4"', ` schemaVersion="${spelt}"`)).schemaVersion, canonical, spelt);
  }
});

for (const [name, want] of Object.entries(expectedSrv16)) {
  test(`${name} reads as the SRV 1.6 model`, (t) => {
    const r = parsed(template(name));
    t.deepEqual(r.header, {
      requestId: { user: SUPPLIER, target: want.target, counter: want.counter },
      commandVariant: 4,
      serviceReference: '1.6',
      serviceReferenceVariant: '1.6',
    });
    t.is(r.schemaVersion, '5.4');
    t.deepEqual(r.body, want.body);
  });
}

test('GCS03 template: a gas Prepayment request with its flags and threshold', (t) => {
  const r = parsed(template('GCS03_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML'));
  t.is(r.header.requestId.target, GSME);
  t.is(r.body.kind, 'UpdatePaymentMode');
  if (r.body.kind === 'UpdatePaymentMode') t.is(r.body.paymentMode.mode, 'Prepayment');
});

for (const name of templateNames()) {
  test(`${name}: parse, build and parse again give the same model and the same canonical XML`, (t) => {
    const first = parsed(template(name));
    const xml = buildRequest(first);
    const second = parsed(xml);
    t.deepEqual(second.header, first.header);
    t.is(buildRequest(second), xml);
    if (first.body.kind === 'opaque' && second.body.kind === 'opaque') {
      t.is(second.body.name, first.body.name);
      t.is(canonicalizeDocument(second.body.element, { dropWhitespaceBetweenElements: true }), canonicalizeDocument(first.body.element, { dropWhitespaceBetweenElements: true }));
    } else {
      t.deepEqual(second.body, first.body);
    }
    t.false(/>\s+</.test(xml), 'no whitespace between elements');
    t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:ds='));
  });
}

test('the cancellation sentinel and future dates are told apart by instant', (t) => {
  t.is(executionOf({}), 'immediate');
  t.is(executionOf({ executionDateTime: '2030-01-15T09:00:00.00Z' }), 'future-dated');
  t.is(executionOf({ executionDateTime: CANCEL_EXECUTION_DATE_TIME }), 'cancel');
  t.is(executionOf({ executionDateTime: '3000-12-31T00:00:00Z' }), 'cancel');
  t.is(executionOf({ executionDateTime: '3000-12-31T01:00:00+01:00' }), 'cancel');
  t.is(executionOf({ executionDateTime: '3000-12-31T00:00:01Z' }), 'future-dated');
  const cancel = creditRequest();
  cancel.body = { kind: 'UpdatePaymentMode', executionDateTime: CANCEL_EXECUTION_DATE_TIME, paymentMode: { mode: 'Credit' } };
  const xml = buildRequest(cancel);
  t.true(xml.includes('<sr:UpdatePaymentMode><sr:ExecutionDateTime>3000-12-31T00:00:00.00Z</sr:ExecutionDateTime><sr:Credit></sr:Credit>'));
  const back = parsed(xml);
  t.is(back.body.kind === 'UpdatePaymentMode' ? executionOf(back.body) : undefined, 'cancel');
});

test('RequestID: EUIs either case, uint64 counter without leading zeros', (t) => {
  t.deepEqual(parseRequestId('90-b3-d5-1f-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551615'), {
    user: SUPPLIER,
    target: ESME,
    counter: 18446744073709551615n,
  });
  t.is(formatRequestId({ user: SUPPLIER, target: ESME, counter: 0n }), '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:0');
  for (const bad of [
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551616',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:01',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:-1',
    '90B3D51F30010000:00-DB-12-34-56-78-90-A0:1',
    '90-B3-D5-1F-30-01-00:00-DB-12-34-56-78-90-A0:1',
    '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0',
  ]) {
    const e = t.throws(() => parseRequestId(bad), { instanceOf: DuisFailure }, bad);
    t.is(e?.error.code, 'value');
  }
});

test('any request model builds to XML that reads back as the same model', (t) => {
  fc.assert(
    fc.property(requestArbitrary, (request) => {
      t.deepEqual(parsed(buildRequest(request)), request);
    }),
    { numRuns: 300 },
  );
});

test('CV5 Signed Pre-Command: the signed GBCS payload travels base64 in SignedPreCommand/GBCSPayload', (t) => {
  const command = rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX');
  const request = creditRequest();
  request.header.commandVariant = 5;
  request.body = { kind: 'SignedPreCommand', gbcsPayload: command };
  const xml = buildRequest(request);
  t.true(xml.includes(`<sr:Body><sr:SignedPreCommand><sr:GBCSPayload>${command.toString('base64')}</sr:GBCSPayload></sr:SignedPreCommand></sr:Body>`));
  const back = parsed(xml);
  t.is(back.body.kind, 'SignedPreCommand');
  if (back.body.kind === 'SignedPreCommand') t.deepEqual(Buffer.from(back.body.gbcsPayload), command);
});

const credit = template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML');
const structureCases: [string, string, DuisErrorCode, RegExp][] = [
  ['Header children out of order', credit.replace(/(<sr:CommandVariant>4<\/sr:CommandVariant>)\s*(<sr:ServiceReference>1.6<\/sr:ServiceReference>)/, '$2$1'), 'structure', /expected CommandVariant, found ServiceReference/],
  ['Header in another namespace under the sr prefix', credit.replace('<sr:Header>', '<sr:Header xmlns:sr="urn:evil">').replace('</sr:Header>', '</sr:Header>'), 'structure', /expected Header/],
  ['a second Body', credit.replace('</sr:Body>', '</sr:Body><sr:Body><sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode></sr:Body>'), 'structure', /unexpected Body/],
  ['a second Header', credit.replace('<sr:Body>', '<sr:Header/><sr:Body>'), 'structure', /expected Body, found Header/],
  ['a body DUIS does not define', credit.replace(/UpdatePaymentMode/g, 'UpdateEverything'), 'structure', /UpdateEverything is not a Service Request body/],
  ['Credit and Prepayment together', credit.replace('<sr:Credit/>', '<sr:Credit/><sr:Prepayment/>'), 'structure', /unexpected Prepayment/],
  ['text inside Credit', credit.replace('<sr:Credit/>', '<sr:Credit>yes</sr:Credit>'), 'structure', /unexpected text/],
  ['an attribute on Credit', credit.replace('<sr:Credit/>', '<sr:Credit mode="prepayment"/>'), 'structure', /unexpected attribute mode/],
  ['CommandVariant 10', credit.replace('<sr:CommandVariant>4', '<sr:CommandVariant>10'), 'value', /CommandVariant "10"/],
  ['an unknown Service Reference Variant', credit.replace('<sr:ServiceReferenceVariant>1.6', '<sr:ServiceReferenceVariant>1.66'), 'value', /ServiceReferenceVariant "1.66"/],
  // Carried out as the variant says (a payment mode change) while the DCC's response would name SR 7.1.
  ['a Service Reference of another variant', credit.replace('<sr:ServiceReference>1.6<', '<sr:ServiceReference>7.1<'), 'value', /ServiceReference 7.1 does not go with ServiceReferenceVariant 1.6 \(of 1.6\)/],
  ['a counter with a leading zero', credit.replace(':1002<', ':01002<'), 'value', /RequestID/],
  ['an impossible ExecutionDateTime', credit.replace('<sr:Credit/>', '').replace('<sr:UpdatePaymentMode>', '<sr:UpdatePaymentMode><sr:ExecutionDateTime>2030-02-30T00:00:00Z</sr:ExecutionDateTime><sr:Credit/>'), 'value', /xs:dateTime/],
  ['schemaVersion missing', credit.replace(' schemaVersion="5.4"', ''), 'structure', /schemaVersion/],
  ['a negative schemaVersion', credit.replace(' schemaVersion="5.4"', ' schemaVersion="-5.4"'), 'value', /schemaVersion "-5.4" is negative/],
  ['a Response root', credit.replace(/sr:Request/g, 'sr:Response'), 'structure', /root must be Request/],
];
const prepayment = template('ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML');
structureCases.push(
  ['DisablementThreshold beyond xs:int', prepayment.replace('556677', '2147483648'), 'value', /xs:int range/],
  ['SuspendDebtDisabled not a boolean', prepayment.replace('<sr:SuspendDebtDisabled>true', '<sr:SuspendDebtDisabled>yes'), 'value', /xs:boolean/],
  ['SuspendDebtEmergency missing', prepayment.replace(/<sr:SuspendDebtEmergency>true<\/sr:SuspendDebtEmergency>/, ''), 'structure', /expected SuspendDebtEmergency/],
);
structureCases.push(
  // A long value is refused with a short message, and its whitespace is stripped in one pass (a regex anchored at
  // the end rescanned each run of spaces: 200,000 of them took 19 s).
  ['a CommandVariant padded with 200,000 spaces', credit.replace('<sr:CommandVariant>4', `<sr:CommandVariant>4${' '.repeat(200_000)}x`), 'value', /^CommandVariant "4 {49}"\.\.\. \(200002 characters\) is not 1\.\.9$/],
);
for (const [name, xml, code, message] of structureCases) {
  test(`refuses ${name} (${code})`, (t) => {
    const r = parseRequest(xml);
    if (r.ok) return t.fail('accepted');
    t.is(r.error.code, code);
    t.regex(r.error.message, message);
    t.truthy(r.error.path);
  });
}

test('the builder refuses models DUIS cannot carry', (t) => {
  const bad: [string, (r: DuisRequest) => void][] = [
    ['CommandVariant 0', (r) => (r.header.commandVariant = 0 as never)],
    ['a threshold beyond xs:int', (r) => (r.body = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: false, disablementThreshold: 2 ** 31 } })],
    ['an execution date that is not xs:dateTime', (r) => (r.body = { kind: 'UpdatePaymentMode', executionDateTime: 'tomorrow', paymentMode: { mode: 'Credit' } })],
    ['a counter beyond uint64', (r) => (r.header.requestId.counter = 2n ** 64n)],
    ['an empty Signed Pre-Command', (r) => (r.body = { kind: 'SignedPreCommand', gbcsPayload: new Uint8Array(0) })],
    ['an unknown Service Reference', (r) => (r.header.serviceReference = '99.9' as never)],
  ];
  for (const [name, spoil] of bad) {
    const request = creditRequest();
    spoil(request);
    t.throws(() => buildRequest(request), { instanceOf: DuisFailure }, name);
  }
});

test('XML whitespace around a value is ignored, inside it kept', (t) => {
  for (const [text, value] of [['4', '4'], [' \t\r\n4\n', '4'], ['   ', ''], ['', ''], [' 4 2 ', '4 2'], ['\u00a04', '\u00a04']] as const) t.is(collapse(text), value, JSON.stringify(text));
});
