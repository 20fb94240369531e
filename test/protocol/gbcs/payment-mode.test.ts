import test from 'ava';
import fc from 'fast-check';
import { decodeGeneralSigning, encodeGeneralSigning, type GeneralSigning } from '../../../protocol/gbcs/apdu.ts';
import { ByteReader } from '../../../protocol/gbcs/bytes.ts';
import { type Execution } from '../../../protocol/gbcs/datetime.ts';
import { readAccessRequest } from '../../../protocol/gbcs/dlms.ts';
import { buildFutureDatedAlert, parseFutureDatedAlert } from '../../../protocol/gbcs/usecases/alerts.ts';
import {
  buildPaymentModePreCommand,
  encodeChangePaymentModeResponse,
  type MeterVariant,
  parsePaymentModeCommand,
  type PaymentModeTarget,
} from '../../../protocol/gbcs/usecases/payment-mode.ts';
import { buildResponse, encodeAccessResponse, esmeAccessResponse, gbzDefaultResponse, gbzResponse, parseResponseContent } from '../../../protocol/gbcs/usecases/responses.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { rtdsFrame } from '../../helpers/fixtures.ts';

const SUPPLIER = parseEui('90B3D51F30010000');
const ESME = parseEui('00DB1234567890A0');
const GSME = parseEui('00DB1234567890A1');

function gs(name: string): GeneralSigning {
  const d = decodeGeneralSigning(rtdsFrame(name));
  if (!d.ok) throw new Error(d.error.toString());
  return d.value;
}

/** The fixture Pre-Commands with the DUIS request each was transformed from (../shared/fixtures/duis). */
const CASES: { name: string; variant: MeterVariant; counter: bigint; target: PaymentModeTarget; execution: Execution }[] = [
  { name: 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS', variant: 'esme', counter: 1002n, target: { mode: 'credit' }, execution: { kind: 'now' } },
  {
    name: 'ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS',
    variant: 'esme',
    counter: 1010n,
    target: { mode: 'prepayment', suspendDebtDisabled: true, suspendDebtEmergency: true, disablementThreshold: 556677 },
    execution: { kind: 'now' },
  },
  { name: 'GCS02_1.6_IMMEDIATE_SUCCESS', variant: 'gsme', counter: 1000n, target: { mode: 'credit' }, execution: { kind: 'now' } },
  { name: 'GCS02_1.6_FUTURE_DATED_SUCCESS', variant: 'gsme', counter: 1001n, target: { mode: 'credit' }, execution: { kind: 'at', at: new Date('2030-01-15T09:00:00Z') } },
  {
    name: 'GCS03_1.6_IMMEDIATE_SUCCESS',
    variant: 'gsme',
    counter: 1004n,
    target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: false, disablementThreshold: 0 },
    execution: { kind: 'now' },
  },
];

for (const c of CASES) {
  test(`${c.name}: the Pre-Command is built byte-identically from its DUIS request, and parses back`, (t) => {
    const recipient = c.variant === 'gsme' ? GSME : ESME;
    const built = buildPaymentModePreCommand({ variant: c.variant, change: { target: c.target, execution: c.execution }, counter: c.counter, originator: SUPPLIER, recipient });
    const want = rtdsFrame(`${c.name}_PRECOMMAND_GBCS.HEX`);
    t.is(encodeGeneralSigning(built).toString('hex'), want.toString('hex'));
    const parsed = parsePaymentModeCommand(gs(`${c.name}_PRECOMMAND_GBCS.HEX`));
    if (!parsed.ok) return t.fail(parsed.error.toString());
    t.is(parsed.value.variant, c.variant);
    t.deepEqual(parsed.value.change, { target: c.target, execution: c.execution });
  });
}

test('the 8F66 GSME alert fixture parses and rebuilds byte-identically', (t) => {
  const alert = gs('GCS02_1.6_8F66_FUTURE_DATED_SUCCESS_ALERT_CHANGE_PAYMENT_MODE_GBCS.HEX');
  const p = parseFutureDatedAlert(alert);
  if (!p.ok) return t.fail(p.error.toString());
  t.is(p.value.messageCode, 0x006c);
  t.is(p.value.counter, 1001n);
  t.is(p.value.executedAt.toISOString(), '2030-01-15T09:00:00.000Z');
  t.deepEqual(p.value.zcl, { clusterId: 0x0705, frameControl: 0x01, commandId: 0x06 });
  t.deepEqual(encodeGeneralSigning({ ...buildFutureDatedAlert(p.value), signature: alert.signature }), rtdsFrame('GCS02_1.6_8F66_FUTURE_DATED_SUCCESS_ALERT_CHANGE_PAYMENT_MODE_GBCS.HEX'));
});

test('an ESME 8F66 alert round-trips', (t) => {
  const a = {
    device: ESME,
    recipient: SUPPLIER,
    alertCounter: 2002n,
    executedAt: new Date('2030-01-15T09:00:00Z'),
    messageCode: 0x001a,
    counter: 1005n,
    attribute: { classId: 0x006f, instance: '0001130000FF', index: 13 },
  };
  const p = parseFutureDatedAlert(buildFutureDatedAlert(a));
  if (!p.ok) return t.fail(p.error.toString());
  t.deepEqual(p.value, a);
});

for (const name of ['ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS', 'ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS']) {
  test(`${name}: the device response is rebuilt byte-identically (apart from the signature)`, (t) => {
    const pre = gs(`${name}_PRECOMMAND_GBCS.HEX`);
    const want = gs(`${name}_RESPONSE_GBCS.HEX`);
    const req = readAccessRequest(new ByteReader(pre.content));
    const built = buildResponse({ command: pre, device: ESME, at: new Date('2015-01-01T00:00:00Z'), content: encodeAccessResponse(esmeAccessResponse(req)) });
    t.deepEqual(encodeGeneralSigning({ ...built, signature: want.signature }), rtdsFrame(`${name}_RESPONSE_GBCS.HEX`));
    const outcome = parseResponseContent(want.content);
    t.true(outcome.ok && outcome.value.success);
  });
}

for (const name of ['GCS02_1.6_IMMEDIATE_SUCCESS', 'GCS02_1.6_FUTURE_DATED_SUCCESS', 'GCS03_1.6_IMMEDIATE_SUCCESS']) {
  test(`${name}: the GSME Change Payment Mode Response is rebuilt byte-identically`, (t) => {
    const pre = gs(`${name}_PRECOMMAND_GBCS.HEX`);
    const want = gs(`${name}_RESPONSE_GBCS.HEX`);
    const payload = encodeChangePaymentModeResponse({ friendlyCredit: true, friendlyCreditCalendarId: 2, emergencyCreditLimit: 1_000_000, emergencyCreditThreshold: 200_000 });
    const built = buildResponse({ command: pre, device: GSME, at: new Date('2015-01-01T00:00:00Z'), content: gbzResponse(0x0705, 0x02, payload) });
    t.deepEqual(encodeGeneralSigning({ ...built, signature: want.signature }), rtdsFrame(`${name}_RESPONSE_GBCS.HEX`));
  });
}

test('failure responses: ESME break-on-error results and GSME Default Response', (t) => {
  const pre = gs('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX');
  const req = readAccessRequest(new ByteReader(pre.content));
  const esme = parseResponseContent(encodeAccessResponse(esmeAccessResponse(req, { failedAt: 1 })));
  t.deepEqual(esme.ok && esme.value.family === 'esme' ? esme.value.results : null, [0, 1, 250]);
  const gsme = parseResponseContent(gbzDefaultResponse(0x0705, 0x06, 0xc0));
  t.true(gsme.ok && !gsme.value.success && gsme.value.family === 'gsme' && gsme.value.status === 0xc0);
});

const arbTarget: fc.Arbitrary<PaymentModeTarget> = fc.oneof(
  fc.constant<PaymentModeTarget>({ mode: 'credit' }),
  fc.record({
    mode: fc.constant('prepayment' as const),
    suspendDebtDisabled: fc.boolean(),
    suspendDebtEmergency: fc.boolean(),
    disablementThreshold: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  }),
);
const arbExecution: fc.Arbitrary<Execution> = fc.oneof(
  fc.constant<Execution>({ kind: 'now' }),
  fc.constant<Execution>({ kind: 'never' }),
  fc.integer({ min: Date.UTC(2001, 0, 1) / 1000, max: Date.UTC(2100, 0, 1) / 1000 }).map((s): Execution => ({ kind: 'at', at: new Date(s * 1000) })),
);

test('property: every payment-mode model builds, encodes, decodes and parses back to itself', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom<MeterVariant>('esme', 'esme-twin', 'gsme'),
      arbTarget,
      arbExecution,
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (variant, target, execution, counter) => {
        const pre = buildPaymentModePreCommand({ variant, change: { target, execution }, counter, originator: SUPPLIER, recipient: ESME });
        const d = decodeGeneralSigning(encodeGeneralSigning(pre));
        if (!d.ok) return false;
        const p = parsePaymentModeCommand(d.value);
        if (!p.ok) return false;
        t.deepEqual(p.value.change, { target, execution });
        return p.value.variant === variant;
      },
    ),
    { numRuns: 500 },
  );
});

test('a payload whose message code says credit but whose content is prepayment is refused', (t) => {
  const prepay = gs('ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX');
  const lie = parsePaymentModeCommand({ ...prepay, messageCode: 0x001a });
  t.false(lie.ok);
  const gas = gs('GCS03_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX');
  t.false(parsePaymentModeCommand({ ...gas, messageCode: 0x006c }).ok);
  // ECS02 with one collection bit changed: not the canonical credit payload.
  const credit = gs('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX');
  const content = Buffer.from(credit.content);
  const at = content.indexOf(Buffer.from('0403E0', 'hex'));
  content[at + 2] = 0xc0;
  t.false(parsePaymentModeCommand({ ...credit, content }).ok);
});

test('a GSME payment-mode command is one plain GBZ component: another extended header control is refused, not read past', (t) => {
  const gas = gs('GCS02_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX');
  t.true(parsePaymentModeCommand(gas).ok);
  t.is(gas.content[3], 0x01);
  for (const control of [0x00, 0x03, 0x11]) {
    const content = Buffer.from(gas.content);
    content[3] = control;
    const r = parsePaymentModeCommand({ ...gas, content });
    t.false(r.ok, `control 0x${control.toString(16)}`);
  }
  const notLast = Buffer.from(gas.content);
  notLast[3] = 0x00;
  const r = parsePaymentModeCommand({ ...gas, content: notLast });
  t.regex(r.ok ? '' : r.error.message, /extended header control 0x00 \(one plain component is 0x01\)/);
});
