import test from 'ava';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { type Execution } from '../../../protocol/gbcs/datetime.ts';
import { ECS07, GCS04 } from '../../../protocol/gbcs/usecases/debt.ts';
import { componentTime, isTimed } from '../../../protocol/gbcs/usecases/gbz-components.ts';
import { ECS08, GCS05 } from '../../../protocol/gbcs/usecases/prepayment-config.ts';
import { ECS01a, GCS01a, gsmePrices } from '../../../protocol/gbcs/usecases/tariff.ts';
import {
  BLOCK_THRESHOLDS,
  components,
  ctx,
  DAYS,
  FUTURE,
  GSME,
  GSME_CALENDAR,
  mutationsNeverAlias,
  PRICE_MATRIX,
  request,
  roundTrip,
  SCHEDULE,
  SEASONS,
  SPECIAL_DAYS,
  TARIFF_INFORMATION,
  WEEKS,
} from './usecases-support.ts';

const EXECUTIONS: Execution[] = [{ kind: 'now' }, { kind: 'never' }, FUTURE];

const esmeDebt = {
  timeDebtRegister1: 30000,
  timeDebtRegister2: 15000,
  paymentDebtRegister: 50000,
  debtRecoveryPerPayment: 1000,
  recovery1: { rate: 3, priceScale: -1, period: 'daily' as const },
  recovery2: { rate: 15, priceScale: -1, period: 'hourly' as const },
};

test('ECS07 (SRV 2.3): recovery rates and periods set on the time-based debts, then the three registers adjusted', (t) => {
  const req = request(roundTrip(t, ECS07, esmeDebt));
  t.is(req.specs.length, 10);
  t.deepEqual(req.specs.map((s) => `${s.kind} ${s.target.instance} ${s.target.index}`).slice(5), [
    'action 0000131401FF 2',
    'action 0000131402FF 2',
    'action 0000131403FF 4',
    'action 0000131401FF 4',
    'action 0000131402FF 4',
  ]);
  t.deepEqual(req.data.slice(7), [
    { type: 'double-long', value: 50000 },
    { type: 'double-long', value: 30000 },
    { type: 'double-long', value: 15000 },
  ]);
  t.deepEqual(req.data[3], { type: 'double-long-unsigned', value: 86400 });
  mutationsNeverAlias(t, ECS07, esmeDebt);
});

test('GCS04 (SRV 2.3): three Change Debt commands, incremental types 1/3/5, the third percentage-based', (t) => {
  const p = { timeDebtRegister1: 1_000_000, timeDebtRegister2: 500_000, paymentDebtRegister: -7, debtRecoveryPerPayment: 100, recovery1: { rate: 50000, period: 'daily' as const }, recovery2: { rate: 50000, period: 'hourly' as const }, issuerEventId: 0x1c374a80 };
  const cs = components(roundTrip(t, GCS04, p, ctx(1000n, GSME)));
  t.deepEqual(cs.map((c) => [c.clusterId, c.commandId, c.sequence, c.payload[10]]), [[0x0705, 2, 0, 1], [0x0705, 2, 1, 3], [0x0705, 2, 2, 5]]);
  mutationsNeverAlias(t, GCS04, p, ctx(1000n, GSME));
});

const esmePrepay = (execution: Execution) => ({
  execution,
  maxMeterBalance: 5_000_000,
  maxCreditThreshold: 1_000_000,
  debtRecoveryRateCap: 30,
  debtRecoveryRateCapPeriod: 604800,
  lowCreditThreshold: 200_000,
  emergencyCreditLimit: 300_000,
  emergencyCreditThreshold: 100_000,
  specialDays: SPECIAL_DAYS,
  calendar: SCHEDULE,
});

test('ECS08 (SRV 2.1): passive values then one activation time per activated object, all the execution time', (t) => {
  for (const e of EXECUTIONS) {
    const req = request(roundTrip(t, ECS08, esmePrepay(e)));
    t.is(req.specs.length, 18);
    const activations = req.specs.filter((s) => s.target.index === 6);
    t.is(activations.length, 9);
  }
  mutationsNeverAlias(t, ECS08, esmePrepay(FUTURE));
  // Verbatim tables are kept octet for octet (GBCS writes boolean TRUE as 0xFF; re-encoding would write 0x01).
  const ff = SCHEDULE.replace('0301', '03FF');
  roundTrip(t, ECS08, { ...esmePrepay(FUTURE), calendar: ff });
});

const gsmePrepay = (execution: Execution) => ({
  execution,
  emergencyCreditLimit: 10_000_000,
  emergencyCreditThreshold: 100_000,
  debtRecoveryRateCap: 100_000,
  lowCreditThreshold: 5_000_000,
  maxMeterBalance: 25_000_000,
  maxCreditThreshold: 25_000_000,
  calendar: GSME_CALENDAR,
  issuerEventId: 0x1c374a80,
});

test('GCS05 (SRV 2.1): prepayment commands and the calendar, each timed command carrying the execution time', (t) => {
  for (const e of EXECUTIONS) {
    const cs = components(roundTrip(t, GCS05, gsmePrepay(e), ctx(1000n, GSME)));
    t.deepEqual(cs.map((c) => c.commandId), [0x03, 0x0c, 0x09, 0x0b, 0x00, 0x01, 0x02, 0x03, 0x04]);
    t.deepEqual(cs[2]?.from, e, 'Set Low Credit Warning Level is future-dated by its From-Date-Time header');
    const timed = cs.filter(isTimed);
    t.is(timed.length, 6);
    for (const c of timed) t.deepEqual(componentTime(c), e);
  }
  mutationsNeverAlias(t, GCS05, gsmePrepay(FUTURE), ctx(1000n, GSME));
  t.throws(() => GCS05.build({ ...gsmePrepay(FUTURE), calendar: [...GSME_CALENDAR].reverse() }, ctx(1000n, GSME)), { instanceOf: RangeError });
});

const esmeTariff = (execution: Execution) => ({
  execution,
  seasons: SEASONS,
  weekProfiles: WEEKS,
  dayProfiles: DAYS,
  specialDays: SPECIAL_DAYS,
  blockThresholds: [[10000, 0xffffffff], [0xffffffff], [0xffffffff], [0xffffffff], [0xffffffff], [0xffffffff], [0xffffffff], [0xffffffff]],
  currencyGbp: true,
  standingCharge: 20000,
  standingChargeScale: -5,
  priceScale: -5,
  prices: [{ index: '01', price: 2121 }, { index: '02', price: 3127 }, { index: '03', price: 0 }],
});

test('ECS01a (SRV 1.1.1): calendar, thresholds, currency, standing charge and price matrix, then six activation times', (t) => {
  for (const e of EXECUTIONS) {
    const req = request(roundTrip(t, ECS01a, esmeTariff(e)));
    t.is(req.specs.length, 21);
  }
  const req = request(ECS01a.build(esmeTariff(FUTURE), ctx()));
  t.deepEqual(req.data[12], { type: 'boolean', value: true });
  mutationsNeverAlias(t, ECS01a, esmeTariff(FUTURE));
});

test('GCS01a (SRV 1.1.1): the calendar then tariff information, optional block thresholds and the price matrix', (t) => {
  const base = { calendar: GSME_CALENDAR, tariffInformation: TARIFF_INFORMATION, priceMatrix: PRICE_MATRIX };
  for (const e of EXECUTIONS) {
    roundTrip(t, GCS01a, { execution: e, ...base }, ctx(1000n, GSME));
    const cs = components(roundTrip(t, GCS01a, { execution: e, ...base, blockThresholds: BLOCK_THRESHOLDS }, ctx(1000n, GSME)));
    t.deepEqual(cs.filter(isTimed).map((c) => [c.clusterId, c.commandId]), [[0x0707, 0], [0x0707, 4], [0x0700, 4], [0x0700, 6], [0x0700, 5]]);
  }
  t.deepEqual(gsmePrices(PRICE_MATRIX), [9600, 10200]);
  mutationsNeverAlias(t, GCS01a, { execution: FUTURE, ...base }, ctx(1000n, GSME));
});

test('debt and prepayment builders and parsers agree on arbitrary values', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom('hourly', 'daily', 'weekly'), (amount, perPayment, period) => {
      const p = { ...esmeDebt, timeDebtRegister1: amount, debtRecoveryPerPayment: perPayment, recovery2: { rate: -3, priceScale: 2, period } };
      const parsed = ECS07.parse({ content: ECS07.build(p, ctx()), counter: 1000n });
      return parsed.ok && isDeepStrictEqual(parsed.value, p);
    }),
    { numRuns: 200 },
  );
  t.pass();
});
