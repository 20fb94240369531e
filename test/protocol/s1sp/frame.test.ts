import test from 'ava';
import fc from 'fast-check';
import { checkReply, decodeS1sp, encodeInstruction, encodeReply, peekS1spHeader, type S1spInstruction, verifyInstruction } from '../../../protocol/s1sp/frame.ts';
import { type MeterOperation } from '../../../protocol/s1sp/operations.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';

const S1SP = parseEui('90B3D51F30000005');
const METER = parseEui('00DB1234567890B0');
const key = generateKeyPair();

const OPERATIONS: MeterOperation[] = [
  { op: 'payment-mode', target: { mode: 'credit' }, execution: { kind: 'now' } },
  { op: 'payment-mode', target: { mode: 'prepayment', suspendDebtDisabled: true, suspendDebtEmergency: false, disablementThreshold: -500 }, execution: { kind: 'at', at: new Date('2030-01-15T09:00:00Z') } },
  { op: 'payment-mode', target: { mode: 'credit' }, execution: { kind: 'never' } },
  { op: 'adjust-balance', amount: -42 },
  { op: 'set-balance', amount: 0 },
  { op: 'reset-balances' },
  { op: 'prepayment-configuration', configuration: { lowCreditThreshold: 1, maxMeterBalance: 2, maxCreditThreshold: 3, debtRecoveryRateCap: 4, emergencyCreditLimit: 5, emergencyCreditThreshold: 6, calendar: '0011223344556677' }, execution: { kind: 'now' } },
  { op: 'top-up', utrn: '00012345000000000042' },
  { op: 'update-debt', debt: { timeDebt1: 1, timeDebt2: 2, paymentDebt: 3, recovery: { timeDebt1Rate: 4, timeDebt1Period: 'hourly', timeDebt2Rate: 5, timeDebt2Period: 'weekly', paymentDebtRate: 6 } } },
  { op: 'activate-emergency-credit' },
  { op: 'tariff', tariff: { standingCharge: 20000, unitRates: [2121, 3127], digest: '89ABCDEF01234567' }, execution: { kind: 'now' } },
  { op: 'supply', action: 'arm' },
  { op: 'read', what: 'prepay-values' },
];

function instruction(operation: MeterOperation, id = 7n): S1spInstruction {
  return { type: 'instruction', id, from: S1SP, to: METER, time: 473_385_600, reference: 1002n, operation };
}

test('every operation survives an instruction round trip, and the S1SP signature verifies', (t) => {
  for (const op of OPERATIONS) {
    const bytes = encodeInstruction(instruction(op), key.privateKey);
    const d = decodeS1sp(bytes);
    if (!d.ok) return t.fail(d.error.toString());
    t.deepEqual(d.value.frame, instruction(op));
    t.true(verifyInstruction(d.value, key.publicKey));
    t.false(verifyInstruction(d.value, generateKeyPair().publicKey), 'another key did not sign it');
    t.deepEqual(peekS1spHeader(bytes), { type: 'instruction', id: 7n, from: S1SP, to: METER, time: 473_385_600 });
  }
});

test('responses and alerts carry an integrity check that detects corruption', (t) => {
  const response = encodeReply({ type: 'response', id: 7n, from: METER, to: S1SP, time: 1, status: 'executed', read: { what: 'import-registers', activeImportWh: 123 } });
  const d = decodeS1sp(response);
  t.true(d.ok && checkReply(d.value) && d.value.frame.type === 'response' && d.value.frame.read?.what === 'import-registers');
  const alert = encodeReply({ type: 'alert', id: 1n, from: METER, to: S1SP, time: 1, code: 0x8f66, instructionId: 7n, operation: 'payment-mode' });
  const a = decodeS1sp(alert);
  t.deepEqual(a.ok && a.value.frame, { type: 'alert', id: 1n, from: METER, to: S1SP, time: 1, code: 0x8f66, instructionId: 7n, operation: 'payment-mode' });
  const bad = Buffer.from(response);
  bad[40] = bad[40]! ^ 1;
  const c = decodeS1sp(bad);
  t.true(!c.ok || !checkReply(c.value));
});

test('an alert naming an operation S1SP does not carry is refused, even with a good check value', (t) => {
  const alert = encodeReply({ type: 'alert', id: 1n, from: METER, to: S1SP, time: 1, code: 0x8f66, instructionId: 7n, operation: 'no-such-op\0<script>' as never });
  const d = decodeS1sp(alert);
  t.false(d.ok);
  if (!d.ok) {
    t.is(d.error.code, 'bad-value');
    t.regex(d.error.message, /S1SP alert operation "no-such-op\\u0000<script>" is not one S1SP carries/);
  }
  t.false(decodeS1sp(encodeReply({ type: 'alert', id: 1n, from: METER, to: S1SP, time: 1, code: 0x8f66, instructionId: 7n, operation: 'constructor' as never })).ok);
});

test('any flipped bit in a signed instruction is refused or fails verification', (t) => {
  const bytes = encodeInstruction(instruction(OPERATIONS[1]!), key.privateKey);
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 7 }), (at, bit) => {
      const b = Buffer.from(bytes);
      b[at] = b[at]! ^ (1 << bit);
      const d = decodeS1sp(b);
      return !d.ok || !verifyInstruction(d.value, key.publicKey);
    }),
    { numRuns: 500 },
  );
  t.false(decodeS1sp(bytes.subarray(0, bytes.length - 1)).ok, 'truncated');
  t.false(decodeS1sp(Buffer.concat([bytes, Uint8Array.of(0)])).ok, 'trailing octet');
  t.is(peekS1spHeader(Uint8Array.of(0xdd, 0)), null);
});
