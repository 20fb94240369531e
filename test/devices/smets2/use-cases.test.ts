import test from 'ava';
import { type AnyCodec, ECS02, ECS03, GCS02, GCS03 } from '../../../protocol/gbcs/usecases/catalogue.ts';
import { ECS07, GCS04 } from '../../../protocol/gbcs/usecases/debt.ts';
import { ECS09, GCS06 } from '../../../protocol/gbcs/usecases/emergency-credit.ts';
import { ECS04a, ECS04b, GCS40a, GCS40b, GCS40c, GCS40d } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { ECS08, GCS05 } from '../../../protocol/gbcs/usecases/prepayment-config.ts';
import { decodeReadAttributesResponse, ECS17b, ECS19, GCS13a, GCS14, readEsmePrepayValues } from '../../../protocol/gbcs/usecases/reads.ts';
import { ECS42, ECS43, ECS44, GCS32, GCS39 } from '../../../protocol/gbcs/usecases/supply.ts';
import { ECS01a, GCS01a } from '../../../protocol/gbcs/usecases/tariff.ts';
import { CS01a, CS01b, decodeConsumerTopUpResponse, makeUtrn } from '../../../protocol/gbcs/usecases/top-up.ts';
import { describeOutcome } from '../../../protocol/gbcs/usecases/responses.ts';
import { readComponents } from '../../../protocol/gbcs/usecases/gbz-components.ts';
import { expectedChanges } from '../../../devices/expected-changes.ts';
import { type MeterVariant } from '../../../devices/meter.ts';
import { diffSnapshots, unexpectedChanges } from '../../../devices/snapshot.ts';
import { supportedUseCases } from '../../../devices/smets2/use-cases.ts';
import { BLOCK_THRESHOLDS, DAYS, GSME_CALENDAR, PRICE_MATRIX, SCHEDULE, SEASONS, SPECIAL_DAYS, TARIFF_INFORMATION, WEEKS } from '../../protocol/gbcs/usecases-support.ts';
import { meter, pki, send } from '../support.ts';

const now = { kind: 'now' } as const;
const prepay = { mode: 'prepayment', suspendDebtDisabled: true, suspendDebtEmergency: false, disablementThreshold: -1000 } as const;

interface Case {
  codec: AnyCodec;
  params: unknown;
  variant: MeterVariant;
  /** What the state looks like afterwards. */
  check: (s: ReturnType<ReturnType<typeof meter>['meter']['snapshot']>) => boolean;
  initial?: Parameters<typeof meter>[1];
  from?: typeof pki.supplier;
}

const CASES: Case[] = [
  { codec: ECS02, params: { variant: 'esme', change: { target: { mode: 'credit' }, execution: now } }, variant: 'esme', initial: { paymentMode: 'prepayment' }, check: (s) => s.paymentMode === 'credit' },
  { codec: ECS02, params: { variant: 'esme-twin', change: { target: { mode: 'credit' }, execution: now } }, variant: 'esme-twin', initial: { paymentMode: 'prepayment' }, check: (s) => s.paymentMode === 'credit' },
  { codec: ECS03, params: { variant: 'esme', change: { target: prepay, execution: now } }, variant: 'esme', check: (s) => s.paymentMode === 'prepayment' && s.prepaymentSettings.disablementThreshold === -1000 && s.prepaymentSettings.suspendDebtDisabled },
  { codec: GCS02, params: { variant: 'gsme', change: { target: { mode: 'credit' }, execution: now }, issuerEventId: 0x1c374a80 }, variant: 'gsme', initial: { paymentMode: 'prepayment' }, check: (s) => s.paymentMode === 'credit' },
  { codec: GCS03, params: { variant: 'gsme', change: { target: prepay, execution: now }, issuerEventId: 0x1c374a80 }, variant: 'gsme', check: (s) => s.paymentMode === 'prepayment' && !s.prepaymentSettings.suspendDebtEmergency },
  { codec: ECS04a, params: { amount: 1_200_000 }, variant: 'esme', initial: { meterBalance: 100 }, check: (s) => s.meterBalance === 1_200_100 },
  { codec: ECS04b, params: {}, variant: 'esme', initial: { meterBalance: 100 }, check: (s) => s.meterBalance === 0 },
  { codec: GCS40a, params: { amount: 500 }, variant: 'gsme', initial: { meterBalance: 100 }, check: (s) => s.meterBalance === 600 },
  { codec: GCS40b, params: { amount: 0 }, variant: 'gsme', initial: { meterBalance: 100 }, check: (s) => s.meterBalance === 0 },
  { codec: GCS40c, params: { amount: -50 }, variant: 'gsme', initial: { meterBalance: 100 }, check: (s) => s.meterBalance === 50 },
  { codec: GCS40d, params: { amount: 0 }, variant: 'gsme', initial: { meterBalance: 100 }, check: (s) => s.meterBalance === 0 },
  {
    codec: ECS08,
    params: { execution: now, maxMeterBalance: 5_000_000, maxCreditThreshold: 1_000_000, debtRecoveryRateCap: 30, debtRecoveryRateCapPeriod: 604800, lowCreditThreshold: 200_000, emergencyCreditLimit: 300_000, emergencyCreditThreshold: 100_000, specialDays: SPECIAL_DAYS, calendar: SCHEDULE },
    variant: 'esme',
    check: (s) => s.emergencyCredit.limit === 300_000 && s.prepaymentConfiguration.lowCreditThreshold === 200_000,
  },
  {
    codec: GCS05,
    params: { execution: now, emergencyCreditLimit: 10_000_000, emergencyCreditThreshold: 100_000, debtRecoveryRateCap: 100_000, lowCreditThreshold: 5_000_000, maxMeterBalance: 25_000_000, maxCreditThreshold: 25_000_000, calendar: GSME_CALENDAR },
    variant: 'gsme',
    check: (s) => s.emergencyCredit.limit === 10_000_000 && s.prepaymentConfiguration.maxMeterBalance === 25_000_000,
  },
  { codec: CS01a, params: { utrn: makeUtrn(2500, 1n) }, variant: 'esme', check: (s) => s.meterBalance === 2500 && s.utrnCounter === '1' },
  { codec: CS01b, params: { utrn: makeUtrn(2500, 1n) }, variant: 'gsme', check: (s) => s.meterBalance === 2500 },
  {
    codec: ECS07,
    params: { timeDebtRegister1: 30000, timeDebtRegister2: 15000, paymentDebtRegister: 50000, debtRecoveryPerPayment: 1000, recovery1: { rate: 3, priceScale: -1, period: 'daily' }, recovery2: { rate: 15, priceScale: -1, period: 'daily' } },
    variant: 'esme',
    check: (s) => s.debt.timeDebt1 === 30000 && s.debt.paymentDebt === 50000,
  },
  {
    codec: GCS04,
    params: { timeDebtRegister1: 1000, timeDebtRegister2: 500, paymentDebtRegister: 200, debtRecoveryPerPayment: 100, recovery1: { rate: 50, period: 'daily' }, recovery2: { rate: 50, period: 'hourly' } },
    variant: 'gsme',
    check: (s) => s.debt.timeDebt2 === 500,
  },
  { codec: ECS09, params: {}, variant: 'esme', initial: { paymentMode: 'prepayment' }, check: (s) => s.emergencyCredit.active && s.emergencyCredit.balance === s.emergencyCredit.limit },
  { codec: GCS06, params: {}, variant: 'gsme', initial: { paymentMode: 'prepayment' }, check: (s) => s.emergencyCredit.active },
  {
    codec: ECS01a,
    params: { execution: now, seasons: SEASONS, weekProfiles: WEEKS, dayProfiles: DAYS, specialDays: SPECIAL_DAYS, blockThresholds: Array.from({ length: 8 }, () => [0xffffffff]), currencyGbp: true, standingCharge: 20000, standingChargeScale: -5, priceScale: -5, prices: [{ index: '01', price: 2121 }, { index: '02', price: 0 }] },
    variant: 'esme',
    check: (s) => s.tariff.standingCharge === 20000 && s.tariff.unitRates.join() === '2121' && s.tariff.digest !== '0000000000000000',
  },
  { codec: GCS01a, params: { execution: now, calendar: GSME_CALENDAR, tariffInformation: TARIFF_INFORMATION, blockThresholds: BLOCK_THRESHOLDS, priceMatrix: PRICE_MATRIX }, variant: 'gsme', check: (s) => s.tariff.unitRates.join() === '9600,10200' },
  { codec: ECS43, params: {}, variant: 'esme', check: (s) => s.supply === 'disabled' },
  { codec: ECS42, params: {}, variant: 'esme', initial: { supply: 'disabled' }, check: (s) => s.supply === 'enabled' },
  { codec: ECS44, params: {}, variant: 'esme', initial: { supply: 'disabled' }, check: (s) => s.supply === 'armed' },
  { codec: GCS32, params: {}, variant: 'gsme', check: (s) => s.supply === 'disabled' },
  { codec: GCS39, params: {}, variant: 'gsme', initial: { supply: 'disabled' }, check: (s) => s.supply === 'armed' },
  { codec: ECS17b, params: {}, variant: 'esme', initial: { activeImportWh: 4321 }, check: () => true, from: pki.networkOperator },
  { codec: ECS19, params: {}, variant: 'esme', check: () => true },
  { codec: GCS13a, params: {}, variant: 'gsme', check: () => true, from: pki.networkOperator },
  { codec: GCS14, params: {}, variant: 'gsme', check: () => true },
];

test('every supported use case is covered here', (t) => {
  const covered = new Set(CASES.map((c) => c.codec.name));
  t.deepEqual([...supportedUseCases('esme'), ...supportedUseCases('gsme')].filter((n) => !covered.has(n)), []);
});

for (const c of CASES) {
  test(`${c.codec.name} on ${c.variant}: executes, answers as GBCS does, and changes only what the use case writes`, (t) => {
    const { meter: m } = meter(c.variant, c.initial);
    const from = c.from ?? pki.supplier;
    const before = m.snapshot();
    const a = send(m, c.codec, c.params, { counter: 1000n, from });
    if (!a) return t.fail('no answer');
    t.true(a.outcome.success, JSON.stringify(a.outcome));
    t.is(a.apdu.cra, 'response');
    t.is(a.apdu.counter, 1000n);
    t.is(a.apdu.originator, m.eui);
    t.is(a.apdu.recipient, from.eui);
    t.is(a.apdu.messageCode, c.codec.code);
    t.is(a.apdu.dateTime !== null, c.codec.responseDateTime, 'header date-time as the use case has it');
    // Critical: General-Signing signed by the meter; non-critical: General-Ciphering with a MAC, unsigned.
    t.is(a.frame[0], c.codec.critical ? 0xdf : 0xdd);
    t.is(a.signedByMeter, c.codec.critical ? true : null);
    const after = m.snapshot();
    t.true(c.check(after), JSON.stringify(after));
    const allowed = expectedChanges(c.codec.name, { source: from.eui });
    t.deepEqual(unexpectedChanges(diffSnapshots(before, after), allowed), []);
    t.is(after.counters[from.eui], '1000');
  });
}

test('reads answer in the clear with the meter values', (t) => {
  const { meter: esme } = meter('esme', { paymentMode: 'prepayment', meterBalance: -77 });
  const r = send(esme, ECS19, {}, { counter: 1n });
  t.true(r?.outcome.family === 'esme');
  if (r?.outcome.family !== 'esme') return;
  t.deepEqual(readEsmePrepayValues(r.outcome.data[0]!), { ok: true, value: { paymentMode: 'prepayment', meterBalance: -77, emergencyCreditBalance: 0, accumulatedDebt: 0, timeDebt1: 0, timeDebt2: 0, paymentDebt: 0 } });
  const { meter: gsme } = meter('gsme', { meterBalance: 250 });
  const g = send(gsme, GCS14, {}, { counter: 1n });
  const cs = readComponents(g!.apdu.content, 'response');
  t.deepEqual(cs.map((c) => [c.clusterId, c.commandId]), [[0x0700, 0x01], [0x0705, 0x01]]);
  const records = decodeReadAttributesResponse(cs[1]!.payload);
  t.true(records.ok && records.value.some((x) => x.id === 0x0001 && 'value' in x && x.value === 250));
  const price = decodeReadAttributesResponse(cs[0]!.payload);
  t.true(price.ok && price.value.every((x) => x.status === 0x86), 'Price attributes are not modelled');
});

test('an emergency credit limit above 2^31 - 1 (GCS05 takes any unsigned 32-bit value) is reported, once activated, as the largest signed 32-bit balance', (t) => {
  const { meter: gsme } = meter('gsme', { paymentMode: 'prepayment', meterBalance: 0 });
  const config = { execution: now, emergencyCreditLimit: 0x80000000, emergencyCreditThreshold: 100_000, debtRecoveryRateCap: 100_000, lowCreditThreshold: 5_000_000, maxMeterBalance: 25_000_000, maxCreditThreshold: 25_000_000, calendar: GSME_CALENDAR };
  t.true(send(gsme, GCS05, config, { counter: 1n })?.outcome.success);
  t.true(send(gsme, GCS06, {}, { counter: 2n })?.outcome.success);
  t.like(gsme.snapshot().emergencyCredit, { active: true, balance: 0x7fffffff, limit: 0x80000000 });
  const read = send(gsme, GCS14, {}, { counter: 3n });
  const records = decodeReadAttributesResponse(readComponents(read!.apdu.content, 'response')[1]!.payload);
  t.true(records.ok && records.value.some((x) => x.id === 0x0002 && 'value' in x && x.value === 0x7fffffff), JSON.stringify(records));
});

test('product refusals consume the counter but change nothing else, and answer with a failure', (t) => {
  const { meter: m } = meter('esme', { paymentMode: 'credit' });
  const before = m.snapshot();
  const a = send(m, ECS09, {}, { counter: 5n });
  t.false(a?.outcome.success);
  t.deepEqual(
    diffSnapshots(before, m.snapshot()).map((c) => c.path),
    [`counters.${pki.supplier.eui}`, 'eventLog[0]'],
  );
  const { meter: g } = meter('gsme');
  t.true(send(g, CS01b, { utrn: makeUtrn(10, 9n) }, { counter: 1n })?.outcome.success);
  const dup = send(g, CS01b, { utrn: makeUtrn(10, 9n) }, { counter: 2n });
  // A Consumer Top Up Response, not a Default Response: its result type says the UTRN was a duplicate.
  t.false(dup?.outcome.success);
  t.like(decodeConsumerTopUpResponse(readComponents(dup!.apdu.content, 'response')[0]!.payload), { ok: true, value: { result: 2 } });
  t.is(describeOutcome(dup!.outcome), 'failed: result type 2 in (cluster 0x0705 response 0x3)');
  t.is(g.meterBalance, 10, 'a UTRN is accepted once');
});

test('the consumer enables an armed supply; a GSME refuses nothing it cannot be asked', (t) => {
  const { meter: m } = meter('esme', { supply: 'disabled' });
  send(m, ECS44, {}, { counter: 1n });
  t.is(m.supply, 'armed');
  t.true(m.consumerEnableSupply());
  t.is(m.supply, 'enabled');
  t.false(m.consumerEnableSupply());
});

test('what an accepted ECS08 or ECS07 sets is all in the snapshot: the cap period, the price scales, and a pending configuration whole', (t) => {
  const cfg = (period: number, limit: number, execution: unknown = { kind: 'now' }) => ({ execution, maxMeterBalance: 5_000_000, maxCreditThreshold: 1_000_000, debtRecoveryRateCap: 30, debtRecoveryRateCapPeriod: period, lowCreditThreshold: 200_000, emergencyCreditLimit: limit, emergencyCreditThreshold: 100_000, specialDays: SPECIAL_DAYS, calendar: SCHEDULE });
  const weekly = meter('esme');
  const daily = meter('esme');
  t.true(send(weekly.meter, ECS08, cfg(604_800, 300_000), { counter: 1n })?.outcome.success);
  t.true(send(daily.meter, ECS08, cfg(86_400, 300_000), { counter: 1n })?.outcome.success);
  t.deepEqual(diffSnapshots(weekly.meter.snapshot(), daily.meter.snapshot()), [{ path: 'prepaymentConfiguration.debtRecoveryRateCapPeriod', before: 604_800, after: 86_400 }]);

  const debt = (scale: number) => ({ timeDebtRegister1: 0, timeDebtRegister2: 0, paymentDebtRegister: 0, debtRecoveryPerPayment: 1000, recovery1: { rate: 3, priceScale: scale, period: 'daily' }, recovery2: { rate: 15, priceScale: -1, period: 'daily' } });
  const tenths = meter('esme');
  const tenThousandths = meter('esme');
  t.true(send(tenths.meter, ECS07, debt(-1), { counter: 1n })?.outcome.success);
  t.true(send(tenThousandths.meter, ECS07, debt(-4), { counter: 1n })?.outcome.success);
  t.deepEqual(diffSnapshots(tenths.meter.snapshot(), tenThousandths.meter.snapshot()), [{ path: 'debt.recovery.timeDebt1PriceScale', before: -1, after: -4 }]);

  const low = meter('esme');
  const high = meter('esme');
  const at = { kind: 'at', at: new Date(low.clock.now() + 3_600_000) };
  send(low.meter, ECS08, cfg(604_800, 300_000, at), { counter: 1n });
  send(high.meter, ECS08, cfg(604_800, 9_000_000, at), { counter: 1n });
  t.deepEqual(diffSnapshots(low.meter.snapshot(), high.meter.snapshot()), [{ path: 'pending.prepaymentConfiguration.change.emergencyCreditLimit', before: 300_000, after: 9_000_000 }], 'a pending configuration shows what it will set');
});
